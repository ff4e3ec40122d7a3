"""The command menu Telegram shows next to the input field: per scope and per language.

Private chats get the conversation's commands; groups get /stylize (the way to use the
bot there) and what makes sense in front of others. Each list is published once with no
``language_code`` (English, for every language without its own list) and once per
catalog language.
"""
from __future__ import annotations

import logging

from telegram import (Bot, BotCommand, BotCommandScopeAllGroupChats, BotCommandScopeAllPrivateChats,
                      BotCommandScopeDefault)
from telegram.error import TelegramError

from bot import texts
from bot.i18n import Translator, available

log = logging.getLogger(__name__)

PRIVATE_COMMANDS = [("start", texts.CMD_START), ("styles", texts.CMD_STYLES),
                    ("help", texts.CMD_HELP), ("forget", texts.CMD_FORGET)]
GROUP_COMMANDS = [("stylize", texts.CMD_STYLIZE), ("styles", texts.CMD_STYLES),
                  ("help", texts.CMD_HELP), ("forget", texts.CMD_FORGET)]
# The default scope replaces any older list and covers chats of other kinds.
SCOPES = ((BotCommandScopeDefault(), PRIVATE_COMMANDS),
          (BotCommandScopeAllPrivateChats(), PRIVATE_COMMANDS),
          (BotCommandScopeAllGroupChats(), GROUP_COMMANDS))


def menu_language(locale: str) -> str:
    """setMyCommands wants a two-letter ISO 639-1 code: pt_BR's menu is "pt"."""
    return locale.split("_")[0]


def commands(items: list[tuple[str, str]], locale: str) -> list[BotCommand]:
    t = Translator(locale)
    return [BotCommand(name, t(description)) for name, description in items]


async def publish_commands(bot: Bot) -> int:
    """setMyCommands for every scope × (default + each catalog language); returns how many
    lists were published. Failures are logged: the bot works without a menu."""
    published = 0
    for scope, items in SCOPES:
        for locale in ("en", *available()):
            language = None if locale == "en" else menu_language(locale)
            try:
                await bot.set_my_commands(commands(items, locale), scope=scope,
                                          language_code=language)
                published += 1
            except TelegramError as exc:  # cosmetic
                log.warning("setMyCommands (%s, %s) failed: %s", scope.type, locale, exc)
    return published
