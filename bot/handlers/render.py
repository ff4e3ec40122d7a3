"""From a render request to a painting in the chat.

A render doc (see bot/state.py) holds the inputs as Telegram file_ids and the
settings. `deliver` checks the limits, downloads the inputs, runs the engine on
the render queue (off the event loop) while showing "sending photo…" and the
place in line, then sends, edits or attaches the result.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from html import escape
from typing import Any, AsyncIterator, Literal

from telegram import InputMediaPhoto, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import keyboards, texts
from bot.handlers.common import Services, presets, say, services
from bot.jobs import Ticket
from bot.state import UserError
from bot.telegram_io import chat_action, download, reply_params, with_retries
from nst import StyleOptions, encode_image, load_image
from nst.errors import ImageError, ModelError, NstError
from nst.images import MIN_SIDE

log = logging.getLogger(__name__)

PREVIEW_SIDE = 1280   # what a chat shows well; Telegram downsizes photos anyway
HD_SIDE = 4096        # the ⬇ HD document
STYLE_DRAFT = 512     # the style network looks at 256 px: decode big style photos small
MIX_WEIGHT = 0.5

Mode = Literal["new", "edit", "hd"]


def new_render(user_id: int, chat_id: int, ctx: dict[str, Any], style: dict[str, Any],
               origin: str, **settings: Any) -> dict[str, Any]:
    """A render doc for a fresh result (strength 100 %, own colours off by default)."""
    return {"user": user_id, "chat": chat_id, "content": ctx["content"],
            "reply_to": ctx["reply_to"], "ask": ctx.get("ask", ctx["reply_to"]),
            "style": style, "mix": None, "strength": 100, "keep_colors": False,
            "origin": origin, **settings}


def nst_error_text(exc: NstError) -> str:
    """Our sentence for an engine refusal (its code says what was wrong)."""
    by_code = {
        "empty": texts.UNREADABLE, "corrupt": texts.UNREADABLE, "unreadable": texts.UNREADABLE,
        "not_image": texts.NOT_AN_IMAGE, "too_small": texts.TOO_SMALL.format(min_side=MIN_SIDE),
        "too_big": texts.TOO_MANY_PIXELS, "bad_ratio": texts.BAD_RATIO,
        "unsupported": texts.UNSUPPORTED, "style_not_found": texts.STYLE_GONE,
    }
    default = texts.UNREADABLE if isinstance(exc, ImageError) else texts.UNEXPECTED
    return by_code.get(exc.code, default)


def caption(render: dict[str, Any], all_presets: list[Any]) -> str:
    """Title, artist and year of the painting (or which photo was the style) + settings."""
    by_id = {p.id: p for p in all_presets}
    preset = by_id.get(render["style"].get("preset", ""))
    mix = by_id.get(render.get("mix") or "")
    if render["origin"] == "album":
        head = texts.CAPTION_ALBUM
    elif preset is None:
        head = texts.CAPTION_OWN_STYLE
    else:
        head = texts.CAPTION_PRESET.format(title=escape(preset.title),
                                           artist=escape(preset.artist), year=preset.year)
    if mix is not None:
        first = escape(preset.title) if preset else texts.OWN_STYLE_TITLE
        head = texts.CAPTION_MIX.format(title=first, mix_title=escape(mix.title))
    settings = texts.CAPTION_SETTINGS.format(
        pct=render["strength"],
        colors=texts.CAPTION_COLORS_KEPT if render["keep_colors"] else "")
    return f"{head}\n{settings}"


def _stylize(engine: Any, content: bytes, style: Any, render: dict[str, Any],
             max_side: int) -> tuple[bytes, tuple[int, int]]:
    """The CPU part, on a render thread: decode, paint, encode (no metadata kept)."""
    image = load_image(content, draft_side=max_side)
    style = load_style(style)
    options = StyleOptions(strength=render["strength"] / 100, keep_colors=render["keep_colors"],
                           max_side=max_side)
    out = engine.stylize(image, style, options, mix=render.get("mix"), mix_weight=MIX_WEIGHT)
    return encode_image(out, "JPEG"), out.size


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
async def place_in_line(context: ContextTypes.DEFAULT_TYPE, chat_id: int, ticket: Ticket,
                        reply_to: int | None) -> AsyncIterator[None]:
    """While the job waits, show "⏳ You're #N in line" and keep it current; delete it
    as soon as the job starts."""
    note: Message | None = None

    async def follow() -> None:
        nonlocal note
        shown = None
        while ticket.position > 0:
            ticket.changed.clear()
            if ticket.position != shown:
                shown = ticket.position
                text = texts.IN_LINE.format(position=shown)
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


async def _inputs(context: ContextTypes.DEFAULT_TYPE, render: dict[str, Any]
                  ) -> tuple[bytes, Any]:
    content = await download(context.bot, render["content"])
    style = render["style"]
    if "photo" in style:
        return content, await download(context.bot, style["photo"])
    return content, style["preset"]


async def deliver(update: Update, context: ContextTypes.DEFAULT_TYPE, render: dict[str, Any],
                  mode: Mode = "new") -> None:
    """Paint `render` and send it: a new reply, an edit of the result, or the HD file.

    Raises UserError with the sentence to show when something stops it.
    """
    if render["content"].get("kind") == "clip":  # GIFs and videos: bot/handlers/animations.py
        from bot.handlers.animations import deliver_clip

        await deliver_clip(update, context, render, mode)
        return
    svc = services(context)
    user_id, chat_id = render["user"], render["chat"]
    svc.queue.check(user_id)
    if not await svc.state.take_rate(user_id):
        raise UserError(texts.RATE_LIMITED)
    max_side = HD_SIDE if mode == "hd" else PREVIEW_SIDE
    async with chat_action(context.bot, chat_id):
        content, style = await _inputs(context, render)
        job = functools.partial(_stylize, svc.engine, content, style, render, max_side)
        ticket = svc.queue.submit(user_id, job)
        async with place_in_line(context, chat_id, ticket, render["ask"]):
            jpeg, size = await result_of(ticket, user_id)
        sent = await _send(context, svc, render, jpeg, size, mode)
    if sent:
        await mark_sent(update, context)


async def result_of(ticket: Ticket, user_id: int) -> Any:
    """What the render job returned; engine refusals become a UserError with our sentence."""
    try:
        return await ticket
    except UserError:
        raise
    except ModelError as exc:
        log.exception("model failed for user %s", user_id)
        raise UserError(texts.MODEL_FAILED) from exc
    except NstError as exc:
        log.exception("picture refused for user %s (%s)", user_id, exc.code)
        raise UserError(nst_error_text(exc)) from exc


async def mark_sent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The result is in the chat: a resent webhook update must not paint it again."""
    delivery = context.application.bot_data.get("delivery")
    if delivery is not None and update.update_id is not None:
        await delivery.mark_sent(update.update_id)


async def _send(context: ContextTypes.DEFAULT_TYPE, svc: Services, render: dict[str, Any],
                jpeg: bytes, size: tuple[int, int], mode: Mode) -> bool:
    """Put the painting in the chat; False when a newer edit made this one obsolete."""
    bot, chat_id, user_id = context.bot, render["chat"], render["user"]
    if mode == "hd":
        result = render.get("result") or {}
        await with_retries(lambda: bot.send_document(
            chat_id, document=jpeg, filename=f"painting-{size[0]}x{size[1]}.jpg",
            caption=texts.CAPTION_HD.format(width=size[0], height=size[1]),
            reply_parameters=reply_params(result.get("message_id") or render["reply_to"])),
            what="sendDocument")
        return True
    if mode == "edit":
        current = await svc.state.render(user_id, render["rid"])
        if current is None or int(current.get("version", 1)) > int(render["version"]):
            return False  # a newer tap is being painted and will edit the message
    result_id = render.get("result_id") or svc.state.new_result_id()
    rows = keyboards.result_rows(render["strength"], render["keep_colors"], result_id)
    token = await svc.state.issue(chat_id, user_id, {"rid": render["rid"]},
                                  keyboards.actions(rows))
    markup = keyboards.markup(rows, token)
    text = caption(render, presets(context))
    message = None
    if mode == "edit" and render.get("result"):
        try:
            message = await with_retries(lambda: bot.edit_message_media(
                media=InputMediaPhoto(jpeg, caption=text, parse_mode="HTML"),
                chat_id=chat_id, message_id=render["result"]["message_id"],
                reply_markup=markup), what="editMessageMedia")
        except BadRequest as exc:  # deleted, too old…: a new reply is just as good
            log.warning("editMessageMedia refused (%s); sending a new result", exc)
    if not isinstance(message, Message):
        message = await with_retries(lambda: bot.send_photo(
            chat_id, photo=jpeg, caption=text, parse_mode="HTML",
            reply_parameters=reply_params(render["reply_to"]), reply_markup=markup),
            what="sendPhoto")
    file_id = message.photo[-1].file_id
    await svc.state.record_delivery(user_id, render["rid"], int(render["version"]),
                                    {"message_id": message.message_id, "file_id": file_id,
                                     "result_id": result_id})
    await svc.state.save_result(user_id, result_id, {"file_id": file_id, "caption": text,
                                                     "rid": render["rid"]})
    return True


async def start_render(update: Update, context: ContextTypes.DEFAULT_TYPE,
                       render: dict[str, Any]) -> None:
    """Save a new render and deliver it as a reply; problems become one sentence."""
    svc = services(context)
    rid = await svc.state.save_render(render["user"], render)
    await run_safely(update, context, {**render, "rid": rid, "version": 1}, "new")


async def run_safely(update: Update, context: ContextTypes.DEFAULT_TYPE,
                     render: dict[str, Any], mode: Mode) -> None:
    """deliver(), telling the user in one sentence when it cannot be done."""
    try:
        await deliver(update, context, render, mode)
    except UserError as exc:
        log.info("user %s: refused (%s)", render["user"], type(exc.__cause__ or exc).__name__)
        await say(context, render["chat"], exc.user_message, render["ask"])
    except TelegramError:
        log.exception("Telegram refused the result for user %s", render["user"])
        await say(context, render["chat"], texts.TELEGRAM_FAILED, render["ask"])
