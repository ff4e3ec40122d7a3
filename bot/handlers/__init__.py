"""Every handler of the conversation, registered in one place."""
from __future__ import annotations

from telegram.ext import (Application, CallbackQueryHandler, CommandHandler,
                          InlineQueryHandler, MessageHandler, filters)

from bot import keyboards as kb
from bot.handlers import animations, buttons, commands, errors, glance, inline, limits, photos

# What the bot handles; webhook and polling ask Telegram for nothing else.
ALLOWED_UPDATES = ["message", "callback_query", "inline_query"]


def register(application: Application) -> None:
    """The cheap-action limit before everything (group -1: whatever costs a download or a
    store read); then commands, what can't be
    painted yet (stickers), clips (GIFs, videos), images, buttons by their callback_data
    prefix, and the gentle fallbacks for anything else."""
    new_messages = filters.UpdateType.MESSAGE
    application.add_handlers([
        MessageHandler(new_messages & (filters.PHOTO | filters.Document.ALL
                                       | animations.CLIP_FILTER), limits.count_action),
        CommandHandler("stylize", limits.count_action, filters=new_messages),
        CallbackQueryHandler(limits.count_action),
        InlineQueryHandler(limits.count_action),
    ], group=-1)
    application.add_handlers([
        CommandHandler("start", commands.start, filters=new_messages),
        CommandHandler("help", commands.help_command, filters=new_messages),
        CommandHandler("styles", commands.styles, filters=new_messages),
        CommandHandler("forget", commands.forget, filters=new_messages),
        CommandHandler("stylize", commands.stylize, filters=new_messages),
        MessageHandler(new_messages & photos.NOT_YET_FILTER, photos.not_yet),
        MessageHandler(new_messages & animations.CLIP_FILTER, animations.on_clip),
        MessageHandler(new_messages & (filters.PHOTO | filters.Document.ALL), photos.on_image),
        CallbackQueryHandler(buttons.pick, pattern=kb.pattern(kb.PICK)),
        CallbackQueryHandler(buttons.random_pick, pattern=kb.pattern(kb.RANDOM)),
        CallbackQueryHandler(buttons.page, pattern=kb.pattern(kb.PAGE)),
        CallbackQueryHandler(buttons.own_style, pattern=kb.pattern(kb.OWN)),
        CallbackQueryHandler(buttons.strength, pattern=kb.pattern(kb.STRENGTH)),
        CallbackQueryHandler(buttons.mix_share, pattern=kb.pattern(kb.MIX_SHARE)),
        CallbackQueryHandler(buttons.colors, pattern=kb.pattern(kb.COLORS)),
        CallbackQueryHandler(buttons.brush, pattern=kb.pattern(kb.BRUSH)),
        CallbackQueryHandler(buttons.protect, pattern=kb.pattern(kb.PROTECT)),
        CallbackQueryHandler(glance.glance, pattern=kb.pattern(kb.GLANCE)),
        CallbackQueryHandler(buttons.another, pattern=kb.pattern(kb.ANOTHER)),
        CallbackQueryHandler(buttons.mix, pattern=kb.pattern(kb.MIX)),
        CallbackQueryHandler(buttons.hd, pattern=kb.pattern(kb.HD)),
        CallbackQueryHandler(buttons.expired),   # forged, garbled or from an old version
        InlineQueryHandler(inline.on_inline_query),
        MessageHandler(new_messages, photos.on_other),
    ])
    application.add_error_handler(errors.on_error)
