"""GIFs, animations, short videos and round videos: painted like photos, sent back as a
looping animation.

The flow is the photo flow (painting keyboard, presets, own style, strength,
keep-colours; render docs in bot/state.py); only the delivery differs: the clip is
scanned, queued at its cost, painted frame by frame on a render thread while a
"frames done / total" message is kept current, and sent with sendAnimation.
"""
from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from typing import Any, AsyncIterator

from telegram import InputMediaAnimation, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes, filters

from bot import clips, keyboards, texts
from bot.handlers import photos, render as photo_render
from bot.handlers.common import Services, is_private, new_content, presets, say, services
from bot.jobs import Ticket
from bot.state import UserError
from bot.telegram_io import MAX_DOWNLOAD, chat_action, reply_params, running, with_retries

log = logging.getLogger(__name__)

#: Messages that are clips (an animation also carries a document: this comes first).
CLIP_FILTER = (filters.ANIMATION | filters.VIDEO | filters.VIDEO_NOTE
               | filters.Document.MimeType("image/gif") | filters.Document.VIDEO
               | filters.Document.FileExtension("gif"))
PROGRESS_EVERY = 2.0   # seconds between edits of the progress message (not every frame)


async def on_clip(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A GIF, an animation, a short video or a round video gets the painting keyboard,
    like a photo (in groups: captioned /stylize, or a reply to me). A GIF *file* sent
    while I wait for a style is that style, as a picture would be."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or chat is None or user is None:
        return
    ref = clips.clip_ref(message)
    reply = message.reply_to_message
    to_me = bool(reply and reply.from_user and reply.from_user.id == context.bot.id)
    if not (is_private(update) or photos.wants_stylize(message.caption) or to_me):
        return
    if ref is None:  # e.g. a video file of a kind the filter let through
        await say(context, chat.id, texts.SEND_A_PHOTO, message.message_id)
        return
    if ref["gif_file"]:
        session = await services(context).state.session(chat.id, user.id)
        if photos._is_style(session, ref, update, context):
            await photos.on_image(update, context)
            return
    if (ref.get("file_size") or 0) > MAX_DOWNLOAD:
        await say(context, chat.id, texts.TOO_BIG, message.message_id)
        return
    await new_content(context, chat_id=chat.id, user_id=user.id, ref=ref,
                      reply_to=message.message_id, ask_id=message.message_id)


async def deliver_clip(update: Update, context: ContextTypes.DEFAULT_TYPE,
                       render: dict[str, Any], mode: photo_render.Mode) -> None:
    """Paint the clip of `render` and send it (new reply or edit), like a photo result.

    A one-frame GIF is a photo and takes the photo path.  Raises UserError with the
    sentence to show when something stops it.
    """
    svc = services(context)
    user_id, chat_id = render["user"], render["chat"]
    svc.queue.check(user_id)
    async with chat_action(context.bot, chat_id, ChatAction.UPLOAD_VIDEO):
        content, style = await photo_render._inputs(context, render)
        try:
            clip = await asyncio.to_thread(clips.scan, content)
            still = clip.info.still and content[:4] == b"GIF8"
        except UserError:
            if not render["content"].get("gif_file"):
                raise
            still = True  # FFmpeg can't read it; the picture decoder may (or says why)
        if still:
            as_photo = {**render, "content": {**render["content"], "kind": "document"}}
            await photo_render.deliver(update, context, as_photo, mode)
            return
        if mode == "hd":
            raise UserError(texts.CLIP_NO_HD)
        if not await svc.state.take_rate(user_id):
            raise UserError(texts.RATE_LIMITED)
        counter = clips.FrameCounter()
        job = functools.partial(clips.paint_clip, svc.engine, clip, style, render, counter,
                                photo_render.MIX_WEIGHT)
        ticket = svc.queue.submit(user_id, job, cost=clips.cost(clip.info))
        async with photo_render.place_in_line(context, chat_id, ticket, render["ask"]), \
                frames_progress(context, chat_id, render["ask"], ticket, counter):
            painted = await photo_render.result_of(ticket, user_id)
        sent = await _send(context, svc, render, painted, mode)
    if sent:
        await photo_render.mark_sent(update, context)


@contextlib.asynccontextmanager
async def frames_progress(context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply_to: int,
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
            text = texts.CLIP_PROGRESS.format(done=counter.done, total=counter.total)
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


async def _send(context: ContextTypes.DEFAULT_TYPE, svc: Services, render: dict[str, Any],
                painted: clips.PaintedClip, mode: photo_render.Mode) -> bool:
    """Put the painted clip in the chat; False when a newer edit made this one obsolete."""
    bot, chat_id, user_id = context.bot, render["chat"], render["user"]
    if mode == "edit":
        current = await svc.state.render(user_id, render["rid"])
        if current is None or int(current.get("version", 1)) > int(render["version"]):
            return False  # a newer tap is being painted and will edit the message
    result_id = render.get("result_id") or svc.state.new_result_id()
    rows = keyboards.result_rows(render["strength"], render["keep_colors"], result_id, hd=False)
    token = await svc.state.issue(chat_id, user_id, {"rid": render["rid"]},
                                  keyboards.actions(rows))
    markup = keyboards.markup(rows, token)
    text = photo_render.caption(render, presets(context))
    if painted.cut:
        text += "\n" + texts.CLIP_CUT.format(seconds=f"{clips.LIMITS.max_seconds:g}")
    (width, height), seconds = painted.size, max(1, round(painted.duration))
    message = None
    if mode == "edit" and render.get("result"):
        try:
            message = await with_retries(lambda: bot.edit_message_media(
                media=InputMediaAnimation(painted.data, caption=text, parse_mode="HTML",
                                          width=width, height=height, duration=seconds),
                chat_id=chat_id, message_id=render["result"]["message_id"],
                reply_markup=markup), what="editMessageMedia")
        except BadRequest as exc:  # deleted, too old…: a new reply is just as good
            log.warning("editMessageMedia refused (%s); sending a new result", exc)
    if not isinstance(message, Message):
        message = await with_retries(lambda: bot.send_animation(
            chat_id, animation=painted.data, filename="painting.mp4", caption=text,
            parse_mode="HTML", width=width, height=height, duration=seconds,
            reply_parameters=reply_params(render["reply_to"]), reply_markup=markup),
            what="sendAnimation")
    file_id = message.animation.file_id if message.animation else message.document.file_id
    await svc.state.record_delivery(user_id, render["rid"], int(render["version"]),
                                    {"message_id": message.message_id, "file_id": file_id,
                                     "result_id": result_id})
    await svc.state.save_result(user_id, result_id, {"file_id": file_id, "caption": text,
                                                     "rid": render["rid"],
                                                     "kind": "animation"})
    return True
