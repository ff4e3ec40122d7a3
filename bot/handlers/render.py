"""From a render request to a painting in the chat.

A render doc (see bot/state.py) holds the inputs as Telegram file_ids and the
settings. `deliver` checks the limits, downloads the inputs, runs the engine on
the render queue (off the event loop) while showing "sending photo…" and the
place in line, then sends, edits or attaches the result. A clip is painted by
bot/handlers/animations.py in the same queue slot and sent here as an animation.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from dataclasses import dataclass
from html import escape
from typing import Any, AsyncIterator, Literal

from telegram import InputMediaAnimation, InputMediaPhoto, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from bot import keyboards, texts
from bot.context import BotContext, Services
from bot.handlers.common import say
from bot.i18n import ENGLISH, Translator
from bot.jobs import Replaced, Ticket
from bot.state import UserError
from bot.telegram_io import (
    MEDIA_READ_TIMEOUT,
    ProbablyDelivered,
    chat_action,
    download,
    reply_params,
    with_retries,
)
from nst import StyleOptions, encode_image, load_image
from nst.errors import ImageError, ModelError, NstError
from nst.images import MIN_SIDE

log = logging.getLogger(__name__)

PREVIEW_SIDE = 1280   # what a chat shows well; Telegram downsizes photos anyway
HD_SIDE = 4096        # the ⬇ HD document
STYLE_DRAFT = 512     # the style network looks at 256 px: decode big style photos small

Mode = Literal["new", "edit", "hd"]


def new_render(user_id: int, chat_id: int, ctx: dict[str, Any], style: dict[str, Any],
               origin: str, **settings: Any) -> dict[str, Any]:
    """A render doc for a fresh result (strength 100 %, own colours off by default)."""
    return {"user": user_id, "chat": chat_id, "content": ctx["content"],
            "reply_to": ctx["reply_to"], "ask": ctx.get("ask", ctx["reply_to"]),
            "style": style, "mix": None, "strength": 100, "keep_colors": False,
            "origin": origin, **settings}


def nst_error_text(exc: NstError, t: Translator = ENGLISH, *, document: bool = False) -> str:
    """Our sentence for an engine refusal, in the user's language."""
    refusal = nst_refusal(exc, document=document)
    return t(refusal.user_message, **refusal.values)


def nst_refusal(exc: NstError, *, document: bool = False) -> UserError:
    """The UserError for an engine refusal (its code says what was wrong); an unreadable
    file is told it may go better as a photo, an unreadable photo is not."""
    unreadable = texts.UNREADABLE_FILE if document else texts.UNREADABLE
    by_code = {
        "empty": unreadable, "corrupt": unreadable, "unreadable": unreadable,
        "not_image": texts.NOT_AN_IMAGE, "too_small": texts.TOO_SMALL,
        "too_big": texts.TOO_MANY_PIXELS, "bad_ratio": texts.BAD_RATIO,
        "unsupported": texts.UNSUPPORTED, "style_not_found": texts.STYLE_GONE,
    }
    default = unreadable if isinstance(exc, ImageError) else texts.UNEXPECTED
    msgid = by_code.get(exc.code, default)
    return UserError(msgid, min_side=MIN_SIDE) if msgid == texts.TOO_SMALL else UserError(msgid)


def _style_line(render: dict[str, Any], all_presets: list[Any], t: Translator, *,
                shared: bool = False) -> str:
    """Which painting(s) — or which photo — gave the style. `shared`: nothing personal."""
    by_id = {p.id: p for p in all_presets}
    preset = by_id.get(render["style"].get("preset", ""))
    mix = by_id.get(render.get("mix") or "")
    if preset is None and (shared or mix is None):
        if shared:
            return t(texts.SHARED_OWN_STYLE)
        return t(texts.CAPTION_ALBUM if render["origin"] == "album" else texts.CAPTION_OWN_STYLE)
    if mix is not None:
        first = escape(preset.title) if preset else escape(t(texts.OWN_STYLE_TITLE))
        return t(texts.CAPTION_MIX, title=first, mix_title=escape(mix.title))
    return t(texts.CAPTION_PRESET, title=escape(preset.title), artist=escape(preset.artist),
             year=preset.year)


def caption(render: dict[str, Any], all_presets: list[Any], t: Translator = ENGLISH) -> str:
    """Title, artist and year of the painting (or which photo was the style) + settings."""
    lines = [_style_line(render, all_presets, t)]
    settings = texts.CAPTION_SETTINGS_COLORS if render["keep_colors"] else texts.CAPTION_SETTINGS
    line = t(settings, pct=render["strength"])
    if render.get("mix"):
        share = int(render.get("mix_share", 50))
        line += " · " + t(texts.CAPTION_MIX_WEIGHTS, first=100 - share, second=share)
    if render.get("brush_used"):
        line += " · " + t(texts.CAPTION_BRUSH, brush=t(texts.BRUSH_NAMES[render["brush_used"]]))
    return "\n".join([*lines, line])


def shared_caption(render: dict[str, Any], all_presets: list[Any], t: Translator,
                   bot_username: str) -> str:
    """The caption of a result shared through inline mode: the painting and the bot."""
    return "\n".join([_style_line(render, all_presets, t, shared=True),
                      t(texts.SHARED_BY, bot=f"@{bot_username}")])


@dataclass(frozen=True)
class Painting:
    """What a render job made: a JPEG, or for a clip an MP4 (`duration` set)."""
    data: bytes
    size: tuple[int, int]
    duration: float | None = None
    cut_at: float | None = None     # a clip painted only up to this many seconds


def _stylize(engine: Any, content: bytes, style: Any, render: dict[str, Any],
             max_side: int) -> Painting:
    """The CPU part, on a render thread: decode, paint, encode (no metadata kept)."""
    image = load_image(content, draft_side=max_side)
    style = load_style(style)
    options = StyleOptions(strength=render["strength"] / 100, keep_colors=render["keep_colors"],
                           max_side=max_side, brush=render.get("brush"))
    out = engine.stylize(image, style, options, mix=render.get("mix"),
                         mix_weight=mix_weight(render))
    return Painting(encode_image(out, "JPEG"), out.size)


def mix_weight(render: dict[str, Any]) -> float:
    """How much of the second painting a mix takes (its 25/50/75 buttons)."""
    return int(render.get("mix_share", 50)) / 100


def load_style(style: Any) -> Any:
    """A preset id as it is; a style photo's bytes decoded (small: the network looks at
    256 px). UserError when the style photo cannot be read."""
    if not isinstance(style, bytes):
        return style
    try:
        return load_image(style, draft_side=STYLE_DRAFT)
    except ImageError as exc:
        raise UserError(texts.STYLE_UNREADABLE) from exc


@contextlib.asynccontextmanager
async def place_in_line(context: BotContext, chat_id: int, ticket: Ticket,
                        reply_to: int | None) -> AsyncIterator[None]:
    """While the job waits, show "⏳ You're #N in line" and keep it current; delete it
    as soon as the job starts."""
    note: Message | None = None

    async def follow() -> None:
        nonlocal note
        shown = None
        while ticket.position > 0:
            ticket.changed.clear()
            if _worth_showing(ticket.position, shown):
                shown = ticket.position
                text = context.t(texts.IN_LINE, position=shown)
                if note is None:
                    note = await say(context, chat_id, text, reply_to)
                else:
                    with contextlib.suppress(TelegramError):
                        await note.edit_text(text)
                continue
            await ticket.changed.wait()
        await remove()

    async def remove() -> None:
        nonlocal note
        if note is not None:
            gone, note = note, None
            with contextlib.suppress(TelegramError):
                await gone.delete()

    task = asyncio.create_task(follow()) if ticket.position > 0 else None
    try:
        yield
    finally:
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await remove()


def _worth_showing(position: int, shown: int | None) -> bool:
    """Edit a waiting note only at a few milestones (first shown, halved, the last three
    places): editing every note on every move of the queue costs O(N²) edits, and
    Telegram answers that with 429s."""
    if shown is None:
        return True
    return position != shown and (position <= 3 or position <= shown // 2)


async def fetch_inputs(context: BotContext, render: dict[str, Any]) -> tuple[bytes, Any]:
    """The content's bytes, and the style: a preset id or the style photo's bytes."""
    content = await download(context.bot, render["content"])
    style = render["style"]
    if "photo" in style:
        return content, await download(context.bot, style["photo"])
    return content, style["preset"]


async def deliver(update: Update | None, context: BotContext, render: dict[str, Any],
                  mode: Mode = "new") -> None:
    """Paint `render` and send it: a new reply, an edit of the result, or the HD file.
    `update` is None for a Mini App send (no webhook update waits on it).
    A clip (GIF, video) is painted by bot/handlers/animations.py and comes back as an
    animation; a one-frame GIF is painted as a picture.

    Raises UserError with the sentence to show when something stops it.
    """
    svc = context.bot_data
    user_id, chat_id = render["user"], render["chat"]
    started = time.time()
    # A result's next version (strength, colours, HD) replaces its waiting previous one.
    key = (user_id, render.get("rid"), mode) if mode != "new" else None
    try:
        slot = svc.queue.reserve(user_id, key, int(render.get("version", 1)))
    except Replaced:
        return  # a newer press for this result is already in line
    try:
        wait = await svc.state.take_rate(user_id)
        if wait:
            raise UserError(texts.RATE_LIMITED_IN, seconds=wait)
        clip = render["content"].get("kind") == "clip"
        action = ChatAction.UPLOAD_VIDEO if clip else ChatAction.UPLOAD_PHOTO
        async with chat_action(context.bot, chat_id, action):
            content, style = await fetch_inputs(context, render)
            painting = None
            if clip:
                # imported here: animations builds on this module (place_in_line, result_of)
                from bot.handlers.animations import paint_clip

                painting = await paint_clip(context, render, content, style, slot, mode)
                if painting is None:  # one frame: a picture after all
                    render = {**render, "content": {**render["content"], "kind": "document"}}
            if painting is None:
                max_side = HD_SIDE if mode == "hd" else PREVIEW_SIDE
                job = functools.partial(_stylize, svc.engine, content, style, render, max_side)
                ticket = svc.queue.submit(user_id, job, slot)
                async with place_in_line(context, chat_id, ticket, render["ask"]):
                    painting = await result_of(ticket, render)
            try:
                sent = await _send(context, svc, render, painting, mode, started)
            except ProbablyDelivered:
                sent = True  # logged; its message id is unknown, so no buttons are recorded
    except Replaced:
        log.info("user %s: a newer press replaced this render", user_id)
        await svc.state.refund_rate(user_id)
        return
    finally:
        svc.queue.release(slot)
    if sent and svc.delivery is not None and update is not None:
        await svc.delivery.mark_sent(update.update_id)


async def result_of(ticket: Ticket, render: dict[str, Any]) -> Any:
    """What the render job returned; engine refusals become a UserError with our sentence."""
    user_id = render["user"]
    try:
        return await ticket
    except UserError:
        raise
    except ModelError as exc:
        log.exception("model failed for user %s", user_id)
        raise UserError(texts.MODEL_FAILED) from exc
    except NstError as exc:
        log.exception("picture refused for user %s (%s)", user_id, exc.code)
        document = render["content"].get("kind") == "document"
        raise nst_refusal(exc, document=document) from exc


async def _send(context: BotContext, svc: Services, render: dict[str, Any],
                painting: Painting, mode: Mode, started: float) -> bool:
    """Put the painting in the chat; False when a newer edit made this one obsolete.
    A /forget that came after `started` takes back what this delivery stored."""
    bot, chat_id, user_id, t = context.bot, render["chat"], render["user"], context.t
    (width, height), clip = painting.size, painting.duration is not None
    if mode == "hd":
        result = render.get("result") or {}
        await with_retries(lambda: bot.send_document(
            chat_id, document=painting.data, filename=f"painting-{width}x{height}.jpg",
            caption=t(texts.CAPTION_HD, width=width, height=height),
            reply_parameters=reply_params(result.get("message_id") or render["reply_to"]),
            read_timeout=MEDIA_READ_TIMEOUT), what="sendDocument")
        return True
    if mode == "edit":
        current = await svc.state.render(user_id, render["rid"])
        if current is None or int(current.get("version", 1)) > int(render["version"]):
            return False  # a newer tap is being painted and will edit the message
    result_id = render.get("result_id") or svc.state.new_result_id()
    mix_share = int(render.get("mix_share", 50)) if render.get("mix") else None
    # A clip's frames are painted at their own (small) size: no brush to offer.
    render = {**render, "brush_used": None if clip else brush_of(svc.engine, render)}
    rows = keyboards.result_rows(t, render["strength"], render["keep_colors"], result_id,
                                 mix_share, render["brush_used"], hd=not clip)
    token = await svc.state.issue(chat_id, user_id, {"rid": render["rid"]},
                                  keyboards.actions(rows))
    markup = keyboards.markup(rows, token)
    all_presets = svc.presets()
    text = caption(render, all_presets, t)
    if painting.cut_at is not None:
        text += "\n" + t(texts.CLIP_CUT, seconds=f"{painting.cut_at:g}")
    message = await _post(context, render, painting, mode, text, markup)
    media = message.animation or message.document if clip else message.photo[-1]
    await svc.state.record_delivery(user_id, render["rid"], int(render["version"]),
                                    {"message_id": message.message_id,
                                     "file_id": media.file_id, "result_id": result_id})
    preset = {p.id: p for p in all_presets}.get(render["style"].get("preset", ""))
    shared = shared_caption(render, all_presets, t, bot.username)
    await svc.state.save_result(user_id, result_id, {
        "file_id": media.file_id, "caption": shared, "rid": render["rid"],
        "kind": "animation" if clip else "photo",
        "title": preset.title if preset and not render.get("mix") else None})
    if await svc.state.forgotten_since(user_id, started):
        log.info("user %s: said /forget during the render; keeping nothing of it", user_id)
        await svc.state.revoke(token)
        await svc.state.drop_result(user_id, result_id)
    return True


def brush_of(engine: Any, render: dict[str, Any]) -> str:
    """The brush a render paints with: its own, else the painting's default."""
    return render.get("brush") or engine.default_brush(render["style"].get("preset") or "")
async def _post(context: BotContext, render: dict[str, Any], painting: Painting, mode: Mode,
                text: str, markup: Any) -> Message:
    """Edit the result in place (mode "edit") or send a new reply: a photo, or for a clip
    a looping animation."""
    bot, chat_id = context.bot, render["chat"]
    (width, height), data = painting.size, painting.data
    if painting.duration is None:
        media = InputMediaPhoto(data, caption=text)
        what, send = "sendPhoto", functools.partial(bot.send_photo, chat_id, photo=data)
    else:
        seconds = max(1, round(painting.duration))
        media = InputMediaAnimation(data, caption=text, width=width, height=height,
                                    duration=seconds)
        what, send = "sendAnimation", functools.partial(
            bot.send_animation, chat_id, animation=data, filename="painting.mp4",
            width=width, height=height, duration=seconds)
    if mode == "edit" and render.get("result"):
        try:
            message = await with_retries(lambda: bot.edit_message_media(
                media=media, chat_id=chat_id, message_id=render["result"]["message_id"],
                reply_markup=markup, read_timeout=MEDIA_READ_TIMEOUT), what="editMessageMedia")
            if isinstance(message, Message):
                return message
        except BadRequest as exc:  # deleted, too old…: a new reply is just as good
            log.warning("editMessageMedia refused (%s); sending a new result", exc)
    return await with_retries(lambda: send(
        caption=text, reply_parameters=reply_params(render["reply_to"]), reply_markup=markup,
        read_timeout=MEDIA_READ_TIMEOUT), what=what)


async def start_render(update: Update | None, context: BotContext, render: dict[str, Any]) -> None:
    """Save a new render and deliver it as a reply; problems become one sentence."""
    rid = await context.bot_data.state.save_render(render["user"], render)
    await run_safely(update, context, {**render, "rid": rid, "version": 1}, "new")


async def run_safely(update: Update | None, context: BotContext, render: dict[str, Any],
                     mode: Mode) -> None:
    """deliver(), telling the user in one sentence when it cannot be done."""
    try:
        await deliver(update, context, render, mode)
    except UserError as exc:
        log.info("user %s: refused (%s)", render["user"], type(exc.__cause__ or exc).__name__)
        await say(context, render["chat"], context.t(exc.user_message, **exc.values),
                  render["ask"])
    except TelegramError:
        log.exception("Telegram refused the result for user %s", render["user"])
        await say(context, render["chat"], context.t(texts.TELEGRAM_FAILED), render["ask"])
