"""python -m bot — run the bot by polling, or manage its webhook.

    python -m bot                                  poll Telegram (local use, no server needed)
    python -m bot set-webhook URL [--drop-pending-updates]   (also publishes the menus)
    python -m bot set-commands                     command menus per chat kind and language
    python -m bot delete-webhook [--drop-pending-updates]
    python -m bot webhook-info

Settings come from the environment (bot/config.py); TELEGRAM_API_BASE points the
bot at another Bot API server. Defaults: SQLite in ./data, built-in paintings,
vendored models.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from telegram import Bot

from bot.config import BotConfig
from bot.logs import configure_logging

log = logging.getLogger("bot")

NO_TOKEN = """\
TELEGRAM_BOT_TOKEN is not set.

To get a token:
  1. open Telegram and talk to @BotFather (https://t.me/BotFather)
  2. send /newbot and choose a name and a username ending in "bot"
  3. copy the token it gives you, then:

     export TELEGRAM_BOT_TOKEN=123456:ABC...
     python -m bot
"""

NO_SECRET = """\
WEBHOOK_SECRET is not set.

The webhook refuses every call that does not carry the secret, so without one every
update would be refused. Choose one (A-Z a-z 0-9 _ -, up to 256 characters), set it
for the deployed app and here, then run set-webhook again:

  export WEBHOOK_SECRET=$(python -c "import secrets; print(secrets.token_urlsafe(32))")
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("poll", help="poll Telegram for updates (the default)")
    hook = sub.add_parser("set-webhook", help="send updates to URL (HTTPS)")
    hook.add_argument("url")
    hook.add_argument("--drop-pending-updates", action="store_true")
    delete = sub.add_parser("delete-webhook", help="stop sending updates to the webhook")
    delete.add_argument("--drop-pending-updates", action="store_true")
    sub.add_parser("webhook-info", help="show the current webhook")
    sub.add_parser("set-commands", help="publish the command menus (every scope and language)")
    return parser


def poll(config: BotConfig) -> int:
    """Long-poll until Ctrl-C / SIGTERM; several updates are handled at once."""
    from bot.app import build_application
    from bot.handlers import ALLOWED_UPDATES

    application = build_application(config, polling=True)
    log.info("polling %s with %d render worker(s)", config.api_base, config.workers)
    application.run_polling(allowed_updates=ALLOWED_UPDATES)
    return 0


async def _webhook(config: BotConfig, args: argparse.Namespace) -> int:
    from bot.handlers import ALLOWED_UPDATES
    from bot.menu import publish_commands

    async with Bot(config.token, base_url=config.base_url,
                   base_file_url=config.base_file_url) as bot:
        if args.command == "set-webhook":
            await bot.set_webhook(args.url, secret_token=config.webhook_secret,
                                  allowed_updates=ALLOWED_UPDATES,
                                  drop_pending_updates=args.drop_pending_updates)
            count = await publish_commands(bot)
            print(f"webhook set to {args.url}; {count} command menus published")
        elif args.command == "set-commands":
            print(f"{await publish_commands(bot)} command menus published")
        elif args.command == "delete-webhook":
            await bot.delete_webhook(drop_pending_updates=args.drop_pending_updates)
            print("webhook deleted")
        else:
            info = await bot.get_webhook_info()
            print(json.dumps(info.to_dict(), indent=2, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = BotConfig.from_env()
    if not config.token:
        sys.stderr.write(NO_TOKEN)
        return 2
    configure_logging(config)
    if args.command in (None, "poll"):
        return poll(config)
    if args.command == "set-webhook" and not config.webhook_secret:
        sys.stderr.write(NO_SECRET)
        return 2
    return asyncio.run(_webhook(config, args))


if __name__ == "__main__":
    sys.exit(main())
