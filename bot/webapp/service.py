"""What the Mini App asks of the bot. Every coroutine here runs on the bot's event loop,
like a handler: the same State, rate limits, fair render queue and delivery.

A page is bound to one painting keyboard (the random part of its token) and to the user
whose verified launch data owns it. The photo itself stays in Telegram (a file_id in the
keyboard doc); a small decoded copy is kept in this process's memory for a few minutes so
previews need no download each, and is reachable only while the keyboard's token exists
(/forget deletes it, and with it the page's access).
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import logging
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Any

from PIL import Image
from telegram.ext import Application

from bot import texts
from bot.context import BotContext, Services
from bot.errors import UserError
from bot.handlers.render import start_render
from bot.i18n import Translator
from bot.jobs import Replaced
from bot.records import FileRef, Render, Subject
from bot.state import ACTION_RATE
from bot.telegram_io import MEDIA_READ_TIMEOUT, download, with_retries
from bot.webapp.initdata import WebAppUser
from nst import StyleOptions, encode_image, load_image
from nst.brush import BRUSHES
from nst.errors import NstError
from nst.images import PHOTO_DECODE_PIXELS, STYLE_DECODE_PIXELS

log = logging.getLogger(__name__)

PREVIEW_SIDE = 448          # what the page shows (a phone is ~390 css px wide)
# A brush is a stroke size relative to the picture: a finer one is previewed by painting
# larger and shrinking, so the preview shows the strokes the sent painting will have.
PAINT_SIDE = {"bold": PREVIEW_SIDE, "medium": 640, "fine": 896}
PHOTO_SIDE = max(PAINT_SIDE.values())
PREVIEW_RATE = "v"          # rate key u{user}:v{minute}
PHOTOS_KEPT = 32            # decoded photos kept in memory (~2.4 MB each at 896 px)
PHOTO_MEMORY = 600.0        # seconds a decoded photo is kept after its last use
MAX_OWN_STYLE = 600_000     # bytes of the page's own-style upload (it sends ≤ 512 px)
OWN_STYLE_SIDE = 512        # the style network looks at 256 px
_NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{8,40}$")


class WebAppError(Exception):
    """A refusal for the page: an HTTP status and the sentence (msgid) to show."""

    def __init__(self, status: int, msgid: str, **values: object) -> None:
        super().__init__(msgid)
        self.status, self.msgid, self.values = status, msgid, values


@dataclass(frozen=True)
class Choice:
    """What the page has selected: a preset or the user's own style, and the settings."""

    preset: str | None
    own_style: bytes | None
    strength: int
    brush: str
    keep_colors: bool

    @classmethod
    def parse(cls, body: dict[str, Any]) -> "Choice":
        """From the page's JSON; WebAppError(400) on anything malformed."""
        try:
            strength = int(body.get("strength", 100))
            brush = str(body.get("brush") or "bold")
            preset = body.get("preset")
            own = body.get("own_style")
            own_bytes = base64.b64decode(own, validate=True) if own else None
        except (TypeError, ValueError, binascii.Error) as exc:
            raise WebAppError(400, texts.WEBAPP_FAILED) from exc
        if (not 0 < strength <= 100 or brush not in BRUSHES
                or (preset is None) == (own_bytes is None)
                or (preset is not None and not isinstance(preset, str))
                or len(own_bytes or b"") > MAX_OWN_STYLE):
            raise WebAppError(400, texts.WEBAPP_FAILED)
        return cls(preset, own_bytes, strength, brush, bool(body.get("keep_colors")))


class MiniApp:
    """The Mini App's side of one Application (one per bot process)."""

    def __init__(self, application: Application) -> None:
        self.app = application
        self._photos: OrderedDict[tuple[int, str], tuple[float, Image.Image]] = OrderedDict()
        self._ranks = itertools.count(1)

    @classmethod
    def of(cls, application: Application) -> "MiniApp":
        services: Services = application.bot_data
        found = services.webapp
        if not isinstance(found, MiniApp):
            found = cls(application)
            services.webapp = found
        return found

    @property
    def svc(self) -> Services:
        return self.app.bot_data

    # -- the keyboard and the photo behind the page ---------------------------------------
    async def keyboard(self, user: WebAppUser, token: str) -> dict[str, Any]:
        """The painting keyboard the page was opened from, if this user owns it and it is
        still about a photo in the user's private chat; WebAppError(410) otherwise."""
        doc = await self.svc.state.keyboard(user.id, token)
        ctx = (doc or {}).get("ctx") or {}
        content = ctx.get("content") or {}
        if (doc is None or doc.get("chat") != user.id or "base" in ctx or not content
                or content.get("kind") == "clip"):
            self._photos.pop((user.id, token), None)
            raise WebAppError(410, texts.WEBAPP_EXPIRED)
        return doc

    async def photo(self, user: WebAppUser, token: str) -> Image.Image:
        """The user's photo, decoded small (downloaded on first use, then kept briefly)."""
        doc = await self.keyboard(user, token)
        key, now = (user.id, token), time.monotonic()
        for old in [k for k, (until, _) in self._photos.items() if until <= now]:
            del self._photos[old]   # nothing outlives PHOTO_MEMORY unused
        kept = self._photos.get(key)
        if kept is not None:
            self._photos[key] = (now + PHOTO_MEMORY, kept[1])
            self._photos.move_to_end(key)
            return kept[1]
        try:
            data = await download(self.app.bot, Subject.from_doc(doc["ctx"]).content)
            image = load_image(data, draft_side=PHOTO_SIDE, max_decoded=PHOTO_DECODE_PIXELS)
        except UserError as exc:
            raise WebAppError(410, exc.user_message, **exc.values) from exc
        except NstError as exc:
            raise WebAppError(410, texts.WEBAPP_EXPIRED) from exc
        image.thumbnail((PHOTO_SIDE, PHOTO_SIDE), Image.Resampling.LANCZOS)
        self._photos[key] = (now + PHOTO_MEMORY, image)
        while len(self._photos) > PHOTOS_KEPT:
            self._photos.popitem(last=False)
        return image

    def forget(self, user_id: int) -> None:
        """/forget: drop the user's decoded photos now (their tokens are gone already)."""
        for key in [k for k in self._photos if k[0] == user_id]:
            del self._photos[key]

    def photos_kept(self, user_id: int) -> int:
        return sum(1 for k in self._photos if k[0] == user_id)

    async def _count_action(self, user: WebAppUser) -> None:
        """Opening the page counts like a button press (BOT_ACTIONS_PER_MINUTE)."""
        wait = await self.svc.state.spend(user.id, ACTION_RATE, self.svc.config.actions_per_minute)
        if wait:
            raise WebAppError(429, texts.RATE_LIMITED_IN, seconds=wait)

    async def before(self, user: WebAppUser, token: str) -> bytes:
        """The photo as the preview's size, for the before/after wipe."""
        await self._count_action(user)
        image = await self.photo(user, token)
        small = image.copy()
        small.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
        return encode_image(small, "JPEG", quality=85)

    # -- what the page shows ----------------------------------------------------------------
    async def launch(self, user: WebAppUser, token: str) -> dict[str, Any]:
        """Strings in the user's language, the paintings and the brushes."""
        await self._count_action(user)
        await self.keyboard(user, token)
        t = Translator.for_code(user.language_code)
        strings = {name.removeprefix("WEBAPP_").lower(): t(getattr(texts, name))
                   for name in PAGE_STRINGS}
        presets = [{"id": p.id, "title": t.title(p.title), "artist": t.artist(p.artist),
                    "year": t.number(int(p.year)) if str(p.year).isdigit() else p.year}
                   for p in self.svc.presets()]
        brushes = [{"id": b, "name": t(texts.BRUSH_NAMES[b])} for b in BRUSHES]
        return {"lang": t.locale.replace("_", "-"), "dir": "rtl" if t.rtl else "ltr",
                "strings": strings, "presets": presets, "brushes": brushes}

    async def preview(self, user: WebAppUser, token: str, choice: Choice) -> bytes:
        """A small painting of the user's photo: rate-limited and painted in the fair queue,
        where a newer preview of the same user replaces a waiting one (WebAppError 409)."""
        svc = self.svc
        wait = await svc.state.spend(user.id, PREVIEW_RATE, svc.config.previews_per_minute)
        if wait:
            raise WebAppError(429, texts.RATE_LIMITED_IN, seconds=wait)
        try:
            slot = svc.queue.reserve(user.id, ("webapp", user.id), next(self._ranks))
        except Replaced as exc:
            raise WebAppError(409, texts.WEBAPP_PAINTING) from exc
        except UserError as exc:  # QueueFull: the user's sends are painting
            raise WebAppError(429, exc.user_message, **exc.values) from exc
        try:
            self._check_preset(choice)
            photo = await self.photo(user, token)
            ticket = svc.queue.submit(user.id, lambda: paint_preview(svc.engine, photo, choice),
                                      slot)
            return await ticket
        except Replaced as exc:
            raise WebAppError(409, texts.WEBAPP_PAINTING) from exc
        except NstError as exc:
            log.info("preview refused for user %s (%s)", user.id, exc.code)
            raise WebAppError(422, texts.STYLE_UNREADABLE) from exc
        finally:
            svc.queue.release(slot)

    def _check_preset(self, choice: Choice) -> None:
        if choice.preset is not None and choice.preset not in {p.id for p in self.svc.presets()}:
            raise WebAppError(400, texts.STYLE_GONE)

    # -- "send to chat" ------------------------------------------------------------------
    async def send(self, user: WebAppUser, token: str, choice: Choice, nonce: str) -> None:
        """The painting at full size into the private chat, through the usual render (rate
        limit, fair queue, caption, result keyboard). One nonce sends once, however often
        the page (or a retrying network) asks."""
        doc = await self.keyboard(user, token)
        self._check_preset(choice)  # refuse an unknown preset or unreadable style first
        if choice.own_style is not None:
            try:
                await asyncio.to_thread(load_image, choice.own_style, draft_side=OWN_STYLE_SIDE,
                                        max_decoded=STYLE_DECODE_PIXELS)
            except NstError as exc:
                too_big = exc.code == "too_big_to_open"
                raise WebAppError(422, texts.STYLE_TOO_BIG if too_big
                                  else texts.STYLE_UNREADABLE) from exc
        if not _NONCE_RE.match(nonce or ""):
            raise WebAppError(400, texts.WEBAPP_FAILED)
        if not await self.svc.state.claim_once(user.id, f"s{nonce}"):
            return  # this send is already done or under way
        context = BotContext(self.app, chat_id=user.id, user_id=user.id)
        context.t = Translator.for_code(user.language_code)
        subject = Subject.from_doc(doc["ctx"])
        if choice.preset is not None:
            render = Render.new(user.id, user.id, subject, preset=choice.preset)
        else:
            style = await self._post_style(context, doc, choice.own_style or b"")
            render = Render.new(user.id, user.id, subject, style_photo=style, origin="own")
        render = replace(render, strength=choice.strength, keep_colors=choice.keep_colors,
                         brush=choice.brush)
        await start_render(None, context, render)

    async def _post_style(self, context: BotContext, doc: dict[str, Any],
                          data: bytes) -> FileRef:
        """An own style lives in the chat like one sent there (the bot keeps file_ids, never
        bytes): post it, then paint with its file_id."""
        message = await with_retries(lambda: context.bot.send_photo(
            doc["chat"], photo=data, caption=context.t(texts.WEBAPP_STYLE_CAPTION),
            read_timeout=MEDIA_READ_TIMEOUT), what="sendPhoto")
        size = message.photo[-1]
        return FileRef(size.file_id, size.file_unique_id, "photo", size.file_size,
                       max(size.width, size.height))


PAGE_STRINGS = ("WEBAPP_TITLE", "WEBAPP_HINT", "WEBAPP_STRENGTH", "WEBAPP_BRUSH",
                "WEBAPP_KEEP_COLORS", "WEBAPP_OWN_STYLE", "WEBAPP_BEFORE", "WEBAPP_AFTER",
                "WEBAPP_SEND", "WEBAPP_PAINTING", "WEBAPP_SENT", "WEBAPP_EXPIRED",
                "WEBAPP_REFUSED", "WEBAPP_FAILED")


def paint_preview(engine: Any, photo: Image.Image, choice: Choice) -> bytes:
    """On a render thread: decode an own style, paint at the brush's preview size, shrink
    to PREVIEW_SIDE. NstError when the own style is no picture."""
    style = (choice.preset if choice.preset is not None
             else load_image(choice.own_style or b"", draft_side=OWN_STYLE_SIDE,
                             max_decoded=STYLE_DECODE_PIXELS))
    options = StyleOptions(strength=choice.strength / 100, keep_colors=choice.keep_colors,
                           max_side=PAINT_SIDE[choice.brush], brush=choice.brush)
    out = engine.stylize(photo, style, options)
    if max(out.size) > PREVIEW_SIDE:
        out.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE), Image.Resampling.LANCZOS)
    return encode_image(out, "JPEG", quality=85)
