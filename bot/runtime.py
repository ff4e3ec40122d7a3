"""One bot per worker process, driven from a synchronous WSGI server.

python-telegram-bot is asyncio; gunicorn's gthread workers are threads. Each
worker process gets one event loop in a daemon thread, the Application is built
and initialized on it once, and every webhook request submits its update to that
loop and waits for the result. Nothing here runs at import time or before
gunicorn forks: threads do not survive a fork.

Each update is claimed in the ledger (bot/ledger.py) first. The work stays inside a
live request: App Engine gives no CPU after the response. When an update takes
longer than BOT_UPDATE_TIMEOUT, the webhook answers "working" (503), so Telegram
resends it; a resend that reaches this process joins the running work and waits for
it in its own, live request; one that reaches another instance is "busy" while this
owner renews its lease, and takes the update over if this instance was stopped.
Store calls of the work run on threads, never on the event loop.

In Cloud Tasks mode (BOT_TASKS_QUEUE, bot/tasks.py) the webhook calls `enqueue` instead:
the update is marked "queued" and handed to the queue, and the answer comes at once; the
task request calls `process` with the task deadline. The 503-"working" answer and the
resend that joins the running work are then only the queue's retry of a task that outran
BOT_TASK_TIMEOUT.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Coroutine, Literal, TypeVar

from bot.config import BotConfig
from bot.ledger import UpdateLedger
from bot.logs import CURRENT_UPDATE
from bot.store import Store, StoreError, open_store
from bot.tasks import TaskQueue

T = TypeVar("T")
BOOT_WARMUP_THREAD = "warmup-at-boot"
log = logging.getLogger(__name__)

START_TIMEOUT = 60.0
# The webhook's "queued" mark may take this long; a slower store must not hold Telegram's
# answer, so the task is enqueued anyway (the ledger drops a duplicate when it runs).
MARK_BUDGET = 0.3

Status = Literal["done", "duplicate", "busy", "error", "working", "lost", "queued"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one webhook update."""

    update_id: int
    status: Status
    seconds: float = 0.0


class DeliveryHook:
    """Lives in ``bot_data.delivery``: the bot awaits ``still_ours(update.update_id)`` just
    before it sends a result (False: another owner took the update over, send nothing) and
    ``mark_sent(update.update_id)`` right after."""

    def __init__(self, ledger: UpdateLedger) -> None:
        self._ledger = ledger
        self.lost: set[int] = set()   # updates whose result was withheld (claim not ours)

    async def still_ours(self, update_id: int) -> bool:
        # A renew right before sending: a takeover needs a whole lease after this.
        if await self._ledger.run(self._ledger.confirm, update_id):
            return True
        self.lost.add(update_id)
        return False

    async def mark_sent(self, update_id: int) -> None:
        await self._ledger.run(self._ledger.mark_sent, update_id)


class BotRuntime:
    """The bot of one worker process: an event loop thread, the Application, the ledger."""

    def __init__(self, config: BotConfig, store: Store | None = None) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._engine: Any = None
        self._store: Store | None = store
        self._owns_store = store is None
        self._ledger: UpdateLedger | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._app: Any = None           # the initialized Application (see _started)
        self._built: Any = None         # the Application, built but maybe not initialized
        self._running: dict[int, concurrent.futures.Future] = {}
        self._warm = False
        self._warm_lock = threading.Lock()   # not self._lock: updates need not wait for it
        self._last_cleanup = 0.0
        self._tasks: TaskQueue | None = None
        self._delivery: DeliveryHook | None = None
        self._aside: concurrent.futures.ThreadPoolExecutor | None = None

    # -- lazy construction -------------------------------------------------------
    def _parts(self) -> tuple[Any, Store]:
        """Engine and store: cheap to create (models load on warmup)."""
        with self._lock:
            if self._ledger is None:
                from nst import Engine

                self._engine = Engine.from_config(self.config.engine)
                if self._store is None:
                    self._store = open_store(self.config.store_url)
                self._ledger = UpdateLedger(self._store, self.config.claim_lease)
            assert self._store is not None
            return self._engine, self._store

    @property
    def ledger(self) -> UpdateLedger:
        """The update ledger (built with the store on first use)."""
        self._parts()
        assert self._ledger is not None
        return self._ledger

    @property
    def engine(self) -> Any:
        """The engine this process paints with (built on first use)."""
        return self._parts()[0]

    def _application(self) -> Any:
        """The Application, built once: imports, handlers, HTTP clients — no Bot API call."""
        with self._lock:
            if self._built is None:
                engine, store = self._parts()
                from bot.app import build_application

                app = build_application(self.config, engine=engine, store=store)
                self._delivery = DeliveryHook(self.ledger)
                app.bot_data.delivery = self._delivery
                self._built = app
            return self._built

    def _started(self) -> asyncio.AbstractEventLoop:
        """Start the loop thread and initialize the Application, once per process."""
        with self._lock:
            if self._app is not None and self._loop is not None:
                return self._loop
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="bot-loop", daemon=True)
            thread.start()
            try:
                app = self._application()
                asyncio.run_coroutine_threadsafe(app.initialize(), loop).result(START_TIMEOUT)
            except BaseException:
                self._built = None   # the next update starts from a fresh Application
                loop.call_soon_threadsafe(loop.stop)
                thread.join(5)
                loop.close()
                raise
            self._loop, self._thread, self._app = loop, thread, app
            log.info("bot runtime started in pid %s", os.getpid())
            return loop

    def call(self, fn: Callable[[Any], Coroutine[Any, Any, T]], timeout: float) -> T:
        """Run ``fn(application)`` on the bot's loop and wait (the Mini App's requests)."""
        loop = self._started()
        return asyncio.run_coroutine_threadsafe(fn(self._app), loop).result(timeout)

    # -- what the webhook calls ----------------------------------------------------
    def process(self, update: dict, timeout: float | None = None) -> Outcome:
        """Handle one update exactly once; waits up to `timeout` seconds.

        Raises only if the bot cannot start (before the update is claimed), so the
        caller can answer 5xx and Telegram resends it later.
        """
        loop = self._started()
        update_id = int(update["update_id"])
        wait = self.config.update_timeout if timeout is None else timeout
        t0 = time.monotonic()
        verdict = self.ledger.claim(update_id)
        if verdict == "busy":
            return Outcome(update_id, "busy", time.monotonic() - t0)
        if verdict == "duplicate":
            with self._lock:
                running = self._running.get(update_id)
            if running is None:
                return Outcome(update_id, "duplicate", time.monotonic() - t0)
            # A resend while we still work on it: keep a live request open for the work.
            status = self._wait(update_id, running, wait, t0)
            return Outcome(update_id, "working" if status == "working" else "duplicate",
                           time.monotonic() - t0)
        future = asyncio.run_coroutine_threadsafe(self._work(update), loop)
        with self._lock:
            self._running[update_id] = future
        future.add_done_callback(lambda _: self._forget_running(update_id))
        return Outcome(update_id, self._wait(update_id, future, wait, t0),
                       time.monotonic() - t0)

    def enqueue(self, update: dict, body: bytes) -> Outcome:
        """Cloud Tasks mode: mark the update queued and create its task; the work runs when
        the queue POSTs the task back. Raises EnqueueError when the queue cannot take it
        (answer 5xx: Telegram resends it)."""
        t0 = time.monotonic()
        update_id = int(update["update_id"])
        self._parts()
        if not self._mark_queued(update_id):
            return Outcome(update_id, "duplicate", time.monotonic() - t0)
        # On EnqueueError the "queued" mark stays unconfirmed: Telegram's resend enqueues again.
        created = self._task_queue().enqueue(self.config.bot_id, update_id, body)
        self._set_aside(self.ledger.enqueued, update_id)
        return Outcome(update_id, "queued" if created else "duplicate", time.monotonic() - t0)

    def _task_queue(self) -> TaskQueue:
        with self._lock:
            if self._tasks is None:
                self._tasks = TaskQueue(self.config.tasks_queue, self.config.tasks_emulator)
            return self._tasks

    def _pool_aside(self) -> concurrent.futures.ThreadPoolExecutor:
        with self._lock:
            if self._aside is None:
                self._aside = concurrent.futures.ThreadPoolExecutor(
                    4, thread_name_prefix="queue-mark")
            return self._aside

    def _mark_queued(self, update_id: int) -> bool:
        """The ledger's "queued" mark within MARK_BUDGET; True (enqueue) when unsure."""
        future = self._pool_aside().submit(self.ledger.mark_queued, update_id)
        try:
            return future.result(MARK_BUDGET)
        except concurrent.futures.TimeoutError:
            log.warning("update %s: store slow; enqueueing without the queued mark", update_id)
        except StoreError as exc:
            log.warning("update %s: store unavailable (%s); enqueueing anyway", update_id, exc)
        return True

    def _set_aside(self, fn: Any, update_id: int) -> None:
        """A ledger note nobody waits for (the answer to Telegram must not)."""
        def run() -> None:
            try:
                fn(update_id)
            except StoreError as exc:
                log.warning("update %s: %s failed (%s)", update_id, fn.__name__, exc)

        self._pool_aside().submit(run)

    def _wait(self, update_id: int, future: concurrent.futures.Future, timeout: float,
              t0: float) -> Status:
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            log.warning("update %s: still running after %.0f s; asking Telegram to resend it",
                        update_id, time.monotonic() - t0)
            return "working"
        except concurrent.futures.CancelledError:
            return "error"

    def _forget_running(self, update_id: int) -> None:
        with self._lock:
            self._running.pop(update_id, None)

    async def _work(self, data: dict) -> Status:
        """Process the update while renewing its lease, then close the claim. A lost claim
        (another instance took the update over) cancels the work: only one owner sends."""
        from telegram import Update

        update_id = int(data["update_id"])
        CURRENT_UPDATE.set(update_id)

        async def handle() -> None:
            await self._app.process_update(Update.de_json(data, self._app.bot))

        work = asyncio.create_task(handle())
        heartbeat = asyncio.create_task(self._heartbeat(update_id, work))
        try:
            await work
            status: Status = "done"
        except asyncio.CancelledError:
            if not work.cancelled():
                raise  # this coroutine itself is being cancelled (shutdown)
            log.warning("update %s: claim lost; the work was stopped", update_id)
            return self._lost(update_id)
        except Exception:
            # A poison update must not come back forever: log it and call it handled.
            log.exception("update %s: processing failed", update_id)
            status = "error"
        finally:
            heartbeat.cancel()
        if self._delivery is not None and update_id in self._delivery.lost:
            return self._lost(update_id)
        await self.ledger.run(self.ledger.finish, update_id, status)
        return status

    def _lost(self, update_id: int) -> Status:
        """No result was sent and the claim is not (surely) ours: leave the claim to its
        lease, and answer so that the update is delivered again (5xx)."""
        if self._delivery is not None:
            self._delivery.lost.discard(update_id)
        self.ledger.give_up(update_id)
        return "lost"

    async def _heartbeat(self, update_id: int, work: asyncio.Task) -> None:
        """Renew the lease every third of it; stop `work` when the claim is not ours."""
        every = self.ledger.lease / 3
        while not work.done():
            await asyncio.sleep(every)
            if not await self.ledger.run(self.ledger.renew, update_id):
                work.cancel()
                return

    def warmup(self) -> bool:
        """What the first painting needs, once per process (App Engine may call
        /_ah/warmup again, and anyone can request it): the model and the presets' codes
        (Engine.warmup), and the bot's Application built. Never calls the Bot API: only
        /webhook may make the bot act (the Application initializes, with its getMe, on
        the first update)."""
        with self._warm_lock:
            if self._warm:
                return True
            t0 = time.monotonic()
            try:
                engine, _ = self._parts()
                # OpenVINO compiles with the GIL released: build the bot meanwhile.
                with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="warmup") as pool:
                    model = pool.submit(engine.warmup)
                    self._application()
                    if self.config.tasks_queue:
                        self._task_queue().client()   # its channel, before the first update
                    model.result()
            except Exception:
                log.exception("warmup failed")
                return False
            self._warm = True
            log.info("warmed up in %.2f s on %s", time.monotonic() - t0,
                     threading.current_thread().name)
            return True

    def warm_in_background(self) -> None:
        """Start `warmup` on a thread of its own and return at once (a gunicorn worker at
        boot: gunicorn.conf.py). The first requests (/healthz, App Engine's /_ah/warmup)
        then overlap with it, and /_ah/warmup waits for that work instead of starting it."""
        threading.Thread(target=self.warmup, name=BOOT_WARMUP_THREAD, daemon=True).start()

    def health(self) -> bool:
        """Model files present and verified, store reachable; the reason goes to the log."""
        try:
            engine, store = self._parts()
            ok, reason = engine.health()
            if not ok:
                log.error("unhealthy: %s", reason)
                return False
            store.get("health", "probe")
        except StoreError as exc:
            log.error("unhealthy: store unreachable: %s", exc)
            return False
        except Exception:
            log.exception("unhealthy")
            return False
        return True

    def keep_warm(self, cleanup_every: float) -> dict:
        """Cheap cron tick: engine and store exist (no Bot API call); expire old state now
        and then."""
        self._parts()
        with self._lock:
            due = time.monotonic() - self._last_cleanup >= cleanup_every or not self._last_cleanup
            if due:
                self._last_cleanup = time.monotonic()
        removed = None
        if due:
            try:
                removed = self._parts()[1].cleanup()
            except StoreError as exc:
                log.warning("store cleanup failed: %s", exc)
        return {"ok": True, "cleaned": removed}

    def close(self) -> None:
        """Shut the Application down and stop the loop (tests, graceful exits)."""
        with self._lock:
            loop, thread, app, store = self._loop, self._thread, self._app, self._store
            ledger, tasks, aside = self._ledger, self._tasks, self._aside
            self._tasks = self._aside = None
            self._loop = self._thread = self._app = self._built = self._ledger = None
            self._store = None if self._owns_store else store
        if app is not None and loop is not None:
            try:
                asyncio.run_coroutine_threadsafe(_shutdown(app), loop).result(30)
            except Exception:
                log.exception("application shutdown failed")
            loop.call_soon_threadsafe(loop.stop)
            if thread is not None:
                thread.join(10)
            if not loop.is_running():
                loop.close()
        if ledger is not None:
            ledger.close()
        if aside is not None:
            aside.shutdown(wait=True)
        if tasks is not None:
            tasks.close()
        if store is not None and self._owns_store:
            store.close()


async def _shutdown(app: Any) -> None:
    await app.shutdown()
    if app.post_shutdown is not None:  # stops the render threads (run_polling would call it)
        await app.post_shutdown(app)
