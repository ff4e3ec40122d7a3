"""GIFs, animations, short videos and round videos coming in: painted like photos, sent
back as a looping animation.

The flow is the photo flow (painting keyboard, presets, own style, strength,
keep-colours, mix); only the painting differs (bot/handlers/render.py paints a clip
frame by frame at its cost and shows the frames done).
"""
from __future__ import annotations

import logging

from telegram import Update

from bot import texts
from bot.context import BotContext
from bot.handlers import photos
from bot.handlers.common import CLIPS, arrival_refused, new_content, say
from bot.intake import classify

log = logging.getLogger(__name__)

#: Messages that are clips (bot.intake.classify decides; an animation also carries a
#: document: the clip handler is registered first).
CLIP_FILTER = CLIPS


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
    ref = classify(message)
    if ref is None or not ref.is_clip:  # the filter and classify are one: not expected
        await say(context, chat.id, context.t(texts.SEND_A_PHOTO), message.message_id)
        return
    if ref.gif_file:
        session = await context.bot_data.state.session(chat.id, user.id)
        if photos.is_style(session, ref, update, context):
            await photos.picture_arrived(update, context, ref.as_picture())
            return
    if await arrival_refused(context, ref, chat.id, message.message_id):
        return
    await new_content(context, chat_id=chat.id, user_id=user.id, ref=ref,
                      reply_to=message.message_id, ask_id=message.message_id)
