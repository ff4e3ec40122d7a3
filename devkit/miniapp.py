"""Opening the Mini App the way Telegram does, for tests, the bench and screenshots.

`init_data` signs launch data with a bot token (bot.webapp.initdata.sign); `launch_url`
puts it in the URL fragment with the version, platform and theme; `STAND_IN` is the
telegram-web-app.js that answers requests for telegram.org's script (no internet here).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from bot.webapp.initdata import sign

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
