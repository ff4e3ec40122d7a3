"""The update ledger (bot/ledger.py) on its own: claims, leases, heartbeat, takeover and
compare-and-swap finish, over a real SQLite store. Instances are told apart by
GAE_INSTANCE, as on App Engine."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.ledger import NS, UpdateLedger
from bot.store import Store, open_store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = open_store(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
    yield s
    s.close()


def ledger_of(instance: str, store: Store, lease: float, monkeypatch) -> UpdateLedger:
    monkeypatch.setenv("GAE_INSTANCE", instance)
    return UpdateLedger(store, lease)


def test_claim_new_then_duplicate_then_done(store, monkeypatch) -> None:
    a = ledger_of("instance-a", store, 60, monkeypatch)
    assert a.claim(1) == "new"
    assert a.claim(1) == "duplicate", "seen by this process"
    a.finish(1, "done")
    doc = store.get(NS, "1")
    assert doc["state"] == "done" and doc["status"] == "done"
    b = ledger_of("instance-b", store, 60, monkeypatch)
    assert b.claim(1) == "duplicate", "done everywhere"


def test_live_claim_of_another_instance_is_busy_until_its_lease_ends(store, monkeypatch) -> None:
    a = ledger_of("instance-a", store, 0.5, monkeypatch)
    b = ledger_of("instance-b", store, 0.5, monkeypatch)
    assert a.claim(2) == "new"
    assert b.claim(2) == "busy"
    time.sleep(0.6)
    assert b.claim(2) == "takeover"
    assert store.get(NS, "2")["owner"].startswith("instance-b:")


def test_renew_keeps_a_live_owner_from_being_taken_over(store, monkeypatch) -> None:
    a = ledger_of("instance-a", store, 0.5, monkeypatch)
    b = ledger_of("instance-b", store, 0.5, monkeypatch)
    assert a.claim(3) == "new"
    for _ in range(4):               # 1.2 s of work, three times the lease
        time.sleep(0.3)
        assert a.renew(3) is True
        assert b.claim(3) == "busy"
    a.finish(3, "done")
    assert b.claim(3) == "duplicate"


def test_finish_never_overwrites_the_claim_of_a_new_owner(store, monkeypatch) -> None:
    """A's lease ran out (it hung), B took over; when A finally finishes, B's claim stays,
    and A's heartbeat learns that the claim is no longer its own."""
    a = ledger_of("instance-a", store, 0.3, monkeypatch)
    b = ledger_of("instance-b", store, 60, monkeypatch)
    assert a.claim(4) == "new"
    time.sleep(0.4)
    assert b.claim(4) == "takeover"
    taken = store.get(NS, "4")
    a.finish(4, "done")
    assert store.get(NS, "4") == taken, "A must not mark B's work done"
    assert a.renew(4) is False
    assert store.get(NS, "4") == taken
    b.finish(4, "done")
    assert store.get(NS, "4")["state"] == "done"


def test_delivered_claim_of_a_dead_owner_is_not_redone(store, monkeypatch) -> None:
    a = ledger_of("instance-a", store, 0.3, monkeypatch)
    b = ledger_of("instance-b", store, 60, monkeypatch)
    assert a.claim(5) == "new"
    a.mark_sent(5)
    time.sleep(0.4)
    assert b.claim(5) == "duplicate"
    assert store.get(NS, "5")["status"] == "sent-by-dead-owner"
