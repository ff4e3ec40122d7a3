"""Opening the Mini App the way Telegram does, for tests, the bench and screenshots.

`init_data` signs launch data with a bot token (bot.webapp.initdata.sign); `launch_url`
puts it in the URL fragment with the version, platform and theme; `STAND_IN` is the
telegram-web-app.js that answers requests for telegram.org's script (no internet here).
"""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote, urlencode

from flask import Flask
from werkzeug.serving import make_server

from bot.config import BotConfig
from bot.webapp.initdata import sign
from devkit.fake_telegram import Call, FakeTelegram, serve
from devkit.webhook import HEADERS, SECRET
from nst.config import EngineConfig
from webhook_app import create_app

STAND_IN = (Path(__file__).with_name("telegram_web_app.js")).read_text
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js*"
LIGHT = {"bg_color": "#ffffff", "text_color": "#000000", "hint_color": "#999999",
         "link_color": "#2481cc", "button_color": "#2481cc", "button_text_color": "#ffffff",
         "secondary_bg_color": "#efeff3"}
DARK = {"bg_color": "#17212b", "text_color": "#f5f5f5", "hint_color": "#708499",
        "link_color": "#6ab3f3", "button_color": "#5288c1", "button_text_color": "#ffffff",
        "secondary_bg_color": "#232e3c"}


def init_data(token: str, user_id: int, language: str = "en", *,
              auth_date: float | None = None, **extra: str) -> str:
    """Launch data as Telegram signs it for `user_id` (now, unless `auth_date`)."""
    user = {"id": user_id, "first_name": "Ann", "language_code": language,
            "allows_write_to_pm": True}
    fields = {"query_id": "AAF" + str(user_id), "user": json.dumps(user, separators=(",", ":")),
              "auth_date": str(int(time.time() if auth_date is None else auth_date)), **extra}
    return sign(fields, token)


def launch_url(page_url: str, data: str, theme: dict[str, str] | None = None,
               platform: str = "android") -> str:
    """`page_url` (the web_app button's URL) with Telegram's launch parameters."""
    fragment = urlencode({"tgWebAppData": data, "tgWebAppVersion": "8.0",
                          "tgWebAppPlatform": platform,
                          "tgWebAppThemeParams": json.dumps(theme or LIGHT)}, quote_via=quote)
    return f"{page_url}#{fragment}"


def route_telegram_script(page: Any) -> None:
    """Answer the page's request for telegram.org's script with the stand-in."""
    page.route(TELEGRAM_SCRIPT, lambda route: route.fulfill(
        status=200, content_type="application/javascript", body=STAND_IN()))


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

    def open_for(self, user_id: int, image: bytes) -> str:
        """Send a photo as `user_id`; the URL of the Mini App button the bot offers."""
        before = len(self.fake.calls_to("sendMessage"))
        photo = self.fake.send_photo_from_user(None, user_id, image)
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


def serve_app(folder: Path, **config: Any) -> Iterator[MiniAppServer]:
    """create_app() (webhook + /app) over real HTTP on a free loopback port, with
    BOT_PUBLIC_URL pointing at it, the fake Bot API, SQLite in `folder`, the real engine."""
    for fake in serve():
        server = make_server("127.0.0.1", 0, Flask("placeholder"), threaded=True)
        base = f"http://127.0.0.1:{server.server_port}"
        settings = BotConfig(token=fake.token, api_base=fake.api_base, webhook_secret=SECRET,
                             store_url=f"sqlite:///{folder / 'bot.sqlite3'}",
                             engine=EngineConfig.from_env(), workers=1, update_timeout=60,
                             public_url=base)
        app = create_app(replace(settings, **config))
        server.app = app
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield MiniAppServer(fake, app, base)
        finally:
            server.shutdown()
            thread.join(10)
            app.extensions["bot_runtime"].close()
