"""The Mini App's HTTP face: the page, painting thumbnails and a small JSON API.

Registered by webhook_app.create_app and by polling mode's local server (bot/webapp/local.py);
either puts a `Bridge` factory in ``app.extensions["bot_webapp"]``. Every API call carries
Telegram.WebApp.initData and the page's token; nothing is answered before both check out.
"""
from __future__ import annotations

import concurrent.futures
import functools
import io
import json
import logging
from typing import Any, Callable, Coroutine, Protocol, TypeVar
from urllib.parse import parse_qsl

from flask import Blueprint, Response, abort, current_app, jsonify, request, send_from_directory
from PIL import Image

from bot import texts
from bot.config import BotConfig
from bot.i18n import Translator
from bot.webapp.initdata import InitDataError, WebAppUser, verify

log = logging.getLogger(__name__)
T = TypeVar("T")

THUMB_SIDE = 192
PREVIEW_TIMEOUT = 30.0
# The page may load Telegram's script and talk to this server, nothing else.
CSP = ("default-src 'self'; script-src 'self' https://telegram.org; "
       "img-src 'self' blob: data:; style-src 'self'; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'none'")


class Bridge(Protocol):
    """The running bot, seen from a Flask thread."""

    config: BotConfig

    @property
    def engine(self) -> Any: ...

    def call(self, fn: Callable[[Any], Coroutine[Any, Any, T]], timeout: float) -> T:
        """Run ``fn(application)`` on the bot's event loop and wait for its result."""


blueprint = Blueprint("webapp", __name__, url_prefix="/app", static_folder="static",
                      static_url_path="/static")


def _bridge() -> Bridge:
    return current_app.extensions["bot_webapp"]()


@blueprint.after_request
def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@blueprint.get("/")
def page() -> Response:
    """The page itself: no user data in it (that comes from the API after the check)."""
    return send_from_directory(blueprint.static_folder or "", "index.html", max_age=0)


@blueprint.get("/thumb/<preset_id>.jpg")
def thumb(preset_id: str) -> Response:
    """A painting's thumbnail (public art, so no check; cached by the browser a day)."""
    engine = _bridge().engine
    if preset_id not in {p.id for p in engine.catalog.presets()}:
        abort(404)
    response = Response(_thumbnail(engine.catalog, preset_id), mimetype="image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@functools.lru_cache(maxsize=256)
def _thumbnail(catalog: Any, preset_id: str) -> bytes:
    image = catalog.image(preset_id).convert("RGB")
    image.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


@blueprint.post("/api/<action>")
def api(action: str) -> Response | tuple[Response, int]:
    """launch | photo | preview | send — each only for the verified owner of the token."""
    if action not in ("launch", "photo", "preview", "send"):
        abort(404)
    bridge = _bridge()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _refusal(400, texts.WEBAPP_FAILED, None)
    init_data = str(body.get("init_data") or "")
    try:
        user = verify(init_data, bridge.config.token, max_age=bridge.config.webapp_max_age)
    except InitDataError as exc:
        log.info("mini app %s refused: %s", action, exc)
        return _refusal(403, texts.WEBAPP_REFUSED, _claimed_language(init_data))
    token = str(body.get("token") or "")
    # the service imports PTB: loaded with the first Mini App call, not when the app starts
    from bot.webapp.service import WebAppError

    try:
        return _answer(bridge, action, user, token, body)
    except WebAppError as exc:
        return _refusal(exc.status, exc.msgid, user.language_code, **exc.values)
    except concurrent.futures.TimeoutError:
        log.warning("mini app %s for user %s timed out", action, user.id)
        return _refusal(503, texts.WEBAPP_FAILED, user.language_code)
    except Exception:  # Telegram unreachable, the bot not starting…: a sentence, not a page
        log.exception("mini app %s for user %s failed", action, user.id)
        return _refusal(503, texts.WEBAPP_FAILED, user.language_code)


def _answer(bridge: Bridge, action: str, user: WebAppUser, token: str,
            body: dict[str, Any]) -> Response:
    from bot.webapp.service import Choice, MiniApp

    if action == "launch":
        return jsonify(bridge.call(lambda app: MiniApp.of(app).launch(user, token), 10.0))
    if action == "photo":
        data = bridge.call(lambda app: MiniApp.of(app).before(user, token), PREVIEW_TIMEOUT)
        return Response(data, mimetype="image/jpeg")
    choice = Choice.parse(body)
    if action == "preview":
        data = bridge.call(lambda app: MiniApp.of(app).preview(user, token, choice),
                           PREVIEW_TIMEOUT)
        return Response(data, mimetype="image/jpeg")
    nonce = str(body.get("nonce") or "")
    bridge.call(lambda app: MiniApp.of(app).send(user, token, choice, nonce),
                bridge.config.update_timeout)
    return jsonify(ok=True)


def _refusal(status: int, msgid: str, language: str | None,
             **values: object) -> tuple[Response, int]:
    t = Translator.for_code(language)
    return jsonify(ok=False, message=t(msgid, **values), dir="rtl" if t.rtl else "ltr"), status


def _claimed_language(init_data: str) -> str | None:
    """The language the (unverified) launch data claims: only to word the refusal."""
    try:
        user = json.loads(dict(parse_qsl(init_data)).get("user") or "{}")
        code = user.get("language_code") if isinstance(user, dict) else None
        return code if isinstance(code, str) else None
    except ValueError:
        return None
