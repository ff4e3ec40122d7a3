"""GIFs, animations, short videos and round videos: painted like photos, sent back as a
looping animation.

The flow is the photo flow (painting keyboard, presets, own style, strength,
keep-colours, mix; render docs in bot/state.py, delivery in bot/handlers/render.py);
only the painting differs: the clip is scanned, queued at its cost, painted frame by
frame on a render thread while a "frames done / total" message is kept current, and
sent with sendAnimation.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any, AsyncIterator

from telegram import Message, Update
from telegram.error import TelegramError
from telegram.ext import filters

from bot import clips, texts
from bot.context import BotContext
from bot.handlers import photos
from bot.handlers.common import new_content, say
from bot.handlers.render import Mode, Painting, mix_weight, place_in_line, result_of
from bot.jobs import Slot, Ticket
from bot.state import UserError
from bot.telegram_io import MAX_DOWNLOAD, download, running

log = logging.getLogger(__name__)

#: Messages that are clips (an animation also carries a document: this comes first).
CLIP_FILTER = (filters.ANIMATION | filters.VIDEO | filters.VIDEO_NOTE
               | filters.Document.MimeType("image/gif") | filters.Document.VIDEO
               | filters.Document.FileExtension("gif"))
PROGRESS_EVERY = 2.0   # seconds between edits of the progress message (not every frame)


async def on_clip(update: Update, context: BotContext) -> None:
    """A GIF, an animation, a short video or a round video gets the painting keyboard,
    like a photo (in groups: captioned /stylize, or a reply to me); a clip I can't paint
    is refused at once, before any keyboard. A GIF *file* sent while I wait for a style
    is that style, as a picture would be."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    if not photos.addressed(update, context):
        return
    ref = clips.clip_ref(message)
    if ref is None:  # e.g. a video file of a kind the filter let through
        await say(context, chat.id, context.t(texts.SEND_A_PHOTO), message.message_id)
        return
    if ref["gif_file"]:
        session = await context.bot_data.state.session(chat.id, user.id)
        if photos.is_style(session, ref, update, context):
            await photos.on_image(update, context)
            return
    if (ref.get("file_size") or 0) > MAX_DOWNLOAD:
        await say(context, chat.id, context.t(texts.TOO_BIG), message.message_id)
        return
    problem = await check_clip(context, ref)
    if problem is not None:
        await say(context, chat.id, context.t(problem.user_message, **problem.values),
                  message.message_id)
        return
    await new_content(context, chat_id=chat.id, user_id=user.id, ref=ref,
                      reply_to=message.message_id, ask_id=message.message_id)


async def check_clip(context: BotContext, ref: dict[str, Any]) -> UserError | None:
    """Download and scan now (the scan decodes only the first frame), so a clip I can't
    paint is refused before any keyboard is shown; None when it is fine. A GIF file that
    FFmpeg can't read, or of one frame, is painted as a picture: it is checked as one."""
    clip = None
    try:
        data = await download(context.bot, ref)
        clip = await context.bot_data.arrivals.run(clips.scan, data)
    except UserError as exc:
        if not ref.get("gif_file"):
            return exc
    if ref.get("gif_file") and (clip is None or clip.info.still):
        return await photos.check_image(context, {**ref, "kind": "document"})
    return None


async def paint_clip(context: BotContext, render: dict[str, Any], content: bytes, style: Any,
                     slot: Slot, mode: Mode) -> Painting | None:
    """Paint the clip of `render` in its queue `slot`, at the clip's cost, showing the
    frames done; None for a one-frame GIF, which render.deliver paints as a picture.
    Raises UserError with the sentence to show when something stops it."""
    svc, user_id, chat_id = context.bot_data, render["user"], render["chat"]
    try:
        clip = await context.bot_data.arrivals.run(clips.scan, content)
        if clip.info.still and content[:4] == b"GIF8":
            return None
    except UserError:
        if not render["content"].get("gif_file"):
            raise
        return None  # FFmpeg can't read it; the picture decoder may (or says why)
    if mode == "hd":
        raise UserError(texts.CLIP_NO_HD)
    counter = clips.FrameCounter()
    job = functools.partial(clips.paint_clip, svc.engine, clip, style, render, counter,
                            mix_weight(render))
    ticket = svc.queue.submit(user_id, job, slot, cost=clips.cost(clip.info))
    async with place_in_line(context, chat_id, ticket, render["ask"]), \
            frames_progress(context, chat_id, render["ask"], ticket, counter):
        return await result_of(ticket, render)


@contextlib.asynccontextmanager
async def frames_progress(context: BotContext, chat_id: int, reply_to: int,
                          ticket: Ticket, counter: clips.FrameCounter) -> AsyncIterator[None]:
    """While the clip is painted, "🎞 12/75 frames", edited every PROGRESS_EVERY seconds
    (a short clip that is done before that gets no message at all); deleted at the end."""
    note: Message | None = None

    async def follow() -> None:
        nonlocal note
        shown = None
        while True:
            await asyncio.sleep(PROGRESS_EVERY)
            if ticket.position != 0 or not counter.total:
                continue  # still in line (place_in_line shows that) or scanning
            text = context.t(texts.CLIP_PROGRESS, done=counter.done, total=counter.total)
            if text == shown:
                continue
            shown = text
            if note is None:
                note = await say(context, chat_id, text, reply_to)
            else:
                with contextlib.suppress(TelegramError):
                    await note.edit_text(text)

    try:
        async with running(follow()):
            yield
    finally:
        if note is not None:
            with contextlib.suppress(TelegramError):
                await note.delete()
