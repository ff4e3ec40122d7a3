"""Every handler of the conversation, registered in one place."""
from __future__ import annotations

from telegram.ext import (Application, CallbackQueryHandler, CommandHandler,
                          InlineQueryHandler, MessageHandler, filters)

from bot.handlers import animations, buttons, commands, errors, inline, photos

# What the bot handles; webhook and polling ask Telegram for nothing else.
ALLOWED_UPDATES = ["message", "callback_query", "inline_query"]

COMMANDS = [
    ("start", "How it works"),
    ("styles", "All the paintings"),
    ("stylize", "Paint the photo you reply to (groups)"),
    ("help", "Tips: own style, mixing, HD, sharing"),
    ("forget", "Delete everything I keep about you"),
]


def register(application: Application) -> None:
    """Commands first, then clips (GIFs, videos), then images, then the gentle fallback."""
    new_messages = filters.UpdateType.MESSAGE
    application.add_handlers([
        CommandHandler("start", commands.start, filters=new_messages),
        CommandHandler("help", commands.help_command, filters=new_messages),
        CommandHandler("styles", commands.styles, filters=new_messages),
        CommandHandler("forget", commands.forget, filters=new_messages),
        CommandHandler("stylize", commands.stylize, filters=new_messages),
        MessageHandler(new_messages & animations.CLIP_FILTER, animations.on_clip),
        MessageHandler(new_messages & (filters.PHOTO | filters.Document.ALL), photos.on_image),
        CallbackQueryHandler(buttons.on_button),
        InlineQueryHandler(inline.on_inline_query),
        MessageHandler(new_messages, photos.on_other),
    ])
    application.add_error_handler(errors.on_error)
