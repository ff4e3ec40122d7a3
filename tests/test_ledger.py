"""The update ledger (bot/ledger.py) on its own: claims, leases, heartbeat, takeover and
compare-and-swap finish, over a real SQLite store. Instances are told apart by
GAE_INSTANCE, as on App Engine. Time is a ManualClock: leases run out when a test says so."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from bot.ledger import NS, UpdateLedger
from bot.store import Doc, Store, StoreError, UpdateTtl, open_store
from devkit.stores import PassThroughStore
from devkit.clock import ManualClock


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    yield s
    s.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def ledger_of(instance: str, store: Store, lease: float, monkeypatch: pytest.MonkeyPatch,
              clock: Callable[[], float]) -> UpdateLedger:
    monkeypatch.setenv("GAE_INSTANCE", instance)
    return UpdateLedger(store, lease, clock=clock)


def test_claim_new_then_duplicate_then_done(store, monkeypatch, clock) -> None:
    a = ledger_of("instance-a", store, 60, monkeypatch, clock)
    assert a.claim(1) == "new"
    assert a.claim(1) == "duplicate", "seen by this process"
    assert a.finish(1, "done") is True
    doc = store.get(NS, "1")
    assert doc["state"] == "done" and doc["status"] == "done"
    b = ledger_of("instance-b", store, 60, monkeypatch, clock)
    assert b.claim(1) == "duplicate", "done everywhere"


def test_live_claim_of_another_instance_is_busy_until_its_lease_ends(store, monkeypatch,
                                                                      clock) -> None:
    a = ledger_of("instance-a", store, 60, monkeypatch, clock)
    b = ledger_of("instance-b", store, 60, monkeypatch, clock)
    assert a.claim(2) == "new"
    assert b.claim(2) == "busy"
    clock.advance(59)
    assert b.claim(2) == "busy"
    clock.advance(2)
    assert b.claim(2) == "takeover"
    assert store.get(NS, "2")["owner"].startswith("instance-b:")


def test_renew_keeps_a_live_owner_from_being_taken_over(store, monkeypatch, clock) -> None:
    a = ledger_of("instance-a", store, 60, monkeypatch, clock)
    b = ledger_of("instance-b", store, 60, monkeypatch, clock)
    assert a.claim(3) == "new"
    for _ in range(4):               # 3 min of work, three times the lease
        clock.advance(45)
        assert a.renew(3) is True
        assert b.claim(3) == "busy"
    assert a.finish(3, "done") is True
    assert b.claim(3) == "duplicate"


def test_finish_never_overwrites_the_claim_of_a_new_owner(store, monkeypatch, clock) -> None:
    """A's lease ran out (it hung), B took over; when A finally finishes, B's claim stays,
    and A's heartbeat learns that the claim is no longer its own."""
    a = ledger_of("instance-a", store, 30, monkeypatch, clock)
    b = ledger_of("instance-b", store, 60, monkeypatch, clock)
    assert a.claim(4) == "new"
    clock.advance(31)
    assert b.claim(4) == "takeover"
    taken = store.get(NS, "4")
    assert a.finish(4, "done") is False
    assert store.get(NS, "4") == taken, "A must not mark B's work done"
    assert a.renew(4) is False
    assert store.get(NS, "4") == taken
    assert b.finish(4, "done") is True
    assert store.get(NS, "4")["state"] == "done"


def test_delivered_claim_of_a_dead_owner_is_not_redone(store, monkeypatch, clock) -> None:
    a = ledger_of("instance-a", store, 30, monkeypatch, clock)
    b = ledger_of("instance-b", store, 60, monkeypatch, clock)
    assert a.claim(5) == "new"
    assert a.mark_sent(5) is True
    clock.advance(31)
    assert b.claim(5) == "duplicate"
    assert store.get(NS, "5")["status"] == "sent-by-dead-owner"


def test_mark_sent_of_a_lost_claim_marks_nothing(store, monkeypatch, clock) -> None:
    """After a takeover, the old owner's "sent" must not land on the new owner's claim
    (that would make the new owner's crash look delivered, and lose the update)."""
    a = ledger_of("instance-a", store, 30, monkeypatch, clock)
    b = ledger_of("instance-b", store, 60, monkeypatch, clock)
    assert a.claim(6) == "new"
    clock.advance(31)
    assert b.claim(6) == "takeover"
    assert a.mark_sent(6) is False
    assert not store.get(NS, "6").get("sent")
    assert b.mark_sent(6) is True
    assert store.get(NS, "6")["sent"] is True


class FlakyStore(PassThroughStore):
    """The real SQLite store, with one injected fault: the next `create` raises `error`."""

    def __init__(self, inner: Store, error: BaseException) -> None:
        super().__init__(inner)
        self.error: BaseException | None = error

    def create(self, ns: str, key: str, doc: Doc, ttl: float | None = None) -> bool:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return self.inner.create(ns, key, doc, ttl)


def test_a_claim_that_failed_is_not_remembered_as_seen(store, monkeypatch, clock) -> None:
    """Any exception in claim() (not only StoreError) must leave no trace: otherwise every
    resend to this process is a "duplicate" with nothing running, and the update is lost."""
    a = ledger_of("instance-a", FlakyStore(store, TypeError("bad driver state")), 60,
                  monkeypatch, clock)
    with pytest.raises(TypeError):
        a.claim(7)
    assert a.claim(7) == "new"


def test_the_ledger_never_waits_behind_the_shared_thread_pool(store, monkeypatch,
                                                               clock) -> None:
    """Decodes and store I/O fill asyncio's default pool; a heartbeat queued behind them
    lets the lease run out. The ledger has threads of its own."""
    a = ledger_of("instance-a", store, 60, monkeypatch, clock)
    assert a.claim(8) == "new"
    release = threading.Event()

    async def scenario() -> Any:
        loop = asyncio.get_running_loop()
        pool = ThreadPoolExecutor(2)
        loop.set_default_executor(pool)
        blockers = [loop.run_in_executor(None, release.wait) for _ in range(4)]
        try:
            return await asyncio.wait_for(a.run(a.renew, 8), 30)
        finally:
            release.set()
            await asyncio.gather(*blockers)

    assert asyncio.run(scenario()) is True


class DownStore(PassThroughStore):
    """The real store, unreachable while `down` is set."""

    down = False

    def update(self, ns: str, key: str, fn: Callable[[Doc | None], Doc | None],
               ttl: UpdateTtl = None) -> Doc | None:
        if self.down:
            raise StoreError("unreachable")
        return super().update(ns, key, fn, ttl)


def test_confirm_before_sending_trusts_only_a_lease_that_surely_runs(store, monkeypatch,
                                                                    clock) -> None:
    """With the store unreachable right before sending, the owner may send only while its
    own lease surely runs; after that another instance may already have taken over."""
    down = DownStore(store)
    a = ledger_of("instance-a", down, 30, monkeypatch, clock)
    assert a.claim(9) == "new"
    down.down = True
    assert a.renew(9) is True, "a heartbeat that failed keeps working"
    assert a.confirm(9) is True, "30 s lease, just written"
    clock.advance(25)
    assert a.confirm(9) is False, "5 s left: too close to a takeover"
    down.down = False
    assert a.confirm(9) is True, "renewed now"


def test_a_given_up_claim_is_delivered_again_after_its_lease(store, monkeypatch, clock) -> None:
    """Work stopped unsent (give_up): a redelivery to the same process is "busy" while the
    lease runs, then takes the update over — never a "duplicate" that would lose it."""
    a = ledger_of("instance-a", store, 30, monkeypatch, clock)
    assert a.claim(10) == "new"
    a.give_up(10)
    assert a.claim(10) == "busy"
    clock.advance(31)
    assert a.claim(10) == "takeover"


def test_a_resend_before_the_first_enqueue_is_confirmed_is_enqueued_again(
        store, monkeypatch, clock) -> None:
    """Cloud Tasks mode. The first delivery's enqueue failed (queue down) or is still in
    flight, and Telegram's resend comes first: only a task known to exist makes the resend
    a duplicate; anything less enqueues again (a second task is the ledger's to drop)."""
    a = ledger_of("instance-a", store, 60, monkeypatch, clock)
    b = ledger_of("instance-b", store, 60, monkeypatch, clock)
    assert a.mark_queued(7) is True
    assert a.mark_queued(7) is True, "unconfirmed: answering duplicate could lose the update"
    assert b.mark_queued(7) is True
    a.enqueued(7)
    assert b.mark_queued(7) is False, "its task exists"
    assert b.claim(7) == "new", "the task claims a queued update"
    assert a.mark_queued(7) is False, "running"
    assert b.finish(7, "done") is True
    assert a.mark_queued(7) is False, "done"
