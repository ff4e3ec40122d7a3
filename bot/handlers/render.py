"""From a render to a painting in the chat.

`deliver` takes the result's place in the fair queue, checks the rate limit, downloads
the inputs (Telegram file_ids in the Render), has bot/painting.py paint them on a
render thread — a photo, or a clip frame by frame at its cost — while the chat shows
"sending photo…" and the place in line, then hands the painting to
bot/handlers/send.py. Whatever stops it reaches the user as one sentence.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import replace

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot import painting, texts
from bot.context import BotContext, Services
from bot.errors import UserError, picture_refusal
from bot.handlers.common import say
from bot.handlers.progress import frames_progress, place_in_line
from bot.handlers.send import Mode, send_painting
from bot.jobs import Replaced, Slot, Ticket
from bot.painting import HD_SIDE, PREVIEW_SIDE, Painting
from bot.records import Render
from bot.telegram_io import ProbablyDelivered, chat_action, download
from nst.errors import ModelError, NstError

log = logging.getLogger(__name__)


async def start_render(update: Update | None, context: BotContext, render: Render) -> None:
    """Save a new render and deliver it as a reply; problems become one sentence."""
    saved = await context.bot_data.state.save_render(render, since=context.arrived)
    await run_safely(update, context, saved, "new")


async def run_safely(update: Update | None, context: BotContext, render: Render,
                     mode: Mode) -> None:
    """deliver(), telling the user in one sentence when it cannot be done."""
    try:
        await deliver(update, context, render, mode)
    except UserError as exc:
        log.info("user %s: refused (%s)", render.user, type(exc.__cause__ or exc).__name__)
        await say(context, render.chat, context.t(exc.user_message, **exc.values), render.ask)
    except TelegramError:
        log.exception("Telegram refused the result for user %s", render.user)
        await say(context, render.chat, context.t(texts.TELEGRAM_FAILED), render.ask)


async def deliver(update: Update | None, context: BotContext, render: Render,
                  mode: Mode = "new") -> None:
    """Paint `render` and send it: a new reply, an edit of the result, or the HD file.
    A clip comes back as an animation; a one-frame GIF is painted as a picture.
    `update` is None for a Mini App send (no webhook update waits on it).

    Raises UserError with the sentence to show when something stops it.
    """
    svc = context.bot_data
    started = context.arrived   # the update's arrival: before save_render wrote anything
    # A result's next version (strength, colours, HD) replaces its waiting previous one.
    key = (render.user, render.rid, mode) if mode != "new" else None
    try:
        slot = svc.queue.reserve(render.user, key, render.version)
    except Replaced:
        return  # a newer press for this result is already in line
    try:
        wait = await svc.state.take_rate(render.user)
        if wait:
            raise UserError(texts.RATE_LIMITED_IN, seconds=wait)
        action = ChatAction.UPLOAD_VIDEO if render.is_clip else ChatAction.UPLOAD_PHOTO
        async with chat_action(context.bot, render.chat, action):
            content = await download(context.bot, render.content)
            style = (await download(context.bot, render.style_photo)
                     if render.style_photo is not None else render.preset or "")
            result = None
            if render.is_clip:
                result = await _paint_clip(context, render, content, style, slot, mode)
                if result is None:  # one frame: a picture after all
                    render = replace(render, subject=replace(
                        render.subject, content=render.content.as_picture()))
            if result is None:
                max_side = HD_SIDE if mode == "hd" else PREVIEW_SIDE
                job = functools.partial(painting.paint_photo, svc.engine, content, style,
                                        render, max_side)
                ticket = svc.queue.submit(render.user, job, slot)
                async with place_in_line(context, render.chat, ticket, render.ask):
                    result = await result_of(ticket, render)
            if not await _still_ours(svc, update):
                return  # another instance took this update over and sends its own result
            try:
                sent = await send_painting(context, render, result, mode, started)
            except ProbablyDelivered:
                sent = True  # logged; its message id is unknown, so no buttons are recorded
    except Replaced:
        log.info("user %s: a newer press replaced this render", render.user)
        await svc.state.refund_rate(render.user)
        return
    finally:
        svc.queue.release(slot)
    if sent and svc.delivery is not None and update is not None:
        await svc.delivery.mark_sent(update.update_id)


async def _still_ours(svc: Services, update: Update | None) -> bool:
    """False when the webhook ledger says this update's claim was taken over meanwhile (a
    Mini App send has no update: nobody else can send it)."""
    if svc.delivery is None or update is None:
        return True
    if await svc.delivery.still_ours(update.update_id):
        return True
    log.warning("update %s: claim lost before sending; the new owner sends", update.update_id)
    return False


async def _paint_clip(context: BotContext, render: Render, content: bytes, style: bytes | str,
                      slot: Slot, mode: Mode) -> Painting | None:
    """Paint the clip in its queue `slot`, at the clip's cost, showing the frames done;
    None for a one-frame GIF (or one FFmpeg can't read), painted as a picture instead."""
    svc = context.bot_data
    try:
        clip = await context.bot_data.arrivals.run(painting.scan, content)
        if clip.info.still and content[:4] == b"GIF8":
            return None
    except UserError:
        if not render.content.gif_file:
            raise
        return None  # the picture decoder may read it (or says why)
    if mode == "hd":
        raise UserError(texts.CLIP_NO_HD)
    counter = painting.FrameCounter()
    job = functools.partial(painting.paint_clip, svc.engine, clip, style, render, counter)
    ticket = svc.queue.submit(render.user, job, slot, cost=painting.cost(clip.info))
    async with place_in_line(context, render.chat, ticket, render.ask), \
            frames_progress(context, render.chat, render.ask, ticket, counter):
        return await result_of(ticket, render)


async def result_of(ticket: Ticket, render: Render) -> Painting:
    """What the render job returned; engine refusals become a UserError with our sentence."""
    try:
        result: Painting = await ticket
        return result
    except UserError:
        raise
    except ModelError as exc:
        log.exception("model failed for user %s", render.user)
        raise UserError(texts.MODEL_FAILED) from exc
    except NstError as exc:
        log.exception("picture refused for user %s (%s)", render.user, exc.code)
        raise picture_refusal(exc, document=render.content.kind == "document") from exc
