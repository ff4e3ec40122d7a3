"""Privacy promises kept exactly, on the stores' injected clock (no sleeps): what a
photo leaves behind expires 24 h after the photo arrived, however often its buttons are
pressed; a /forget takes back every write of an update that arrived before it."""
from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any, Iterator

import pytest

from bot import texts
from bot.records import Delivered, FileRef, Render, Subject
from bot.state import RENDERS, RESULTS, SESSIONS, TOKENS, State
from bot.store.sqlite import SqliteStore
from devkit.bot_harness import BotHarness, button
from devkit.fake_telegram import FakeTelegram
from tests.bot_harness import content_jpeg
from devkit.clock import ManualClock
from devkit.stores import CountingStore

ALICE = {"id": 7401, "is_bot": False, "first_name": "Alice"}
DAY = 24 * 3600.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def timed(tg: FakeTelegram, tmp_path: Path, engine: Any,
          clock: ManualClock) -> Iterator[BotHarness]:
    h = BotHarness(tg, tmp_path, engine, store=SqliteStore(tmp_path / "bot.sqlite3", clock=clock))
    try:
        yield h
    finally:
        h.close()


def test_a_photo_and_its_paintings_expire_24_h_after_it_arrived(timed: BotHarness,
                                                                clock: ManualClock) -> None:
    h = timed
    h.feed(h.photo(ALICE, content_jpeg(side=160)))
    keyboard = h.last("sendMessage").result
    clock.advance(23 * 3600)                        # painted an hour before the promise ends
    h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))
    result = h.last("sendPhoto").result
    h.feed(h.tg.inline_query_update(ALICE, ""))
    assert len(h.last("answerInlineQuery").params["results"]) == 1
    clock.advance(3600 + 60)                        # 24 h and a minute after the photo
    edits = len(h.calls("editMessageMedia"))
    h.feed(h.press(ALICE, result, button(result, "50%")))
    assert len(h.calls("editMessageMedia")) == edits, "repainted a photo past its 24 h"
    assert h.last("answerCallbackQuery").params.get("text") == texts.BUTTON_EXPIRED
    h.feed(h.tg.inline_query_update(ALICE, ""))
    assert h.last("answerInlineQuery").params["results"] == []
    for ns in (SESSIONS, TOKENS, RENDERS, RESULTS):
        assert h.store.scan(ns, f"u{ALICE['id']}:") == [], ns


def test_a_photo_sent_before_a_forget_is_forgotten_even_when_run_after_it(
        timed: BotHarness, clock: ManualClock) -> None:
    """A queue may run updates out of order: the photo (sent first) is processed after
    the /forget; the message's own date says it came before, so nothing of it is kept."""
    h = timed
    photo = h.photo(ALICE, content_jpeg(side=160))
    clock.advance(1)
    h.feed(h.tg.text_update(None, ALICE, "/forget"))
    clock.advance(1)
    h.feed(photo)
    for ns in (SESSIONS, TOKENS):
        assert h.store.scan(ns, f"u{ALICE['id']}:") == [], ns
    assert not any(c.params.get("reply_markup") for c in h.calls("sendMessage")), \
        "no painting keyboard for a forgotten photo"


def test_an_album_sent_before_a_forget_is_not_painted_when_run_after_it(
        timed: BotHarness, clock: ManualClock) -> None:
    """The album's two photos (sent first) are processed after the /forget: no painting,
    nothing kept."""
    h = timed
    group = h.tg.new_media_group_id()
    photos = [h.photo(ALICE, content_jpeg(side=160), media_group_id=group) for _ in range(2)]
    clock.advance(1)
    h.feed(h.tg.text_update(None, ALICE, "/forget"))
    clock.advance(1)
    h.feed(*photos)
    assert h.calls("sendPhoto") == [], "painted an album the user had said /forget after"
    for ns in (SESSIONS, TOKENS, RENDERS, "albums"):
        assert h.store.scan(ns, f"u{ALICE['id']}:") == [], ns


@pytest.fixture
def state(tmp_path: Path, clock: ManualClock) -> Iterator[State]:
    store = SqliteStore(tmp_path / "state.sqlite3", clock=clock)
    yield State(store, input_ttl=DAY, rate_per_minute=10)
    store.close()


@pytest.mark.parametrize("scope", ["each write checked", "one check per update"])
def test_every_write_of_an_update_older_than_a_forget_is_taken_back(
        state: State, clock: ManualClock, scope: str) -> None:
    import asyncio

    one_update = (state.checked_once if scope == "one check per update"
                  else contextlib.nullcontext)
    user, chat = 7402, 7402
    arrived = clock()
    ref = state.stamp(FileRef("F", "U", "photo"), arrived)
    subject = Subject(ref, 1, 1)
    ctx = subject.to_doc()

    async def writes(since: float) -> None:
        async with one_update():
            await update_writes(since)

    async def update_writes(since: float) -> None:
        await state.set_session(chat, user, ctx, since=since)
        await state.issue(chat, user, ctx, [["pick", "p"]], since=since)
        render = await state.save_render(Render.new(user, chat, subject, preset="p"),
                                         since=since)
        await state.change_render(user, render.rid, since=since, strength=50)
        await state.record_delivery(render, Delivered(5, "P", "r1"), since=since)
        await state.save_result(user, "r1", {"file_id": "P", "until": ref.until}, since=since)
        await state.album_join(user, "g1", 1, {"ref": ref.to_doc()}, since=since)

    async def scenario() -> tuple[int, int]:
        clock.advance(1)
        await state.forget(user)                    # /forget after the update arrived …
        clock.advance(1)
        await writes(arrived)                       # … whose writes land after it
        left = sum(len(state.store.scan(ns, f"u{user}:")) for ns in (
            SESSIONS, TOKENS, RENDERS, RESULTS, "albums"))
        clock.advance(1)
        await writes(clock())                       # an update that came after the /forget
        kept = sum(len(state.store.scan(ns, f"u{user}:")) for ns in (
            SESSIONS, TOKENS, RENDERS, RESULTS, "albums"))
        return left, kept

    left, kept = asyncio.run(scenario())
    assert left == 0
    assert kept == 5                                # session, token, render, results, album


def test_the_expiry_is_absolute_whatever_is_written_later(state: State, clock: ManualClock) -> None:
    import asyncio

    user, chat = 7403, 7403
    ref = state.stamp(FileRef("F", "U", "photo"), clock())
    subject = Subject(ref, 1, 1)
    ctx = subject.to_doc()

    async def scenario() -> list[Any]:
        await state.set_session(chat, user, ctx, since=clock())
        clock.advance(DAY - 10)
        press = clock()                              # 🖼 pressed 10 s before the end
        await state.set_session(chat, user, {**ctx, "awaiting_style": True}, since=press)
        render = await state.save_render(Render.new(user, chat, subject, preset="p"),
                                         since=press)
        await state.save_result(user, "r1", {"file_id": "P", "until": ref.until}, since=press)
        clock.advance(11)
        return [await state.session(chat, user), await state.render(user, render.rid),
                await state.recent_results(user)]

    assert asyncio.run(scenario()) == [None, None, []]


def test_a_painting_reads_the_forget_marker_once_per_update(tg: FakeTelegram, tmp_path: Path,
                                                            engine: Any) -> None:
    """Photo + press: one /forget check for each update (before the keyboard is shown, and
    after the press's last write), not one after every write — each is a Cloud Storage
    read on App Engine."""
    store = CountingStore(SqliteStore(tmp_path / "bot.sqlite3"))
    h = BotHarness(tg, tmp_path, engine, store=store)
    try:
        h.feed(h.photo(ALICE, content_jpeg(side=160)))
        keyboard = h.last("sendMessage").result
        h.feed(h.press(ALICE, keyboard, button(keyboard, "1.")))
        assert h.last("sendPhoto").ok
        assert store.calls["get forgotten"] == 2, store.calls
        # A compare-and-swap reads its document once (inside Store.update), not once more
        # beforehand to size its lifetime.
        assert store.calls["get renders"] == store.calls["get results"] == 0, store.calls
        assert store.scan(RENDERS, f"u{ALICE['id']}:") and store.scan(RESULTS, f"u{ALICE['id']}:")
    finally:
        h.close()


def _user_docs(state: State, user: int) -> int:
    return sum(len(state.store.scan(ns, f"u{user}:")) for ns in (SESSIONS, TOKENS, RENDERS))


def test_a_forget_in_the_middle_of_an_update_takes_back_its_writes_before_and_after(
        state: State, clock: ManualClock) -> None:
    user, chat = 7404, 7404
    subject = Subject(state.stamp(FileRef("F", "U", "photo"), clock()), 1, 1)

    async def scenario() -> tuple[bool, int]:
        arrived = clock()
        async with state.checked_once():
            await state.set_session(chat, user, subject.to_doc(), since=arrived)
            clock.advance(1)
            await state.forget(user)                 # lands between two writes of the update
            clock.advance(1)
            await state.save_render(Render.new(user, chat, subject, preset="p"), since=arrived)
            kept = await state.kept(user)
        return kept, _user_docs(state, user)

    assert asyncio.run(scenario()) == (False, 0)


@pytest.mark.parametrize("ending", ["fails", "is cancelled"])
def test_an_update_that_ends_badly_still_has_its_writes_checked(
        state: State, clock: ManualClock, ending: str) -> None:
    user, chat = 7405, 7405
    subject = Subject(state.stamp(FileRef("F", "U", "photo"), clock()), 1, 1)
    written = asyncio.Event()

    async def update(arrived: float) -> None:
        async with state.checked_once():
            await state.save_render(Render.new(user, chat, subject, preset="p"), since=arrived)
            written.set()
            if ending == "fails":
                raise RuntimeError("the painting failed")
            await asyncio.Event().wait()             # … until cancelled

    async def scenario() -> int:
        task = asyncio.create_task(update(clock()))
        await asyncio.wait([task, asyncio.create_task(written.wait())],
                           return_when=asyncio.FIRST_COMPLETED)
        clock.advance(1)
        await state.forget(user)
        if ending == "is cancelled":
            task.cancel()
        with contextlib.suppress(RuntimeError, asyncio.CancelledError):
            await task
        return _user_docs(state, user)

    assert asyncio.run(scenario()) == 0


def test_a_write_after_its_update_ended_checks_itself(state: State, clock: ManualClock) -> None:
    """Work an update leaves running (a task it started) writes after the update's check:
    those writes are checked one by one again."""
    user, chat = 7406, 7406
    subject = Subject(state.stamp(FileRef("F", "U", "photo"), clock()), 1, 1)
    go = asyncio.Event()

    async def later(arrived: float) -> bool:
        await go.wait()
        return await state.set_session(chat, user, subject.to_doc(), since=arrived)

    async def scenario() -> tuple[bool, int]:
        async with state.checked_once():
            straggler = asyncio.create_task(later(clock()))
        clock.advance(1)
        await state.forget(user)
        go.set()
        return await straggler, _user_docs(state, user)

    assert asyncio.run(scenario()) == (False, 0)


def test_an_update_older_than_the_promise_changes_nothing(state: State, clock: ManualClock) -> None:
    """A compare-and-swap whose result could not live (its update arrived more than 24 h
    ago, e.g. a queue's late retry) leaves the stored document as it was."""
    user = 7407
    ref = state.stamp(FileRef("F", "U", "photo"), clock())

    async def scenario() -> list[str]:
        await state.save_result(user, "r1", {"file_id": "P", "until": ref.until}, since=clock())
        await state.save_result(user, "r2", {"file_id": "Q"}, since=clock() - DAY - 1)
        return [rid for rid, _ in await state.recent_results(user)]

    assert asyncio.run(scenario()) == ["r1"]
