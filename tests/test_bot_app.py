"""The application factory and its contracts with the webhook runtime."""
from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from telegram import Bot

from bot.app import build_application
from bot.config import BotConfig
from bot.ledger import UpdateLedger
from bot.runtime import DeliveryHook
from bot.telegram_io import chat_action
from nst import EngineConfig
from devkit.bot_harness import BotHarness, button
from tests.bot_harness import content_jpeg
from devkit.fake_telegram import FakeTelegram

ALICE = {"id": 7001, "is_bot": False, "first_name": "Alice"}


def test_building_is_cheap_and_offline(tmp_path: Path) -> None:
    """Building loads no model and starts no thread: what would make it slow is counted,
    not timed (a shared machine makes a time bound flaky)."""
    config = BotConfig(token="1:offline", api_base="http://127.0.0.1:9",  # nothing listens
                       store_url=f"sqlite:///{tmp_path / 'b.sqlite3'}",
                       engine=EngineConfig(backend="openvino"))
    threads = threading.active_count()
    app = build_application(config)
    assert app.bot_data.engine.backend.compiles == 0, "no model compiled while building"
    assert threading.active_count() == threads, "no thread started while building"
    assert app.updater is None, "webhook mode: no Updater"
    assert {"engine", "store", "config", "queue", "state"} <= set(vars(app.bot_data))
    assert app.bot_data.queue._pool is None, "no render threads before the first job"
    app.bot_data.store.close()
    assert build_application(config, polling=True).updater is not None


def test_delivery_is_recorded_for_the_webhook_ledger(harness: BotHarness) -> None:
    h = harness
    ledger = UpdateLedger(h.store, lease=60)
    h.app.bot_data.delivery = DeliveryHook(ledger)
    h.feed(h.photo(ALICE, content_jpeg()))
    keyboard = h.last("sendMessage").result
    press = h.press(ALICE, keyboard, button(keyboard, "1."))
    assert ledger.claim(press["update_id"]) == "new"
    h.feed(press)
    assert h.calls("sendPhoto")
    assert h.store.get("updates", str(press["update_id"])).get("sent") is True


def test_chat_action_is_kept_alive(tg: FakeTelegram) -> None:
    async def scenario() -> None:
        async with Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
            async with chat_action(bot, ALICE["id"], every=0.2):
                # waits on the calls themselves, not on a time that should be enough
                await asyncio.to_thread(tg.wait_for, "sendChatAction", 3, 30)
    asyncio.run(scenario())
    actions = tg.calls_to("sendChatAction")
    assert len(actions) >= 3
    assert all(c.params["action"] == "upload_photo" for c in actions)
