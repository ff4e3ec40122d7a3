"""What a handler gets besides the update: the bot's services and the user's language.

PTB builds one ``BotContext`` per update (``ContextTypes(context=BotContext,
bot_data=Services)``), so a handler reads ``context.bot_data.state`` (typed, no lookup
by string) and ``context.t(texts.X, …)`` (already in the user's language).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

from telegram import Update
from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot

from bot.arrivals import ArrivalPool
from bot.config import BotConfig
from bot.i18n import ENGLISH, Translator
from bot.jobs import RenderQueue
from bot.state import State
from bot.store import Store

if TYPE_CHECKING:  # pragma: no cover
    from nst.catalog import Preset
    from nst.engine import Engine


class DeliveryListener(Protocol):
    """Asked just before an update's result is sent whether the update is still ours
    (False: another instance took it over; send nothing), and told when it reached the
    chat (bot.runtime.DeliveryHook: the webhook's ledger then knows a resend must not
    paint it again)."""

    async def still_ours(self, update_id: int) -> bool: ...

    async def mark_sent(self, update_id: int) -> None: ...


class MiniAppMemory(Protocol):
    """What the Mini App keeps in this process (bot.webapp.service.MiniApp): /forget
    drops the user's part at once."""

    def forget(self, user_id: int) -> None: ...


class PageServer(Protocol):
    """Polling mode's local Mini App server (a werkzeug server in a thread)."""

    def shutdown(self) -> None: ...


class Services:
    """The bot's long-lived parts, filled in once by bot.app.build_application."""

    config: BotConfig
    engine: Engine
    store: Store
    state: State
    queue: RenderQueue
    arrivals: ArrivalPool
    owns_store: bool = False
    # Set by the webhook runtime (bot.runtime.DeliveryHook): told when a result was sent.
    delivery: DeliveryListener | None = None
    # The Mini App's per-process part (bot.webapp.service.MiniApp), made on first use.
    webapp: MiniAppMemory | None = None
    webapp_server: PageServer | None = None   # polling mode's page server (bot/webapp/local.py)

    def attach(self, *, config: BotConfig, engine: Engine, store: Store, owns_store: bool,
               state: State, queue: RenderQueue) -> None:
        self.config, self.engine, self.store, self.owns_store = config, engine, store, owns_store
        self.state, self.queue = state, queue
        self.arrivals = ArrivalPool()

    def presets(self) -> list[Preset]:
        return list(self.engine.catalog.presets())


class BotContext(CallbackContext[ExtBot, dict, dict, Services]):
    """CallbackContext + ``t``: the Translator for the user behind the update."""

    t: Translator = ENGLISH
    #: When the update arrived: what /forget and a photo's expiry compare with.
    arrived: float = 0.0

    @classmethod
    def from_update(cls, update: object, application: Application) -> "BotContext":
        context = super().from_update(update, application)
        user = update.effective_user if isinstance(update, Update) else None
        context.t = Translator.for_code(user.language_code if user else None)
        state = getattr(application.bot_data, "state", None)
        now = state.clock() if state is not None else time.time()
        context.arrived = arrival(update, now)
        return context


#: How far back a new message's own date is trusted: a queue's retries run updates out
#: of order, but not by more than this.
TRUSTED_DATE_WINDOW = 600.0


def arrival(update: object, now: float) -> float:
    """When the update came: a new message's own date (Telegram's clock, whole seconds)
    when it is earlier than `now` (within TRUSTED_DATE_WINDOW), so a photo sent before a
    /forget counts as before it even when a queue runs it after; else `now` (a button
    press carries no date of its own)."""
    message = update.message if isinstance(update, Update) else None
    if message is None or message.date is None:
        return now
    return max(now - TRUSTED_DATE_WINDOW, min(now, message.date.timestamp()))


CONTEXT_TYPES = ContextTypes(context=BotContext, bot_data=Services)
