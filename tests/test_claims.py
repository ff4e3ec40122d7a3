"""Claims that stop when lost (issue #19): the webhook runtime over a real SQLite store
and the HTTP fake Bot API. The owner is paused inside a store call (a gate, released by
the test) while another instance takes the update over; the old owner must then send
nothing — whether its heartbeat notices first or the check just before sending does."""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from bot.config import BotConfig
from bot.ledger import NS, UpdateLedger
from bot.runtime import BotRuntime, Outcome
from bot.store import Doc, Store, UpdateTtl, open_store
from devkit.stores import PassThroughStore
from devkit.bot_harness import button
from devkit.clock import ManualClock
from devkit.fake_telegram import FakeTelegram
from devkit.webhook import SECRET
from nst.config import EngineConfig
from tests.bot_harness import content_jpeg

ALICE = 4242


class GatedStore(PassThroughStore):
    """The real SQLite store; once armed, the next render-rate update (the first store call
    of a painting) waits until the test opens the gate."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.armed = False
        self.entered = threading.Event()
        self.gate = threading.Event()

    def update(self, ns: str, key: str, fn: Callable[[Doc | None], Doc | None],
               ttl: UpdateTtl = None) -> Doc | None:
        if self.armed and ns == "rate" and ":m" in key:
            self.armed = False
            self.entered.set()
            self.gate.wait()
        return self.inner.update(ns, key, fn, ttl)


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[GatedStore]:
    store = GatedStore(open_store(f"sqlite:///{tmp_path / 'bot.sqlite3'}"))
    yield store
    store.gate.set()
    store.inner.close()


def runtime_on(fake: FakeTelegram, store: Store, lease: float) -> BotRuntime:
    config = BotConfig(token=fake.token, api_base=fake.api_base, webhook_secret=SECRET,
                       engine=EngineConfig.from_env(), claim_lease=lease)
    return BotRuntime(replace(config, workers=1), store)


def press_after_photo(fake: FakeTelegram, rt: BotRuntime) -> dict:
    photo = fake.send_photo_from_user(None, ALICE, content_jpeg(side=160))
    assert rt.process(photo, 60).status == "done"
    keyboard = [c for c in fake.calls_to("sendMessage") if c.params.get("reply_markup")][-1]
    return fake.callback_update(None, ALICE, keyboard.result, button(keyboard.result, "1."))


def take_over_while_paused(fake: FakeTelegram, rt: BotRuntime, gated: GatedStore,
                           monkeypatch: pytest.MonkeyPatch) -> tuple[dict, list[Outcome],
                                                                     threading.Thread]:
    """Start the press on `rt`, pause it in the gate, let instance-b take it over."""
    press = press_after_photo(fake, rt)
    gated.armed = True
    outcome: list[Outcome] = []
    worker = threading.Thread(target=lambda: outcome.append(rt.process(press, 120)))
    worker.start()
    assert gated.entered.wait(30), "the painting never reached the store"
    clock = ManualClock()
    clock.advance(rt.config.claim_lease + 1)     # instance-b sees the lease as run out
    monkeypatch.setenv("GAE_INSTANCE", "instance-b")
    other = UpdateLedger(gated.inner, 60, clock=clock)
    assert other.claim(press["update_id"]) == "takeover"
    return press, outcome, worker


def paintings(fake: FakeTelegram) -> list[Any]:
    return [c for c in fake.calls_to("sendPhoto") if c.params.get("chat_id") == ALICE]


def test_a_lost_claim_is_not_sent_even_before_the_heartbeat_beats(
        fake: FakeTelegram, gated: GatedStore, engine: Any, monkeypatch) -> None:
    rt = runtime_on(fake, gated, lease=600)      # no heartbeat during this test
    try:
        press, outcome, worker = take_over_while_paused(fake, rt, gated, monkeypatch)
        gated.gate.set()
        worker.join(120)
        assert outcome and outcome[0].status in ("done", "lost")
        assert paintings(fake) == [], "the old owner sent after losing its claim"
        doc = gated.inner.get(NS, str(press["update_id"]))
        assert doc["owner"].startswith("instance-b:") and not doc.get("sent")
    finally:
        rt.close()


def test_the_heartbeat_stops_the_work_when_the_claim_is_lost(
        fake: FakeTelegram, gated: GatedStore, engine: Any, monkeypatch) -> None:
    rt = runtime_on(fake, gated, lease=0.3)      # beats every 0.1 s (real time)
    try:
        press, outcome, worker = take_over_while_paused(fake, rt, gated, monkeypatch)
        # The work is still paused in the gate: only the heartbeat can end it now.
        worker.join(60)
        assert outcome and outcome[0].status == "lost"
        gated.gate.set()
        assert paintings(fake) == []
        assert gated.inner.get(NS, str(press["update_id"]))["owner"].startswith("instance-b:")
    finally:
        rt.close()
