"""The bad-input corpus, and every odd thing Telegram can deliver, through the webhook.

Flask's test client → webhook_app → the real bot (SQLite store, lite engine) → the fake
Bot API. Each corpus file goes in the way Telegram would deliver it:

- as a *document* (original bytes and file name kept; mime type from the name), then the
  user presses the first painting;
- as a *photo* re-encoded the way Telegram does (only files Telegram accepts as photos);
- as a raw "photo" whose bytes were never re-encoded (cannot happen on Telegram, but a
  bot must not care), for every case that load_image refuses.

Every update must be answered 200 with exactly ONE message to the user (the painting,
the keyboard or one clear sentence), no text may look like a traceback, and the same
user's next good request must still get a painting. Then Telegram-level oddities:
oversized files, stickers, videos, voice, unknown update types, forged buttons, long
inline queries, mislabelled documents…
"""
from __future__ import annotations

import itertools
import mimetypes
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask

from bot import texts
from bot.config import BotConfig
from bot.errors import picture_refusal
from bot.i18n import ENGLISH
from bot.intake import is_clip_document, is_image_document
from nst.config import EngineConfig
from nst.errors import ImageError
import nst.images
from nst.images import MIN_SIDE
from devkit.bot_harness import button
from tests.bot_harness import content_jpeg, decode
from tests.corpus.make_corpus import Case, case_specs, make_corpus
from devkit.fake_telegram import Call, FakeTelegram, serve
from devkit.webhook import HEADERS, SECRET

SPECS = case_specs()
MESSAGE_METHODS = {"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup",
                   "sendAnimation", "editMessageText", "editMessageMedia", "editMessageCaption"}
TRACEBACK_RE = re.compile(r"Traceback|Exception|Error\b|File \"|line \d+|0x[0-9a-f]{6,}")
# load_image codes no Telegram file can meet: a path that can't be opened, an output format
NOT_FROM_TELEGRAM = {"unreadable", "unsupported"}
# load_image codes of a caller's budget (max_decoded), not of the bytes alone: met end to
# end, as the photo and as the style, by tests/test_bot_budget.py
BY_BUDGET = {"too_big_to_open"}
_users = itertools.count(50_000)


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    return {case.name: case for case in make_corpus(tmp_path_factory.mktemp("corpus"))}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    yield from serve()


@pytest.fixture(scope="module")
def app(fake: FakeTelegram, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One webhook app for the module (the model loads once)."""
    from webhook_app import create_app

    store = tmp_path_factory.mktemp("store") / "bot.sqlite3"
    config = BotConfig(token=fake.token, api_base=fake.api_base, webhook_secret=SECRET,
                       store_url=f"sqlite:///{store}", engine=EngineConfig.from_env(),
                       workers=2, update_timeout=60)
    flask_app = create_app(config)
    yield flask_app
    flask_app.extensions["bot_runtime"].close()


class Chat:
    """One user talking to the bot through the webhook; reads back what the bot said."""

    def __init__(self, app: Flask, fake: FakeTelegram) -> None:
        self.client = app.test_client()
        self.fake = fake
        self.user = next(_users)

    def post(self, update: dict[str, Any]) -> list[Call]:
        """POST one update; assert 200 and return the messages the bot sent because of it
        (to any chat: a reply to the wrong chat must show up as a failure too)."""
        mark = len(self.fake.calls)
        resp = self.client.post("/webhook", json=update, headers=HEADERS)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        new = self.fake.calls[mark:]
        for call in new:
            assert_no_traceback(call)
        return [c for c in new if c.method in MESSAGE_METHODS and c.ok]

    def one_reply(self, update: dict[str, Any]) -> Call:
        replies = self.post(update)
        assert len(replies) == 1, [(c.method, c.params.get("text")) for c in replies]
        assert replies[0].params["chat_id"] == self.user
        return replies[0]

    def press_first(self, keyboard_call: Call) -> Call:
        keyboard = keyboard_call.result
        return self.one_reply(self.fake.callback_update(None, self.user, keyboard,
                                                        button(keyboard, "1.")))

    def good_request_works(self) -> None:
        """A normal photo → keyboard → painting still works for this user."""
        photo = self.fake.send_photo_from_user(None, self.user, content_jpeg(side=64))
        painting = self.press_first(self.one_reply(photo))
        assert painting.method == "sendPhoto", painting.params.get("text")
        assert decode(painting.files["photo"]).format == "JPEG"


def assert_no_traceback(call: Call) -> None:
    for key in ("text", "caption"):
        value = str(call.params.get(key) or "")
        assert not TRACEBACK_RE.search(value), f"{call.method} {key}: {value!r}"


def expect_painting(reply: Call, reply_to: int) -> None:
    assert reply.method in ("sendPhoto", "sendAnimation"), reply.params.get("text")
    assert (reply.params.get("reply_parameters") or {}).get("message_id") == reply_to
    if reply.method == "sendAnimation":   # an animated GIF file comes back as a clip
        assert reply.files["animation"][4:8] == b"ftyp"
    else:
        assert decode(reply.files["photo"]).format == "JPEG"


def expect_refusal(reply: Call, code: str, *, document: bool = False) -> None:
    """The one sentence for `code`, and no painting keyboard: pictures are checked on
    arrival, before any keyboard is shown."""
    assert reply.method == "sendMessage"
    assert not reply.params.get("reply_markup"), "a keyboard for a picture I can't paint"
    refusal = picture_refusal(ImageError(code=code), document=document)
    expected = ENGLISH(refusal.user_message, **refusal.values)
    assert reply.params["text"] == expected, reply.params["text"]


def accepted_as_image(name: str, mime: str | None) -> bool:
    """Would the bot treat this document as a picture (bot.intake.classify)?"""
    return is_image_document(name, mime)


def accepted_as_clip(name: str, mime: str | None) -> bool:
    """Would the bot treat this document as a clip (bot.intake.classify)?"""
    return is_clip_document(name, mime)


# --------------------------------------------------------------------------- the corpus

@pytest.mark.parametrize("name", [name for name, _, _ in SPECS])
def test_corpus_as_document(name: str, corpus: dict[str, Case], app: Flask,
                            fake: FakeTelegram) -> None:
    case = corpus[name]
    chat = Chat(app, fake)
    mime = mimetypes.guess_type(case.path.name)[0]
    update = fake.send_document_from_user(None, chat.user, case.path.read_bytes(),
                                          case.path.name, mime)
    first = chat.one_reply(update)
    clip = accepted_as_clip(case.path.name, mime) and not case.path.name.endswith(".gif")
    if not accepted_as_image(case.path.name, mime) and not clip:
        assert case.expect == "not_image"
        assert first.params["text"] == texts.NOT_AN_IMAGE
    elif case.expect == "ok":
        assert first.params.get("reply_markup"), first.params.get("text")
        expect_painting(chat.press_first(first), update["message"]["message_id"])
    elif clip:  # a video file that isn't one: the clip scan says so on arrival
        assert not first.params.get("reply_markup"), "a keyboard for a clip I can't paint"
        assert first.params["text"] == texts.CLIP_UNREADABLE, first.params["text"]
    else:
        expect_refusal(first, case.expect, document=True)
    if case.expect != "ok":
        chat.good_request_works()


@pytest.mark.parametrize("name", [name for name, _, _ in SPECS])
def test_corpus_as_telegram_photo(name: str, corpus: dict[str, Case], app: Flask,
                                  fake: FakeTelegram) -> None:
    """What Telegram makes of the file when it is sent as a photo (upright JPEG)."""
    chat = Chat(app, fake)
    try:
        update = fake.send_photo_from_user(None, chat.user, corpus[name].path.read_bytes())
    except ValueError:   # Telegram refuses it as a photo (the user sees Telegram's error)
        assert corpus[name].expect != "ok", "Telegram takes every good file as a photo"
        return
    largest = update["message"]["photo"][-1]
    expect = "too_small" if min(largest["width"], largest["height"]) < MIN_SIDE else "ok"
    if expect == "ok":
        reply = chat.press_first(chat.one_reply(update))
        expect_painting(reply, update["message"]["message_id"])
    else:
        expect_refusal(chat.one_reply(update), expect)
        chat.good_request_works()


@pytest.mark.parametrize("name", [name for name, _, expect in SPECS if expect != "ok"])
def test_corpus_as_raw_photo(name: str, corpus: dict[str, Case], app: Flask,
                             fake: FakeTelegram) -> None:
    """Bytes Telegram would never deliver as a photo: still one clear sentence."""
    case = corpus[name]
    chat = Chat(app, fake)
    file_id = fake.add_file(case.path.read_bytes())
    update = fake.photo_update(None, chat.user, file_id, 96, 64)
    expect_refusal(chat.one_reply(update), case.expect)
    chat.good_request_works()


# --------------------------------------------------------------------------- Telegram-level

def test_photo_over_20_mb_declared_in_the_message(app: Flask, fake: FakeTelegram) -> None:
    chat = Chat(app, fake)
    file_id = fake.add_file(content_jpeg(side=64), file_size=25 * 1024 * 1024)
    reply = chat.one_reply(fake.photo_update(None, chat.user, file_id, 64, 48))
    assert reply.params["text"] == texts.TOO_BIG
    assert not [c for c in fake.calls_to("getFile") if c.params["file_id"] == file_id]
    chat.good_request_works()


def test_photo_whose_get_file_says_over_20_mb(app: Flask, fake: FakeTelegram) -> None:
    """The message carries no size; only getFile tells."""
    chat = Chat(app, fake)
    file_id = fake.add_file(content_jpeg(side=64), file_size=21 * 1024 * 1024)
    update = fake.photo_update(None, chat.user, file_id, 64, 48)
    for size in update["message"]["photo"]:
        size.pop("file_size", None)
    reply = chat.one_reply(update)
    assert reply.params["text"] == texts.TOO_BIG and not reply.params.get("reply_markup")
    chat.good_request_works()


@pytest.mark.parametrize("kind", ["sticker", "animated_sticker", "voice", "text",
                                  "unknown_command", "long_text"])   # videos: test_bot_clips
def test_things_that_are_not_photos(kind: str, app: Flask, fake: FakeTelegram) -> None:
    chat = Chat(app, fake)
    updates = {
        "sticker": lambda: fake.sticker_update(None, chat.user),
        "animated_sticker": lambda: fake.sticker_update(None, chat.user, is_animated=True),
        "voice": lambda: fake.voice_update(None, chat.user),
        "text": lambda: fake.text_update(None, chat.user, "<b>hi</b> & <script>"),
        "unknown_command": lambda: fake.text_update(None, chat.user, "/sudo rm -rf /"),
        "long_text": lambda: fake.text_update(None, chat.user, "ü" * 4096),
    }
    not_yet = {"sticker": texts.NOT_YET_STICKER, "animated_sticker": texts.NOT_YET_STICKER}
    reply = chat.one_reply(updates[kind]())
    assert reply.params["text"] == not_yet.get(kind, texts.SEND_A_PHOTO)
    chat.good_request_works()


@pytest.mark.parametrize("update", [
    {"poll": {"id": "1", "question": "q?", "options": [{"text": "a", "voter_count": 0}],
              "total_voter_count": 0, "is_closed": False, "is_anonymous": True,
              "type": "regular", "allows_multiple_answers": False}},
    {"brand_new_update_type": {"x": 1}},
    {"my_chat_member": {"chat": {"id": 5, "type": "private", "first_name": "A"},
                        "from": {"id": 5, "is_bot": False, "first_name": "A"}, "date": 1,
                        "old_chat_member": {"status": "member",
                                            "user": {"id": 1, "is_bot": True,
                                                     "first_name": "B"}},
                        "new_chat_member": {"status": "kicked", "until_date": 0,
                                            "user": {"id": 1, "is_bot": True,
                                                     "first_name": "B"}}}},
    {"channel_post": {"message_id": 1, "date": 1, "text": "news",
                      "chat": {"id": -1001, "type": "channel", "title": "C"}}},
    {"edited_message": {"message_id": 1, "date": 1, "edit_date": 2, "text": "edited",
                        "chat": {"id": 6, "type": "private", "first_name": "A"},
                        "from": {"id": 6, "is_bot": False, "first_name": "A"}}},
], ids=["poll", "unknown_type", "my_chat_member", "channel_post", "edited_message"])
def test_updates_the_bot_does_not_handle_are_acknowledged_silently(
        update: dict, app: Flask, fake: FakeTelegram) -> None:
    chat = Chat(app, fake)
    assert chat.post({"update_id": fake.next_update_id(), **update}) == []


def _keyboard(chat: Chat) -> dict:
    photo = chat.fake.send_photo_from_user(None, chat.user, content_jpeg(side=64))
    return chat.one_reply(photo).result


@pytest.mark.parametrize("forge", [
    lambda real, user: "hello",
    lambda real, user: "",
    lambda real, user: real.rsplit(".", 1)[0] + ".99",
    lambda real, user: real.rsplit(":", 1)[0] + ":AAAAAAAAAAAA.0",
    lambda real, user: real + "x" * 200,
    lambda real, user: real.replace(f"u{user}:", f"u{user + 1}:"),
    lambda real, user: f"pick:u{user}:../../updates/1.0",
    lambda real, user: f"pick:u{user}:%2e%2e%2fx.0",
    lambda real, user: "ü" * 40,
    lambda real, user: "\x00" * 10,
], ids=["garbage", "empty", "no_such_button", "never_issued", "oversized", "other_user",
        "path_traversal", "percent_encoded", "unicode", "nul_bytes"])
def test_forged_callback_data_gets_expired_notice(forge, app: Flask, fake: FakeTelegram) -> None:
    chat = Chat(app, fake)
    keyboard = _keyboard(chat)
    data = forge(button(keyboard, "1."), chat.user)
    mark = len(fake.calls)
    assert chat.post(fake.callback_update(None, chat.user, keyboard, data)) == []
    answers = [c for c in fake.calls[mark:] if c.method == "answerCallbackQuery"]
    assert [a.params.get("text") for a in answers] == [texts.BUTTON_EXPIRED]
    assert not [c for c in fake.calls[mark:] if c.method == "getFile"]
    chat.good_request_works()


def test_callback_without_data_or_message(app: Flask, fake: FakeTelegram) -> None:
    """A game button (no data) and a press on an inline message (no message)."""
    chat = Chat(app, fake)
    keyboard = _keyboard(chat)
    no_data = fake.callback_update(None, chat.user, keyboard, "x")
    del no_data["callback_query"]["data"]
    no_data["callback_query"]["game_short_name"] = "game"
    inline = fake.callback_update(None, chat.user, keyboard, button(keyboard, "1."))
    del inline["callback_query"]["message"]
    inline["callback_query"]["inline_message_id"] = "AAAAAQ"
    for update in (no_data, inline):
        mark = len(fake.calls)
        assert chat.post(update) == []
        answers = [c.params.get("text") for c in fake.calls[mark:]
                   if c.method == "answerCallbackQuery"]
        assert answers == [texts.BUTTON_EXPIRED]


def test_expired_button_after_forget(app: Flask, fake: FakeTelegram) -> None:
    chat = Chat(app, fake)
    keyboard = _keyboard(chat)
    chat.one_reply(fake.text_update(None, chat.user, "/forget"))
    mark = len(fake.calls)
    assert chat.post(fake.callback_update(None, chat.user, keyboard,
                                          button(keyboard, "1."))) == []
    assert [c.params.get("text") for c in fake.calls[mark:]
            if c.method == "answerCallbackQuery"] == [texts.BUTTON_EXPIRED]


@pytest.mark.parametrize("query", ["q" * 256, "ü" * 256, "' OR 1=1 --", ""])
def test_inline_query(query: str, app: Flask, fake: FakeTelegram) -> None:
    chat = Chat(app, fake)
    mark = len(fake.calls)
    assert chat.post(fake.inline_query_update(chat.user, query)) == []
    answers = [c for c in fake.calls[mark:] if c.method == "answerInlineQuery"]
    assert len(answers) == 1 and answers[0].ok
    assert answers[0].params["results"] == []


@pytest.mark.parametrize("name, mime", [("photo.jpg", "image/jpeg"), ("notes.txt", "image/png"),
                                        ("x", "image/webp")])
def test_text_file_sent_as_image_document(name: str, mime: str, app: Flask,
                                          fake: FakeTelegram) -> None:
    chat = Chat(app, fake)
    update = fake.send_document_from_user(None, chat.user, b"plain text, no pixels\n" * 40,
                                          name, mime)
    expect_refusal(chat.one_reply(update), "not_image", document=True)
    chat.good_request_works()


def test_huge_caption_with_markup(app: Flask, fake: FakeTelegram) -> None:
    chat = Chat(app, fake)
    update = fake.send_photo_from_user(None, chat.user, content_jpeg(side=64),
                                       caption="<i>" + "&" * 1000 + "</i>")
    expect_painting(chat.press_first(chat.one_reply(update)), update["message"]["message_id"])


def test_user_who_blocked_the_bot_does_not_break_it(app: Flask, fake: FakeTelegram) -> None:
    chat = Chat(app, fake)
    fake.block(chat.user)
    try:
        mark = len(fake.calls)
        assert chat.post(fake.send_photo_from_user(None, chat.user, content_jpeg(side=64))) == []
        refused = [c for c in fake.calls[mark:] if c.method == "sendMessage"]
        assert len(refused) == 1 and refused[0].status == 403, "403 is not retried"
    finally:
        fake.blocked_chats.discard(chat.user)
    chat.good_request_works()


def test_the_corpus_meets_every_refusal_of_load_image() -> None:
    """Each way nst.images refuses bytes has a corpus file above that meets it, so every
    refusal is seen end to end (a new refusal code needs its corpus case)."""
    source = Path(nst.images.__file__).read_text(encoding="utf-8")
    codes = set(re.findall(r'code="(\w+)"', source)) - NOT_FROM_TELEGRAM - BY_BUDGET
    expected = {expect for _, _, expect in SPECS} - {"ok"}
    assert {"not_image", "corrupt", "too_small"} <= codes
    assert codes <= expected, f"no corpus case for {sorted(codes - expected)}"
    assert expected <= codes, f"corpus expects codes load_image never gives: {expected - codes}"
