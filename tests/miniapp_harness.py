"""The Mini App end to end: create_app() (webhook + the /app blueprint) served over real HTTP
by werkzeug in a thread, the HTTP fake of the Bot API, real SQLite and the real engine.
`MiniAppServer.open_for(user)` sends a photo through the webhook like Telegram and returns
the web_app URL of the keyboard the bot answered with."""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

from bot.config import BotConfig
from devkit.fake_telegram import Call, FakeTelegram, serve
from devkit.miniapp import init_data
from devkit.webhook import HEADERS, SECRET
from nst.config import EngineConfig
from tests.bot_harness import content_jpeg
from webhook_app import create_app


@dataclass
class MiniAppServer:
    fake: FakeTelegram
    app: Flask
    base: str

    def post_update(self, update: dict) -> int:
        request = urllib.request.Request(f"{self.base}/webhook", json.dumps(update).encode(),
                                         {**HEADERS, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status

    def open_for(self, user_id: int, image: bytes | None = None) -> str:
        """Send a photo as `user_id`; the URL of the Mini App button the bot offers."""
        before = len(self.fake.calls_to("sendMessage"))
        photo = self.fake.send_photo_from_user(None, user_id, image or content_jpeg(side=640))
        assert self.post_update(photo) == 200
        offers = [c for c in self.fake.wait_for("sendMessage", before + 1)[before:]
                  if c.ok and c.params.get("chat_id") == user_id]
        return web_app_url(offers[-1])

    def api(self, action: str, body: dict[str, Any]) -> tuple[int, bytes]:
        request = urllib.request.Request(f"{self.base}/app/api/{action}",
                                         json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def signed(self, user_id: int, language: str = "en", **kw: Any) -> str:
        return init_data(self.fake.token, user_id, language, **kw)

    def paintings_to(self, chat_id: int) -> list[Call]:
        """Paintings sent into the chat (successful sendPhoto calls with a keyboard)."""
        return [c for c in self.fake.calls_to("sendPhoto")
                if c.ok and c.params.get("chat_id") == chat_id and c.params.get("reply_markup")]


def web_app_url(call: Call) -> str:
    markup = call.params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    urls = [b["web_app"]["url"] for row in markup["inline_keyboard"] for b in row
            if "web_app" in b]
    assert len(urls) == 1, markup
    return urls[0]


@pytest.fixture
def miniapp(tmp_path: Path) -> Iterator[MiniAppServer]:
    """The whole app on a free loopback port, BOT_PUBLIC_URL pointing at it."""
    for fake in serve():
        server = make_server("127.0.0.1", 0, Flask("placeholder"), threaded=True)
        base = f"http://127.0.0.1:{server.server_port}"
        config = BotConfig(token=fake.token, api_base=fake.api_base, webhook_secret=SECRET,
                           store_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
                           engine=EngineConfig.from_env(), workers=1, update_timeout=60,
                           public_url=base)
        app = create_app(config)
        server.app = app
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield MiniAppServer(fake, app, base)
        finally:
            server.shutdown()
            thread.join(10)
            app.extensions["bot_runtime"].close()
