"""The render queue: fair order, places in line, per-user limits (unit + end to end)."""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from bot import texts
from bot.jobs import FairScheduler, QueueFull, RenderQueue
from devkit.bot_harness import BotHarness, button
from tests.bot_harness import content_jpeg


def test_scheduler_takes_turns_across_users() -> None:
    s: FairScheduler[str] = FairScheduler()
    for i in range(1, 6):
        s.push("alice", f"a{i}")
    s.push("bob", "b1")
    s.push("carol", "c1")
    s.push("bob", "b2")
    expected = ["a1", "b1", "c1", "a2", "b2", "a3", "a4", "a5"]
    assert s.order() == expected
    assert [s.pop() for _ in range(len(expected))] == expected
    assert s.pop() is None


def test_scheduler_user_just_served_waits_for_others() -> None:
    s: FairScheduler[str] = FairScheduler()
    s.push("alice", "a1")
    assert s.pop() == "a1"          # alice's first job is running
    s.push("alice", "a2")           # her burst arrives first …
    s.push("bob", "b1")             # … but bob, never served, goes before her second
    assert s.order() == ["b1", "a2"]
    assert s.pop() == "b1"


def test_queue_runs_fairly_reports_positions_and_limits() -> None:
    async def scenario() -> None:
        queue = RenderQueue(workers=1, max_pending=3)
        gate = threading.Event()
        ran: list[str] = []

        def job(name: str):
            def run() -> str:
                if name == "a1":
                    gate.wait(5)  # hold the only worker while the others queue up
                ran.append(name)
                return name
            return run

        a1 = queue.submit("alice", job("a1"))
        a2 = queue.submit("alice", job("a2"))
        a3 = queue.submit("alice", job("a3"))
        b1 = queue.submit("bob", job("b1"))
        with pytest.raises(QueueFull):
            queue.submit("alice", job("a4"))
        assert (a1.position, b1.position, a2.position, a3.position) == (0, 1, 2, 3)
        gate.set()
        assert await asyncio.gather(a1, a2, a3, b1) == ["a1", "a2", "a3", "b1"]
        assert ran == ["a1", "b1", "a2", "a3"]
        assert queue.pending("alice") == 0
        queue.shutdown()

    asyncio.run(scenario())


def test_queue_passes_errors_through() -> None:
    async def scenario() -> None:
        queue = RenderQueue(workers=2, max_pending=2)

        def boom() -> None:
            raise ValueError("model exploded")

        with pytest.raises(ValueError):
            await queue.submit("alice", boom)
        assert queue.pending("alice") == 0
        queue.shutdown()

    asyncio.run(scenario())


def _users(n: int) -> list[dict]:
    return [{"id": 5000 + i, "is_bot": False, "first_name": f"U{i}"} for i in range(n)]


def test_waiting_users_see_their_place_in_line(tg, tmp_path: Path, engine) -> None:
    h = BotHarness(tg, tmp_path, engine, workers=1)
    try:
        users = _users(3)
        h.paint_together(users, content_jpeg(side=320))
        assert len(h.calls("sendPhoto")) == 3
        notes = [c for c in h.calls("sendMessage") if "in line" in c.params["text"]]
        assert notes, "somebody had to wait"
        assert any("#1" in c.params["text"] for c in notes)
        deleted = {(c.params["chat_id"], c.params["message_id"]) for c in h.calls("deleteMessage")}
        for note in notes:  # each note disappears when that painting starts
            assert (note.result["chat"]["id"], note.result["message_id"]) in deleted
    finally:
        h.close()


def test_per_user_pending_limit(tg, tmp_path: Path, engine) -> None:
    h = BotHarness(tg, tmp_path, engine, workers=1, max_pending_per_user=1)
    try:
        user = _users(1)[0]
        h.feed(h.photo(user, content_jpeg(side=320)))
        keyboard = h.last("sendMessage").result
        h.feed(*(h.press(user, keyboard, button(keyboard, f"{n}.")) for n in (1, 2, 3)))
        assert len(h.calls("sendPhoto")) == 1
        refusals = [t for t in h.texts() if t == texts.TOO_MANY_PENDING]
        assert len(refusals) == 2
    finally:
        h.close()


class GatedEngine:
    """The real engine, whose first painting waits for `gate`: a worker held while others
    queue up."""

    def __init__(self, engine, gate: threading.Event) -> None:
        self._engine, self._gate, self._first = engine, gate, threading.Lock()

    def __getattr__(self, name: str):
        return getattr(self._engine, name)

    def stylize(self, *args, **kwargs):
        if self._first.acquire(blocking=False):
            self._gate.wait(30)
        return self._engine.stylize(*args, **kwargs)


def test_a_note_still_being_sent_when_the_painting_ends_is_deleted(tg, tmp_path: Path,
                                                                   engine) -> None:
    """Telegram is slow to answer the "#1 in line" note; the painting starts and ends
    meanwhile. The note must not be left behind in the chat (it was: the wait's end
    cancelled the send, so the note's message id never came back to be deleted)."""
    gate = threading.Event()
    h = BotHarness(tg, tmp_path, GatedEngine(engine, gate), workers=1)
    try:
        users = _users(2)
        keyboards = []
        for user in users:
            h.feed(h.photo(user, content_jpeg(side=160)))
            keyboards.append(h.last("sendMessage").result)
        before = len(tg.calls_to("sendMessage"))
        tg.hold_answer("sendMessage", 2)     # the note is delivered, its answer comes late

        def release_when_the_note_is_out() -> None:
            try:
                tg.wait_for("sendMessage", before + 1)
            finally:
                gate.set()

        threading.Thread(target=release_when_the_note_is_out, daemon=True).start()
        h.feed(*(h.press(u, kb, button(kb, "1.")) for u, kb in zip(users, keyboards)))
        assert len(h.calls("sendPhoto")) == 2
        notes = [c for c in h.calls("sendMessage")[before:] if "in line" in c.params["text"]]
        assert notes, "the second painting waited"
        left = [m["text"] for m in tg.messages.values() if "in line" in m.get("text", "")]
        assert not left, left
    finally:
        h.close()
