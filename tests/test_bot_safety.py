"""Buttons that must not work, privacy, Telegram failures and every error the user can meet."""
from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest

from bot import texts
from bot.state import USER_NAMESPACES
from bot.store.sqlite import SqliteStore
from nst import Engine, EngineConfig
from nst.models import PREDICTOR, TRANSFORMER
from devkit.bot_harness import BotHarness, button
from tests.bot_harness import content_jpeg
from devkit.clock import ManualClock

ALICE = {"id": 3001, "is_bot": False, "first_name": "Alice"}
BOB = {"id": 3002, "is_bot": False, "first_name": "Bob"}


def _keyboard(h: BotHarness, user: dict = ALICE) -> dict:
    h.feed(h.photo(user, content_jpeg()))
    return h.last("sendMessage").result


def _result(h: BotHarness, user: dict = ALICE) -> dict:
    keyboard = _keyboard(h, user)
    h.feed(h.press(user, keyboard, button(keyboard, "1.")))
    return h.last("sendPhoto").result


def test_forged_unknown_and_oversized_buttons_expire(harness: BotHarness) -> None:
    h = harness
    keyboard = _keyboard(h)
    real = button(keyboard, "1.")
    forged = [
        "hello",                                   # not our format
        real.rsplit(":", 1)[0] + ":AAAAAAAAAAAA.0",  # well-formed, never issued
        real.rsplit(".", 1)[0] + ".99",            # real token, no such button
        real + "x" * 60,                           # over 64 bytes
        real.replace(f"u{ALICE['id']}:", f"u{BOB['id']}:"),  # someone else's prefix
        "hd:" + real.split(":", 1)[1],             # another action than the button's
    ]
    downloads = len(h.calls("getFile"))   # the photo was checked when it arrived
    for data in forged:
        h.feed(h.press(ALICE, keyboard, data))
    answers = h.calls("answerCallbackQuery")
    assert len(answers) == len(forged)
    assert all(a.params["text"] == texts.BUTTON_EXPIRED for a in answers)
    assert not h.calls("sendPhoto") and len(h.calls("getFile")) == downloads


def _clocked(tg, tmp_path: Path, engine) -> tuple[BotHarness, ManualClock]:
    """A bot whose store tells time by a clock the test moves (inputs kept 60 s)."""
    clock = ManualClock()
    store = SqliteStore(tmp_path / "clocked.sqlite3", clock=clock)
    return BotHarness(tg, tmp_path, engine, store=store, input_ttl=60), clock


def test_button_expires_after_input_ttl(tg, tmp_path: Path, engine) -> None:
    h, clock = _clocked(tg, tmp_path, engine)
    try:
        keyboard = _keyboard(h)
        clock.advance(59)
        assert h.store.scan("tokens", f"u{ALICE['id']}:"), "still there within the TTL"
        clock.advance(2)
        h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))
        assert h.last("answerCallbackQuery").params["text"] == texts.BUTTON_EXPIRED
        assert not h.calls("sendPhoto")
    finally:
        h.close()


def test_forget_deletes_everything_of_that_user_only(harness: BotHarness) -> None:
    h = harness
    result = _result(h, ALICE)
    _result(h, BOB)
    mine = f"u{ALICE['id']}:"
    stored = {ns: h.store.scan(ns, mine) for ns in USER_NAMESPACES}
    assert stored["sessions"] and stored["tokens"] and stored["renders"] and stored["results"]
    # inputs are kept as Telegram file_ids only, never as bytes
    assert all(isinstance(d["content"]["file_id"], str) and len(str(d)) < 2000
               for _, d in stored["renders"])
    h.feed(h.tg.text_update(None, ALICE, "/forget"))
    assert "deleted" in h.texts()[-1]
    assert all(h.store.scan(ns, mine) == [] for ns in USER_NAMESPACES)
    assert h.store.scan("results", f"u{BOB['id']}:"), "Bob's results stay"
    h.feed(h.press(ALICE, result, button(result, "50%")))
    assert h.last("answerCallbackQuery").params["text"] == texts.BUTTON_EXPIRED
    h.feed(h.tg.inline_query_update(ALICE, ""))
    assert h.last("answerInlineQuery").params["results"] == []


def test_inputs_expire_after_input_ttl(tg, tmp_path: Path, engine) -> None:
    h, clock = _clocked(tg, tmp_path, engine)
    try:
        _result(h)
        clock.advance(59)
        assert all(h.store.scan(ns, f"u{ALICE['id']}:") for ns in ("sessions", "tokens", "renders"))
        clock.advance(2)
        for ns in ("sessions", "tokens", "renders"):
            assert h.store.scan(ns, f"u{ALICE['id']}:") == []
    finally:
        h.close()


@pytest.mark.parametrize("status", [429, 502])
def test_send_photo_retried_after_429_and_5xx(harness: BotHarness, status: int) -> None:
    h = harness
    keyboard = _keyboard(h)
    h.tg.fail_next("sendPhoto", status=status, retry_after=1, count=2 if status != 429 else 1)
    started = time.monotonic()
    h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))
    sent = h.calls("sendPhoto")
    assert [c.status for c in sent] == [status] * (len(sent) - 1) + [200]
    if status == 429:
        assert time.monotonic() - started >= 1.0, "retry_after honoured"
    assert not [t for t in h.texts() if t == texts.TELEGRAM_FAILED]


def test_connection_reset_is_retried(harness: BotHarness) -> None:
    h = harness
    keyboard = _keyboard(h)
    h.tg.reset_next("sendPhoto")
    h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))
    assert h.calls("sendPhoto")[-1].ok


def test_telegram_refusing_the_result_is_explained(harness: BotHarness, caplog) -> None:
    h = harness
    keyboard = _keyboard(h)
    h.tg.fail_next("sendPhoto", status=400, description="Bad Request: PHOTO_INVALID")
    with caplog.at_level(logging.INFO):
        h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))
    assert len(h.calls("sendPhoto")) == 1, "4xx is not retried"
    assert h.texts()[-1] == texts.TELEGRAM_FAILED
    assert any(r.exc_info for r in caplog.records if r.levelno >= logging.ERROR)


def test_too_big_file_is_refused_before_download(harness: BotHarness) -> None:
    h = harness
    file_id = h.tg.add_file(content_jpeg(), file_size=25 * 1024 * 1024, kind="document")
    h.feed(h.tg.document_update(None, ALICE, file_id, "image/jpeg", "huge.jpg",
                                25 * 1024 * 1024))
    assert h.texts() == [texts.TOO_BIG]
    assert not h.calls("getFile")


def test_not_an_image_and_other_messages(harness: BotHarness) -> None:
    h = harness
    file_id = h.tg.add_file(b"%PDF-1.4 not a picture", kind="document")
    h.feed(h.tg.document_update(None, ALICE, file_id, "application/pdf", "cv.pdf"))
    h.feed(h.tg.sticker_update(None, ALICE))
    video_id = h.tg.add_file(b"not a video at all", kind="video")
    h.feed(h.tg.video_update(None, ALICE, video_id, file_size=18))  # a clip, checked on arrival
    h.feed(h.tg.voice_update(None, ALICE))
    h.feed(h.tg.text_update(None, ALICE, "hello?"))
    assert h.texts() == [texts.NOT_AN_IMAGE, texts.NOT_YET_STICKER, texts.CLIP_UNREADABLE,
                         texts.SEND_A_PHOTO, texts.SEND_A_PHOTO]


def test_unreadable_image_file_gets_one_sentence_and_a_logged_traceback(
        harness: BotHarness, caplog) -> None:
    h = harness
    file_id = h.tg.add_file(b"\xff\xd8\xff\xe0 broken jpeg" * 10, kind="document")
    with caplog.at_level(logging.INFO):
        h.feed(h.tg.document_update(None, ALICE, file_id, "image/jpeg", "broken.jpg"))
    assert h.texts() == [texts.UNREADABLE_FILE], "refused on arrival, no keyboard"
    assert not h.calls("sendPhoto")
    assert any(r.exc_info for r in caplog.records)


def test_too_small_picture(harness: BotHarness) -> None:
    h = harness
    h.feed(h.document(ALICE, content_jpeg(side=20), "tiny.jpg"))
    assert h.texts() == [texts.TOO_SMALL.format(min_side=32)], "refused on arrival"
    assert not h.calls("sendPhoto")


def test_unreadable_style_photo(harness: BotHarness) -> None:
    h = harness
    h.feed(h.photo(ALICE, content_jpeg()))
    keyboard = h.last("sendMessage").result
    h.feed(h.press(ALICE, keyboard, button(keyboard, "🖼")))
    file_id = h.tg.add_file(b"GIF89a broken" * 5, kind="document")
    h.feed(h.tg.document_update(None, ALICE, file_id, "image/gif", "style.gif"))
    assert h.texts()[-1] == texts.STYLE_UNREADABLE


def test_model_failure_is_explained(tg, tmp_path: Path) -> None:
    broken = tmp_path / "damaged-models"
    broken.mkdir()
    for name in (PREDICTOR, TRANSFORMER):  # found first, and damaged: never used
        (broken / name).write_bytes(b"TFL3 truncated")
    engine = Engine.from_config(EngineConfig(model_dir=broken, cache_dir=tmp_path / "cache"))
    h = BotHarness(tg, tmp_path, engine)
    try:
        keyboard = _keyboard(h)
        h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))
        assert h.texts()[-1] == texts.MODEL_FAILED
    finally:
        h.close()


def test_unforeseen_failure_reaches_the_global_handler(harness: BotHarness, caplog) -> None:
    h = harness
    db = h.config.store_url[len("sqlite:///"):]
    with sqlite3.connect(db) as conn:  # the storage breaks underneath the bot
        conn.execute("DROP TABLE docs")
    with caplog.at_level(logging.INFO):
        h.feed(h.photo(ALICE, content_jpeg()))
    assert h.texts() == [texts.UNEXPECTED]
    assert any(r.exc_info for r in caplog.records if r.levelno >= logging.ERROR)


def test_rate_limit_per_minute(tg, tmp_path: Path, engine, minute_store) -> None:
    h = BotHarness(tg, tmp_path, engine, store=minute_store, rate_per_minute=1)
    try:
        keyboard = _keyboard(h)
        h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))
        h.feed(h.press(ALICE, keyboard, button(keyboard, "2.")))
        assert len(h.calls("sendPhoto")) == 1
        assert h.texts()[-1].startswith(texts.RATE_LIMITED_IN.split("{")[0])  # + when
        other = _keyboard(h, BOB)  # others are not affected
        h.feed(h.press(BOB, other, button(other, "1.")))
        assert len(h.calls("sendPhoto")) == 2
    finally:
        h.close()


def test_logs_never_contain_the_token_or_captions(harness: BotHarness, caplog) -> None:
    h = harness
    with caplog.at_level(logging.DEBUG):  # PTB's own DEBUG lines echo whole messages
        update = h.photo(ALICE, content_jpeg(), caption="my secret holiday")
        h.feed(update)
        keyboard = h.last("sendMessage").result
        h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))
    lines = [(r.levelno, r.getMessage() + (r.exc_text or "")) for r in caplog.records]
    assert h.tg.token not in "\n".join(text for _, text in lines)
    assert "123%3AABC" not in "\n".join(text for _, text in lines)
    assert "my secret holiday" not in "\n".join(t for level, t in lines if level >= logging.INFO)
