"""What a user may cost: a generous limit on cheap actions (photos, page presses), the
render limit that counts only renders and says when to come back, a newer press that
replaces a waiting one for the same result, the queue slot taken before the download,
and place-in-line notes that are not edited on every move of the queue."""
from __future__ import annotations

import asyncio
import math
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest

from bot import texts
from bot.state import RATE, RENDERS
from devkit.bot_harness import BotHarness, button
from devkit.fake_telegram import FakeTelegram
from tests.bot_harness import content_jpeg

ALICE = {"id": 7101, "is_bot": False, "first_name": "Alice"}


def _painting(h: BotHarness, user: dict, side: int = 160) -> dict:
    """Photo, preset 1. pressed; returns the result message."""
    h.feed(h.photo(user, content_jpeg(side=side)))
    keyboard = h.last("sendMessage").result
    h.feed(h.press(user, keyboard, button(keyboard, "1.")))
    return h.last("sendPhoto").result



@pytest.fixture
def limited(tg: FakeTelegram, tmp_path: Path, engine: Any, minute_store: Any) -> Iterator[BotHarness]:
    """The default limits, counted on a store clock that stays inside one minute."""
    h = BotHarness(tg, tmp_path, engine, store=minute_store)
    try:
        yield h
    finally:
        h.close()

def _seconds_in(text: str) -> int:
    found = re.search(r"(\d+)\s?s\b", text)
    assert found, f"no 'N s' in {text!r}"
    return int(found.group(1))


def test_photos_have_their_own_generous_limit(limited: BotHarness) -> None:
    h = limited
    limit = h.config.actions_per_minute
    photos = [h.photo(ALICE, content_jpeg(side=64)) for _ in range(limit + 1)]
    for photo in photos:
        h.feed(photo)
    slow_down = [c for c in h.calls("sendMessage")
                 if c.params["text"].startswith(texts.SLOW_DOWN.split("{")[0])]
    assert len(slow_down) == 1, "only the photo over the limit is refused"
    assert slow_down[0].params["reply_parameters"]["message_id"] == \
        photos[-1]["message"]["message_id"]
    assert 1 <= _seconds_in(slow_down[0].params["text"]) <= 60


def test_page_presses_count_as_cheap_actions(limited: BotHarness) -> None:
    h = limited
    h.feed(h.photo(ALICE, content_jpeg(side=64)))
    keyboard = h.last("sendMessage").result
    for _ in range(h.config.actions_per_minute):
        h.feed(h.press(ALICE, keyboard, button(keyboard, "▶")))
    edits = len(h.calls("editMessageText"))
    assert edits == h.config.actions_per_minute - 1, "the photo was the first action"
    toast = h.calls("answerCallbackQuery")[-1].params.get("text") or ""
    assert 1 <= _seconds_in(toast) <= 60, toast


def test_render_limit_says_when_to_come_back(tg, tmp_path: Path, engine, minute_store) -> None:
    h = BotHarness(tg, tmp_path, engine, store=minute_store, rate_per_minute=1)
    try:
        result = _painting(h, ALICE)
        h.feed(h.press(ALICE, result, button(result, "50%")))
        refusal = h.texts()[-1]
        assert "🐢" in refusal and 1 <= _seconds_in(refusal) <= 60, refusal
    finally:
        h.close()


def test_newer_press_replaces_a_waiting_one_for_the_same_result(tg, tmp_path: Path,
                                                                engine) -> None:
    """25 %, 50 %, 75 % pressed fast: no "still painting" refusal, the result ends at 75 %,
    and the replaced press is not counted against the render limit."""
    h = BotHarness(tg, tmp_path, engine, workers=1)
    try:
        result = _painting(h, ALICE, side=640)
        def version() -> int:
            [(_, doc)] = h.store.scan(RENDERS, f"u{ALICE['id']}:")
            return int(doc["version"])

        async def press_fast() -> None:   # in this order, each while the one before runs
            tasks = []
            for pct in ("25%", "50%", "75%"):
                pressed = version() + 1
                tasks.append(asyncio.create_task(h.process(h.press(ALICE, result,
                                                                   button(result, pct)))))
                while version() < pressed and not tasks[-1].done():   # it changed the render
                    await asyncio.sleep(0.01)
            await asyncio.gather(*tasks)

        # The first press must still be running when the others come: with a fast engine
        # a 640 px repaint can finish before the next press is made, so its download waits.
        tg.delay_next("file", 1)
        h.run(press_fast())
        assert texts.TOO_MANY_PENDING not in h.texts()
        assert "Strength 75%" in h.last("editMessageMedia").params["media"]["caption"]
        used = sum(doc["n"] for _, doc in h.store.scan(RATE, f"u{ALICE['id']}:m"))
        assert used <= 3, f"{used} renders counted for 1 painting + 2 that ran"
    finally:
        h.close()


def test_queue_slot_is_taken_before_the_download(tg, tmp_path: Path, engine) -> None:
    """At the pending limit, a second painting is refused before its photo is downloaded."""
    h = BotHarness(tg, tmp_path, engine, workers=1, max_pending_per_user=1)
    try:
        h.feed(h.photo(ALICE, content_jpeg(side=160)))
        keyboard = h.last("sendMessage").result
        before = len(tg.downloads)
        tg.delay_next("file", 1)
        h.feed(*(h.press(ALICE, keyboard, button(keyboard, f"{n}.")) for n in (1, 2)))
        assert texts.TOO_MANY_PENDING in h.texts()
        assert len(tg.downloads) - before == 1, "the refused painting downloaded its photo"
    finally:
        h.close()


def test_waiting_notes_are_not_edited_on_every_queue_move(tg, tmp_path: Path,
                                                          engine) -> None:
    users = [{"id": 7200 + i, "is_bot": False, "first_name": f"U{i}"} for i in range(12)]
    h = BotHarness(tg, tmp_path, engine, workers=1)
    try:
        h.paint_together(users, content_jpeg(side=320))
        assert len(h.calls("sendPhoto")) == len(users)
        edits = Counter(c.params["chat_id"] for c in h.calls("editMessageText")
                        if "in line" in c.params.get("text", ""))
        waited = sum(1 for c in h.calls("sendMessage") if "in line" in c.params["text"])
        assert waited >= len(users) // 2, "most had to wait"
        most = 1 + math.ceil(math.log2(len(users)))   # halvings, then the last places
        assert max(edits.values(), default=0) <= most, edits
        assert sum(edits.values()) <= len(users) ** 2 // 4, edits
    finally:
        h.close()
