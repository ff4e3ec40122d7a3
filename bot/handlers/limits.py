"""The cheap-action limit: photos and button presses, before any other handler."""
from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from bot import texts
from bot.context import BotContext
from bot.handlers.common import answer, chat_of, is_private, message_of, say
from bot.state import ACTION_RATE
from bot.store import StoreError

log = logging.getLogger(__name__)


async def count_action(update: Update, context: BotContext) -> None:
    """Up to BOT_ACTIONS_PER_MINUTE photos and button presses a minute go through
    unnoticed; past that, the user is told in how many seconds to carry on, and nothing
    else happens. (Paintings have their own, smaller limit.)"""
    user = update.effective_user
    if user is None or (update.callback_query is None and not is_private(update)):
        return  # group messages may not be meant for us: don't count them
    svc = context.bot_data
    try:
        wait = await svc.state.spend(user.id, ACTION_RATE, svc.config.actions_per_minute)
    except StoreError as exc:  # the handler itself will meet the outage and apologise once
        log.warning("action limit unknown, store unavailable: %s", exc)
        return
    if not wait:
        return
    log.info("user %s: over the action limit", user.id)
    text = context.t(texts.SLOW_DOWN, seconds=wait)
    if update.callback_query is not None:
        await answer(update, text)
    else:
        await say(context, chat_of(update).id, text, message_of(update).message_id)
    raise ApplicationHandlerStop
