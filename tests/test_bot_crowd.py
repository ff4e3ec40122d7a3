"""Limits without holes and a global bound, through the HTTP fake of the Bot API: every
addressed message that costs a download counts against the user's action budget in
every chat kind, inline queries too; and one instance holds only so many paintings at
once (all users together) — beyond that, "busy, try again in a minute"."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from bot import texts
from devkit.bot_harness import BotHarness, button
from devkit.fake_telegram import FakeTelegram
from tests.bot_harness import content_jpeg

GROUP = {"id": -4343, "type": "group", "title": "Crowd"}
ALICE = {"id": 7501, "is_bot": False, "first_name": "Alice"}
LIMIT = 3
SLOW = texts.SLOW_DOWN.split("{")[0]


@pytest.fixture
def strict(tg: FakeTelegram, tmp_path: Path, engine: Any, minute_store: Any) -> Iterator[BotHarness]:
    h = BotHarness(tg, tmp_path, engine, store=minute_store, actions_per_minute=LIMIT)
    try:
        yield h
    finally:
        h.close()


def _slowed(h: BotHarness) -> list[str]:
    return [t for t in h.texts() if t.startswith(SLOW)]


def test_group_photos_captioned_stylize_are_counted(strict: BotHarness) -> None:
    h = strict
    for _ in range(LIMIT + 1):
        h.feed(h.photo(ALICE, content_jpeg(side=64), chat=GROUP, caption="/stylize"))
    assert len(_slowed(h)) == 1
    assert len(h.tg.calls_to("getFile")) == LIMIT, "the one over the limit was not downloaded"


def test_stylize_replies_are_counted_in_groups_and_private_chats(strict: BotHarness) -> None:
    h = strict
    photo = h.photo(ALICE, content_jpeg(side=64), chat=GROUP)
    h.feed(photo)                                    # not for me: free
    for _ in range(LIMIT):
        h.feed(h.tg.text_update(GROUP, ALICE, "/stylize", reply_to=photo["message"],
                                chat_type="group"))
    assert not _slowed(h)
    h.feed(h.tg.text_update(None, ALICE, "/stylize", reply_to=photo["message"]))
    assert len(_slowed(h)) == 1
    assert len(h.tg.calls_to("getFile")) == LIMIT


def test_inline_queries_are_counted(strict: BotHarness) -> None:
    h = strict
    for _ in range(LIMIT + 1):
        h.feed(h.tg.inline_query_update(ALICE, ""))
    answers = h.calls("answerInlineQuery")
    assert len(answers) == LIMIT + 1
    last = answers[-1].params
    assert last["results"] == [] and last["button"]["text"].startswith(SLOW)
    assert not any(a.params.get("button", {}).get("text", "").startswith(SLOW)
                   for a in answers[:-1])


def test_an_instance_holds_only_so_many_paintings(tg: FakeTelegram, tmp_path: Path,
                                                  engine: Any) -> None:
    """Four users press at once; downloads answer slowly, so every slot is taken at the
    same time: two paint, two are told the bot is busy (not that *they* asked too much)."""
    h = BotHarness(tg, tmp_path, engine, workers=1, max_waiting=2)
    try:
        users = [{"id": 7600 + i, "is_bot": False, "first_name": f"U{i}"} for i in range(4)]
        presses = []
        for user in users:
            h.feed(h.photo(user, content_jpeg(side=160)))
            keyboard = h.last("sendMessage").result
            presses.append(h.press(user, keyboard, button(keyboard, "1.")))
        tg.hold_answer("getFile", 0.5, count=4)
        h.feed(*presses)
        assert len(h.calls("sendPhoto")) == 2
        busy = [c for c in h.calls("sendMessage") if c.params["text"] == texts.BUSY]
        assert len(busy) == 2
        assert h.app.bot_data.queue.total() == 0
    finally:
        h.close()
