"""A finished painting into the chat: a new reply with the result keyboard, the result
edited in place, or the ⬇ HD file; then remembered for the buttons and inline mode."""
from __future__ import annotations

import functools
import logging
from typing import Literal

from telegram import InlineKeyboardMarkup, InputMediaAnimation, InputMediaPhoto, Message
from telegram.error import BadRequest

from bot import keyboards, texts
from bot.captions import caption, shared_caption
from bot.context import BotContext
from bot.painting import Painting, brush_of, protect_of
from bot.records import Delivered, Render
from bot.state import until_of
from bot.telegram_io import MEDIA_READ_TIMEOUT, reply_params, with_retries

log = logging.getLogger(__name__)

Mode = Literal["new", "edit", "hd"]


async def send_painting(context: BotContext, render: Render, painting: Painting, mode: Mode,
                        started: float) -> bool:
    """Put the painting in the chat; False when a newer edit made this one obsolete.
    A /forget that came after `started` (the update's arrival) takes back what this
    delivery stored; it all expires with the photo (``until``)."""
    svc, bot, t = context.bot_data, context.bot, context.t
    (width, height), clip = painting.size, painting.is_clip
    if mode == "hd":
        reply_to = render.result.message_id if render.result else render.reply_to
        await with_retries(lambda: bot.send_document(
            render.chat, document=painting.data, filename=f"painting-{width}x{height}.jpg",
            caption=t(texts.CAPTION_HD, width=width, height=height),
            reply_parameters=reply_params(reply_to), read_timeout=MEDIA_READ_TIMEOUT),
            what="sendDocument")
        return True
    if mode == "edit":
        current = await svc.state.render(render.user, render.rid)
        if current is None or current.version > render.version:
            return False  # a newer tap is being painted and will edit the message
    result_id = svc.state.new_result_id()
    # A clip's frames are painted at their own (small) size: no brush to offer.
    brush = None if clip else brush_of(svc.engine, render)
    # 🙂 only where a face was found: elsewhere the setting changes nothing
    protect = protect_of(render) if painting.faces else None
    rows = keyboards.result_rows(t, render.strength, render.keep_colors, result_id,
                                 render.mix_share if render.mix else None, brush, hd=not clip,
                                 protect=protect)
    since, until = started, until_of(render.to_doc())
    token = await svc.state.issue(render.chat, render.user, {"rid": render.rid, "until": until},
                                  keyboards.actions(rows), since=since)
    all_presets = svc.presets()
    text = caption(render, all_presets, t, brush=brush, protect=protect)
    if painting.cut_at is not None:
        text += "\n" + t(texts.CLIP_CUT, count=painting.cut_at)
    message = await _post(context, render, painting, mode, text,
                          keyboards.markup(rows, token))
    media = (message.animation or message.document) if clip else message.photo[-1]
    assert media is not None
    delivered = Delivered(message.message_id, media.file_id, result_id)
    await svc.state.record_delivery(render, delivered, since=since)
    preset = {p.id: p for p in all_presets}.get(render.preset or "")
    await svc.state.save_result(render.user, result_id, {
        "file_id": media.file_id, "rid": render.rid,
        "caption": shared_caption(render, all_presets, t, bot.username),
        "kind": "animation" if clip else "photo",
        "title": preset.title if preset and not render.mix else None,
        "until": until}, since=since)   # each write is taken back after a later /forget
    return True


async def _post(context: BotContext, render: Render, painting: Painting, mode: Mode,
                text: str, markup: InlineKeyboardMarkup) -> Message:
    """Edit the result in place (mode "edit") or send a new reply: a photo, or for a clip
    a looping animation."""
    bot, chat_id = context.bot, render.chat
    (width, height), data = painting.size, painting.data
    media: InputMediaPhoto | InputMediaAnimation
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
    if mode == "edit" and render.result is not None:
        shown = render.result.message_id
        try:
            message = await with_retries(lambda: bot.edit_message_media(
                media=media, chat_id=chat_id, message_id=shown, reply_markup=markup,
                read_timeout=MEDIA_READ_TIMEOUT), what="editMessageMedia")
            if isinstance(message, Message):
                return message
        except BadRequest as exc:  # deleted, too old…: a new reply is just as good
            log.warning("editMessageMedia refused (%s); sending a new result", exc)
    sent: Message = await with_retries(lambda: send(
        caption=text, reply_parameters=reply_params(render.reply_to), reply_markup=markup,
        read_timeout=MEDIA_READ_TIMEOUT), what=what)
    return sent
