"""A pytest-free harness for the bot end to end: the real HTTP fake of the Bot API, the real
Application from bot.app, real SQLite, whatever engine the caller passes.

Updates are fed the way the webhook feeds them: ``Update.de_json`` and
``await application.process_update(...)``; the assertions look at the HTTP calls the
fake recorded. pytest-asyncio is not installed, so the harness owns one event loop and
runs coroutines on it from sync code (tests and bench alike).
"""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from telegram import Update

from bot.app import build_application
from bot.config import BotConfig
from bot.logs import configure_logging
from bot.store import Store
from devkit.fake_telegram import Call, FakeTelegram


class BotHarness:
    """One Application talking to one FakeTelegram."""

    def __init__(self, tg: FakeTelegram, tmp_path: Path, engine: Any, *,
                 store: Store | None = None, **config: Any) -> None:
        """`store`: one the caller made (e.g. with an injected clock); else SQLite in
        tmp_path. Either way close() closes it."""
        self.tg = tg
        settings = dict(token=tg.token, api_base=tg.api_base,
                        store_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}", workers=2)
        settings.update(config)
        self.config = BotConfig(**settings)
        configure_logging(self.config)   # as both entry points do: the token redacted
        self.app = build_application(self.config, engine=engine, store=store)
        self.loop = asyncio.new_event_loop()
        self.run(self.app.initialize())

    # -- running -----------------------------------------------------------------------
    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def process(self, data: dict[str, Any]) -> None:
        for kind in ("message", "edited_message"):
            if isinstance(data.get(kind), dict):
                self.tg.remember(data[kind])
        await self.app.process_update(Update.de_json(data, self.app.bot))

    def feed(self, *updates: dict[str, Any]) -> None:
        """Process the updates concurrently (like webhook requests arriving together)."""
        async def all_of() -> None:
            await asyncio.gather(*(self.process(u) for u in updates))

        self.run(all_of())

    def close(self) -> None:
        try:
            self.run(self.app.shutdown())
            self.app.bot_data.queue.shutdown()
            self.app.bot_data.arrivals.shutdown()
            self.app.bot_data.store.close()
        finally:
            self.loop.close()

    # -- the store ---------------------------------------------------------------------
    @property
    def store(self):
        return self.app.bot_data.store

    # -- building updates ----------------------------------------------------------------
    def photo(self, user: dict, image: bytes, chat: dict | None = None, **kw: Any) -> dict:
        return self.tg.send_photo_from_user(chat, user, image, **kw)

    def document(self, user: dict, data: bytes, file_name: str = "photo.jpg",
                 chat: dict | None = None, **kw: Any) -> dict:
        return self.tg.send_document_from_user(chat, user, data, file_name, **kw)

    def press(self, user: dict, message: dict, data: str) -> dict:
        return self.tg.callback_update(None, user, message, data)

    def paint_together(self, users: list[dict], image: bytes) -> None:
        """Each user sends `image`; then all press painting 1. at the same moment."""
        presses = []
        for u in users:
            self.feed(self.photo(u, image))
            keyboard = self.last("sendMessage").result
            presses.append(self.press(u, keyboard, button(keyboard, "1.")))
        self.feed(*presses)

    # -- reading what the bot did -----------------------------------------------------------
    def calls(self, method: str) -> list[Call]:
        """Calls to `method`, once the fake has finished answering them (the client may
        read the answer a moment before the fake records it)."""
        count = len(self.tg.calls_to(method))
        return self.tg.wait_for(method, count, timeout=5) if count else []

    def last(self, method: str) -> Call:
        calls = self.calls(method)
        assert calls, f"no {method} call; calls: {[c.method for c in self.tg.calls]}"
        return calls[-1]

    def texts(self) -> list[str]:
        return [c.params.get("text", "") for c in self.calls("sendMessage")]


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """{button text: callback_data} of a message the bot sent."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return {b["text"]: b.get("callback_data") or b.get("switch_inline_query", "")
            for row in rows for b in row}


def button(message: dict[str, Any], startswith: str) -> str:
    for text, data in buttons(message).items():
        if text.startswith(startswith):
            return data
    raise AssertionError(f"no button starting with {startswith!r} in {list(buttons(message))}")


def reply_to_of(call: Call) -> int | None:
    rp = call.params.get("reply_parameters") or {}
    return rp.get("message_id")
