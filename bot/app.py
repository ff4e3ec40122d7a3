"""Application factory for the Telegram conversation (webhook and polling alike)."""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from telegram.constants import ParseMode
from telegram.ext import Application, Defaults

from bot.config import BotConfig
from bot.context import CONTEXT_TYPES
from bot.handlers import register
from bot.menu import publish_commands
from bot.jobs import RenderQueue
from bot.state import State
from bot.store import Store, open_store

if TYPE_CHECKING:  # pragma: no cover
    from nst.engine import Engine

log = logging.getLogger(__name__)


class BotApplication(Application):
    """PTB's Application, each update run as one unit of writes: what it stores about a
    user is checked against /forget once, when it ends (State.checked_once)."""

    async def process_update(self, update: object) -> None:
        async with self.bot_data.state.checked_once():
            await super().process_update(update)


def build_application(config: BotConfig, *, engine: Engine | None = None,
                      store: Store | None = None, polling: bool = False) -> Application:
    """The bot with every handler registered and its services in ``bot_data``.

    Cheap: no model is loaded and nothing goes over the network here (the engine
    loads its models on first use or warmup; the render threads start on first job).
    Without `polling` there is no Updater: the webhook feeds ``process_update``.
    """
    if engine is None:
        from nst import Engine

        engine = Engine.from_config(config.engine)
    owns_store = store is None
    if store is None:
        store = open_store(config.store_url)
    builder = (
        Application.builder()
        .application_class(BotApplication)
        .token(config.token)
        .base_url(config.base_url)
        .base_file_url(config.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .context_types(CONTEXT_TYPES)
        .media_write_timeout(60)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if polling:
        # One user's painting must not hold up everybody else's buttons. (The webhook
        # calls process_update itself, which bypasses this setting.)
        builder = builder.concurrent_updates(True)
    else:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data.attach(
        config=config, engine=engine, store=store, owns_store=owns_store,
        queue=RenderQueue(config.workers, config.max_pending_per_user, config.max_waiting),
        state=State(store, input_ttl=config.input_ttl, rate_per_minute=config.rate_per_minute),
    )
    register(application)
    return application


async def _post_init(application: Application) -> None:
    """Polling start (run_polling): publish the command menus; serve the Mini App page."""
    from bot.webapp.local import serve

    await publish_commands(application.bot)
    config = application.bot_data.config
    try:
        application.bot_data.webapp_server = serve(application, asyncio.get_running_loop(),
                                                   "127.0.0.1", config.webapp_port)
    except OSError as exc:  # the chat works without the page: say so, keep polling
        log.warning("Mini App page not served: port %s: %s (set BOT_WEBAPP_PORT)",
                    config.webapp_port, exc)


async def _post_shutdown(application: Application) -> None:
    """Polling stop: finish the render threads and close the store we opened."""
    services = application.bot_data
    if services.webapp_server is not None:
        services.webapp_server.shutdown()
    services.queue.shutdown()
    services.arrivals.shutdown()
    if services.owns_store:
        services.store.close()
