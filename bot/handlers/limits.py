"""The cheap-action limit, before any other handler: everything addressed to me that
costs a download, a decode or a store read — photos, files and clips (in private chats,
and in groups when captioned /stylize or replying to me), /stylize anywhere, button
presses and inline queries — counts against one per-user budget a minute."""
from __future__ import annotations

import logging

from telegram import InlineQueryResultsButton, Update
from telegram.ext import ApplicationHandlerStop

from bot import texts
from bot.context import BotContext
from bot.handlers.common import answer, chat_of, message_of, say
from bot.handlers.photos import addressed
from bot.state import ACTION_RATE
from bot.store import StoreError

log = logging.getLogger(__name__)


def counted(update: Update, context: BotContext) -> bool:
    """Does this update cost me something on the user's behalf? (Group chatter that is
    not for me does not count: I ignore it for free.)"""
    if update.callback_query is not None or update.inline_query is not None:
        return True
    message = update.effective_message
    if message is None:
        return False
    if message.text is not None:   # the handlers let only /stylize through (see register)
        return True
    return addressed(update, context)


async def count_action(update: Update, context: BotContext) -> None:
    """Up to BOT_ACTIONS_PER_MINUTE of these a minute go through unnoticed; past that,
    the user is told in how many seconds to carry on (an inline query gets no results,
    only that line on its button), and nothing else happens. (Paintings have their own,
    smaller limit.)"""
    user = update.effective_user
    if user is None or not counted(update, context):
        return
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
    elif update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0, is_personal=True,
                                         button=InlineQueryResultsButton(
                                             text=text, start_parameter="slow"))
    else:
        await say(context, chat_of(update).id, text, message_of(update).message_id)
    raise ApplicationHandlerStop
