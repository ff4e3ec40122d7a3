"""Slash commands: /start, /help, /styles, /forget, /stylize."""
from __future__ import annotations

import asyncio
import io
import logging

from telegram import Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot import gallery, texts
from bot.clips import clip_ref
from bot.handlers.common import image_ref, is_private, new_content, presets, say, services
from bot.telegram_io import reply_params, with_retries

log = logging.getLogger(__name__)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A short, friendly hello: what I do and the three steps to a painting."""
    await say(context, update.effective_chat.id, texts.WELCOME)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Everything the bot can do, in a few lines, plus what it keeps and for how long."""
    ttl_hours = round(services(context).config.input_ttl / 3600)
    text = texts.HELP.format(username=context.bot.username, ttl_hours=ttl_hours) + texts.HELP_CLIPS
    await say(context, update.effective_chat.id, text)


async def styles(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """One collage of every painting, numbered like the buttons. Drawn and uploaded once;
    afterwards Telegram's copy (file_id) is sent again."""
    svc = services(context)
    chat_id = update.effective_chat.id
    all_presets = presets(context)
    key = gallery.cache_key(all_presets)
    text = texts.STYLES_CAPTION.format(count=len(all_presets))
    reply_to = update.effective_message.message_id if not is_private(update) else None
    cached = await svc.state.cached(key)
    if cached:
        try:
            await with_retries(lambda: context.bot.send_photo(
                chat_id, photo=cached["file_id"], caption=text,
                reply_parameters=reply_params(reply_to)), what="sendPhoto")
            return
        except BadRequest as exc:  # e.g. the token changed: Telegram forgot the file
            log.warning("cached gallery refused (%s); drawing it again", exc)
            await svc.state.uncache(key)
    sheet = await asyncio.to_thread(_draw, svc.engine, all_presets)
    message = await with_retries(lambda: context.bot.send_photo(
        chat_id, photo=sheet, caption=text, reply_parameters=reply_params(reply_to)),
        what="sendPhoto")
    await svc.state.cache(key, {"file_id": message.photo[-1].file_id})


def _draw(engine, all_presets) -> bytes:
    out = io.BytesIO()
    gallery.render_collage(all_presets, engine.catalog.image).save(out, "JPEG", quality=88)
    return out.getvalue()


async def forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Deletes everything stored about the user (photos' file_ids, results, buttons) and
    says how much went."""
    count = await services(context).state.forget(update.effective_user.id)
    log.info("user %s: forgot %d documents", update.effective_user.id, count)
    text = texts.FORGOTTEN.format(count=count) if count else texts.FORGOTTEN_NOTHING
    await say(context, update.effective_chat.id, text)


async def stylize(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Replying /stylize to a photo or a clip (groups) shows the paintings for it; the
    buttons belong to whoever asked."""
    message, chat = update.effective_message, update.effective_chat
    target = message.reply_to_message
    ref = clip_ref(target) or image_ref(target)
    if ref is None:
        hint = texts.SEND_A_PHOTO if is_private(update) else texts.STYLIZE_NEEDS_PHOTO
        await say(context, chat.id, hint, message.message_id)
        return
    await new_content(context, chat_id=chat.id, user_id=update.effective_user.id, ref=ref,
                      reply_to=target.message_id, ask_id=message.message_id)
