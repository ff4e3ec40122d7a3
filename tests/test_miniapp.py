"""The Mini App over real HTTP (no browser): who gets the button, who gets previews and
sends, exactly-once sends, /forget, rate limits, every language. Browser tests:
tests/test_miniapp_browser.py."""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from bot import texts
from bot.i18n import Translator, available
from bot.webapp.service import PREVIEW_SIDE
from devkit.miniapp import MiniAppServer, serve_app
from tests.bot_harness import content_jpeg, decode, jpeg
from tests.conftest import EXIF_DIR, USER_STYLE

OWNER, OTHER = 7001, 7002


def token_of(url: str) -> str:
    return parse_qs(urlparse(url).query)["t"][0]


def presets(srv: MiniAppServer, data: str, token: str) -> list[str]:
    status, body = srv.api("launch", {"init_data": data, "token": token})
    assert status == 200, body
    return [p["id"] for p in json.loads(body)["presets"]]


def test_button_under_a_private_photo_carries_only_the_random_token(
        miniapp: MiniAppServer) -> None:
    url = miniapp.open_for(OWNER, content_jpeg(side=320))
    assert url.startswith(f"{miniapp.base}/app/?t=")
    token = token_of(url)
    assert 8 <= len(token) <= 16 and str(OWNER) not in url
    file_ids = [c.result["photo"][-1]["file_id"] for c in miniapp.fake.calls
                if c.method == "getFile" and c.ok and isinstance(c.result, dict)
                and "photo" in c.result]
    assert all(f not in url for f in file_ids)
    assert all(c.params.get("file_id", "\0") not in url for c in miniapp.fake.calls_to("getFile"))


def test_no_button_in_groups(miniapp: MiniAppServer) -> None:
    group = {"id": -4242, "type": "group", "title": "Painters"}
    photo = miniapp.fake.send_photo_from_user(group, OWNER, content_jpeg(side=320),
                                              caption="/stylize", chat_type="group")
    assert miniapp.post_update(photo) == 200
    offer = miniapp.fake.wait_for("sendMessage")[-1]
    assert offer.params["chat_id"] == group["id"]
    assert "web_app" not in json.dumps(offer.params["reply_markup"])


def test_no_button_without_a_public_url(tmp_path: Path) -> None:
    for srv in serve_app(tmp_path, public_url=""):
        photo = srv.fake.send_photo_from_user(None, OWNER, content_jpeg(side=320))
        assert srv.post_update(photo) == 200
        offer = srv.fake.wait_for("sendMessage")[-1]
        assert "inline_keyboard" in json.dumps(offer.params["reply_markup"])
        assert "web_app" not in json.dumps(offer.params["reply_markup"])


def test_owner_sees_own_photo_painted_and_one_send_sends_once(miniapp: MiniAppServer) -> None:
    token = token_of(miniapp.open_for(OWNER, jpeg(EXIF_DIR / "Landscape_1.jpg", 640)))
    data = miniapp.signed(OWNER)
    status, before = miniapp.api("photo", {"init_data": data, "token": token})
    assert status == 200 and max(decode(before).size) == PREVIEW_SIDE
    first, second = presets(miniapp, data, token)[:2]
    shots = []
    for preset in (first, second):
        status, body = miniapp.api("preview", {"init_data": data, "token": token,
                                               "preset": preset, "strength": 100})
        assert status == 200, body
        assert decode(body).size == decode(before).size
        shots.append(body)
    assert shots[0] != shots[1] != before
    send = {"init_data": data, "token": token, "preset": second, "strength": 60,
            "brush": "medium", "keep_colors": True, "nonce": "send-nonce-1"}
    assert miniapp.api("send", send)[0] == 200
    assert miniapp.api("send", send)[0] == 200   # a retried request: still one painting
    paintings = miniapp.paintings_to(OWNER)
    assert len(paintings) == 1
    caption = paintings[0].params["caption"]
    assert "60%" in caption and "medium" in caption
    assert max(decode(paintings[0].files["photo"]).size) == 640


@pytest.mark.parametrize("who", ["other_user", "forged", "stale", "none"])
def test_foreign_forged_or_stale_launch_data_gets_nothing(miniapp: MiniAppServer,
                                                          who: str) -> None:
    token = token_of(miniapp.open_for(OWNER, content_jpeg(side=320)))
    genuine = miniapp.signed(OWNER)
    if who == "other_user":     # a real user of the bot, on the owner's link
        data = miniapp.signed(OTHER)
    elif who == "forged":       # the owner's id written into someone's own launch data
        data = miniapp.signed(OTHER).replace(f"%22id%22%3A{OTHER}", f"%22id%22%3A{OWNER}")
        assert data != miniapp.signed(OTHER)
    elif who == "stale":
        data = miniapp.signed(OWNER, auth_date=time.time() - 2 * 3600)
    else:
        data = ""
    preset = presets(miniapp, genuine, token)[0]
    downloads = len(miniapp.fake.calls_to("getFile"))
    for action in ("launch", "photo", "preview", "send"):
        status, body = miniapp.api(action, {"init_data": data, "token": token,
                                            "preset": preset, "nonce": f"n-{action}-123"})
        assert status in (403, 410), (action, status)
        assert json.loads(body)["ok"] is False
    assert miniapp.paintings_to(OWNER) == [] and miniapp.paintings_to(OTHER) == []
    assert len(miniapp.fake.calls_to("getFile")) == downloads


def test_forget_closes_the_page(miniapp: MiniAppServer) -> None:
    token = token_of(miniapp.open_for(OWNER, content_jpeg(side=320)))
    data = miniapp.signed(OWNER)
    preset = presets(miniapp, data, token)[0]
    body = {"init_data": data, "token": token, "preset": preset}
    assert miniapp.api("preview", body)[0] == 200
    bot = miniapp.app.extensions["bot_runtime"].get()
    kept = lambda: bot.call(lambda app: _kept(app, OWNER), 10)  # noqa: E731
    assert kept() == 1
    assert miniapp.post_update(miniapp.fake.text_update(None, OWNER, "/forget")) == 200
    assert kept() == 0
    assert miniapp.api("preview", body)[0] == 410
    assert miniapp.api("send", {**body, "nonce": "after-forget"})[0] == 410
    assert miniapp.paintings_to(OWNER) == []


async def _kept(app: Any, user_id: int) -> int:
    """Decoded photos the Mini App keeps in memory for the user (read on the bot's loop)."""
    return int(app.bot_data.webapp.photos_kept(user_id))


def test_previews_are_rate_limited(tmp_path: Path) -> None:
    for srv in serve_app(tmp_path, previews_per_minute=2):
        token = token_of(srv.open_for(OWNER, content_jpeg(side=320)))
        data = srv.signed(OWNER, "de")
        body = {"init_data": data, "token": token, "preset": presets(srv, data, token)[0]}
        statuses = [srv.api("preview", body)[0] for _ in range(3)]
        if time.localtime().tm_sec > 57:  # the minute turned between the calls: try again
            statuses = [srv.api("preview", body)[0] for _ in range(3)]
        assert statuses[-1] == 429 and statuses.count(200) <= 2
        message = json.loads(srv.api("preview", body)[1])["message"]
        assert message.startswith(Translator("de")(texts.RATE_LIMITED_IN, seconds=1)[:12])


def test_opening_the_page_counts_as_an_action(tmp_path: Path) -> None:
    for srv in serve_app(tmp_path, actions_per_minute=3):   # the photo itself is one
        token = token_of(srv.open_for(OWNER, content_jpeg(side=320)))
        body = {"init_data": srv.signed(OWNER), "token": token}
        statuses = [srv.api(action, body)[0] for action in ("launch", "photo", "launch")]
        if time.localtime().tm_sec > 57:  # the minute turned between the calls: try again
            statuses = [srv.api(action, body)[0] for action in ("launch", "photo", "launch")]
        assert statuses[-1] == 429 and statuses.count(200) <= 2


def test_own_style_is_previewed_then_sent_through_the_chat(miniapp: MiniAppServer) -> None:
    token = token_of(miniapp.open_for(OWNER, content_jpeg(side=320)))
    data = miniapp.signed(OWNER)
    own = base64.b64encode(USER_STYLE.read_bytes()).decode()
    body = {"init_data": data, "token": token, "own_style": own, "strength": 100}
    status, shot = miniapp.api("preview", body)
    assert status == 200 and decode(shot).format == "JPEG"
    assert miniapp.api("preview", {**body, "own_style": base64.b64encode(b"junk").decode()}
                       )[0] == 422
    assert miniapp.api("send", {**body, "nonce": "own-style-1"})[0] == 200
    photos = [c for c in miniapp.fake.calls_to("sendPhoto") if c.ok]
    assert [c.params.get("caption") for c in photos][0] == Translator()(texts.WEBAPP_STYLE_CAPTION)
    assert len(miniapp.paintings_to(OWNER)) == 1


def test_page_strings_in_every_language(miniapp: MiniAppServer) -> None:
    token = token_of(miniapp.open_for(OWNER, content_jpeg(side=320)))
    for locale in available():
        t = Translator(locale)
        status, body = miniapp.api("launch", {"init_data": miniapp.signed(OWNER, locale),
                                              "token": token})
        page = json.loads(body)
        assert status == 200 and page["dir"] == ("rtl" if t.rtl else "ltr")
        assert page["strings"]["title"] == t(texts.WEBAPP_TITLE) != texts.WEBAPP_TITLE
        assert page["strings"]["send"] == t(texts.WEBAPP_SEND) != texts.WEBAPP_SEND


def test_page_and_thumbnails_are_served_safely(miniapp: MiniAppServer) -> None:
    client = miniapp.app.test_client()
    page = client.get("/app/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "https://telegram.org/js/telegram-web-app.js" in html
    assert "script-src 'self' https://telegram.org" in page.headers["Content-Security-Policy"]
    assert "//" not in html.replace("https://telegram.org/js/", "")  # nothing else outside
    preset = miniapp.app.extensions["bot_runtime"].get().engine.catalog.presets()[0].id
    thumb = client.get(f"/app/thumb/{preset}.jpg")
    assert thumb.status_code == 200 and decode(thumb.data).format == "JPEG"
    assert client.get("/app/thumb/nope.jpg").status_code == 404
    assert client.post("/app/api/launch", data="not json").status_code == 400


@pytest.mark.parametrize("status, expected", [(400, 410), (403, 503)])
def test_telegram_refusing_the_photo_is_a_sentence(miniapp: MiniAppServer, status: int,
                                                   expected: int) -> None:
    """getFile refused: the photo is gone (400) or Telegram says no (403) — the page gets
    a sentence in JSON, never an HTML error page."""
    token = token_of(miniapp.open_for(OWNER, content_jpeg(side=320)))
    data = miniapp.signed(OWNER, "uk")
    miniapp.fake.fail_next("getFile", status=status, description="Bad Request: no such file")
    code, body = miniapp.api("photo", {"init_data": data, "token": token})
    message = json.loads(body)["message"]
    assert code == expected
    t = Translator("uk")
    assert message == t(texts.PHOTO_GONE if status == 400 else texts.WEBAPP_FAILED)


def test_a_newer_preview_takes_the_place_of_a_waiting_one(miniapp: MiniAppServer) -> None:
    """Previews go through the fair queue like button presses: the slot is taken before
    the download, and a newer tap replaces a preview still waiting (409, the page ignores
    it), so fast taps paint the last choice, not every one."""
    from concurrent.futures import ThreadPoolExecutor

    token = token_of(miniapp.open_for(OWNER, content_jpeg(side=320)))
    data = miniapp.signed(OWNER)
    first, second = presets(miniapp, data, token)[:2]
    downloads = len(miniapp.fake.calls_to("getFile"))
    miniapp.fake.delay_next("getFile", 3.0)   # the first tap's download is slow
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(miniapp.api, "preview", {"init_data": data, "token": token,
                                                    "preset": first})
        miniapp.fake.wait_for("getFile", downloads + 1, answered=False)
        status, _ = miniapp.api("preview", {"init_data": data, "token": token,
                                            "preset": second})
        assert status == 200
        assert slow.result()[0] == 409
