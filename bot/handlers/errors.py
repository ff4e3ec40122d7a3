"""The safety net: anything no handler foresaw."""
from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, TelegramError

from bot import texts
from bot.context import BotContext
from bot.handlers.common import is_private, say
from bot.telegram_io import ProbablyDelivered

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """The user gets one friendly sentence (never a traceback); the log gets the traceback."""
    update_id = getattr(update, "update_id", None)
    if isinstance(context.error, ProbablyDelivered):
        return  # a slow answer, not a failure: the user has the message (already logged)
    if isinstance(context.error, Forbidden):
        # The user blocked the bot (or left the group): nobody to tell, nothing to fix.
        log.info("update %s: chat unreachable (%s)", update_id, context.error)
        return
    log.error("unhandled error in update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update):
        return
    failed = texts.TELEGRAM_FAILED if isinstance(context.error, TelegramError) else texts.UNEXPECTED
    text = context.t(failed)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text)
            return
        if update.inline_query is not None:
            return  # nowhere to write; the user simply sees no results
    except TelegramError:
        pass  # already answered, or too late: fall back to a message
    chat = update.effective_chat
    if chat is not None and (is_private(update) or update.callback_query is not None):
        await say(context, chat.id, text)
