"""One bot per worker process, driven from a synchronous WSGI server.

python-telegram-bot is asyncio; gunicorn's gthread workers are threads. Each
worker process gets one event loop in a daemon thread, the Application is built
and initialized on it once, and every webhook request submits its update to that
loop and waits for the result. Nothing here runs at import time or before
gunicorn forks: threads do not survive a fork.

Telegram resends an update until it gets a 2xx, App Engine may run several
instances, and gunicorn may kill a worker mid-request, so each update_id is
claimed in the Store (namespace "updates") before it is processed:

    absent ──create──▶ processing(owner, lease) ──▶ done
                          │ owner dead / lease over
                          └──update (CAS)──▶ processing(new owner)

A resend of a done update, or of one this host is still working on, is a
"duplicate" (answered 200). A resend of one claimed by another instance whose
lease still runs is "busy" (answered 503): that instance may have died, and only
a later resend, after the lease, can take the update over. An owner on this host
is dead when its pid is gone (gunicorn killed the worker). A claim whose owner
recorded "sent" (the bot awaits ``bot_data.delivery.mark_sent(update_id)``
right after delivering the image) is never processed again, so a worker killed
after sending does not cause a second image.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Literal

from bot.config import BotConfig
from bot.store import Doc, Store, StoreError, open_store

log = logging.getLogger(__name__)

NS = "updates"
DONE_TTL = 2 * 24 * 3600.0   # longer than Telegram keeps retrying an update (~24 h)
LEASE_MARGIN = 30.0          # a claim outlives the webhook's own timeout by this much
LRU_SIZE = 4096              # update_ids remembered in-process (fallback when the store is down)
START_TIMEOUT = 60.0

Status = Literal["done", "duplicate", "busy", "error", "timeout"]
Verdict = Literal["new", "takeover", "duplicate", "busy"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one webhook update."""

    update_id: int
    status: Status
    seconds: float = 0.0


def _proc_stat(pid: int) -> tuple[str, str] | None:
    """(state, start time in ticks since boot) of a local process, or None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode(errors="replace")
    except OSError:
        return None
    # The command name (field 2) may contain spaces: split after its closing ')'.
    fields = raw.rsplit(")", 1)[1].split()
    return fields[0], fields[19]


def _pid_alive(pid: int, since: str | None) -> bool:
    """True if `pid` runs here and is the same process that wrote the claim."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, but belongs to another user
    stat = _proc_stat(pid)
    if stat is None:
        return True
    state, started = stat
    # A killed worker is a zombie until gunicorn reaps it; a reused pid starts later.
    return state not in ("Z", "X") and (since is None or started == since)


def _host_id() -> str:
    # App Engine instances may share a hostname; GAE_INSTANCE is unique per instance.
    return os.environ.get("GAE_INSTANCE") or socket.gethostname()


class UpdateLedger:
    """Exactly-once claims on update_ids across threads, workers and instances."""

    def __init__(self, store: Store, lease: float) -> None:
        self.store = store
        self.lease = lease
        self.host = _host_id()
        self.pid = os.getpid()
        self.owner = f"{self.host}:{self.pid}"
        stat = _proc_stat(self.pid)
        self._since = stat[1] if stat else None
        self._lock = threading.Lock()
        self._seen: OrderedDict[int, None] = OrderedDict()

    def claim(self, update_id: int) -> Verdict:
        """Decide whether this process handles `update_id`; never drops it silently."""
        with self._lock:
            if update_id in self._seen:
                log.info("update %s: duplicate (already seen by this process)", update_id)
                return "duplicate"
            self._seen[update_id] = None
            while len(self._seen) > LRU_SIZE:
                self._seen.popitem(last=False)
        mine = {
            "state": "processing",
            "owner": self.owner,
            "since": self._since,
            "claim": uuid.uuid4().hex,
            "lease_until": time.time() + self.lease,
        }
        key = str(update_id)
        try:
            if self.store.create(NS, key, mine, ttl=DONE_TTL):
                return "new"
            current = self.store.get(NS, key)
            if current is None or self._stale(current):
                stored = self.store.update(
                    NS, key, lambda cur: self._take_over(update_id, cur, mine), ttl=DONE_TTL
                )
                if stored is not None and stored.get("claim") == mine["claim"]:
                    log.warning("update %s: taking over the claim of %s",
                                update_id, (current or {}).get("owner", "nobody"))
                    return "takeover"
        except StoreError as exc:
            log.warning("update %s: store unavailable (%s); deduplicating in this process only",
                        update_id, exc)
            return "new"
        owner = str((current or {}).get("owner", "another worker"))
        if (current or {}).get("state") == "processing" and not owner.startswith(self.host + ":"):
            # Another instance may have died with it; only its lease will tell. Answering
            # 200 now would lose the update for good, so let Telegram ask again later.
            log.info("update %s: in progress on %s; asking for a resend later", update_id, owner)
            with self._lock:
                self._seen.pop(update_id, None)
            return "busy"
        log.info("update %s: duplicate (claimed by %s)", update_id, owner)
        return "duplicate"

    def _take_over(self, update_id: int, cur: Doc | None, mine: Doc) -> Doc:
        """CAS step: take a dead owner's claim unless it already delivered the result."""
        if cur is None:
            return mine
        if not self._stale(cur):
            return cur
        if cur.get("sent"):
            log.warning("update %s: previous owner died after delivering; not redoing it",
                        update_id)
            return {**cur, "state": "done", "status": "sent-by-dead-owner"}
        return {**mine, "attempts": int(cur.get("attempts", 1)) + 1}

    def _stale(self, doc: Doc) -> bool:
        """Is this claim "processing" for an owner that can no longer finish it?"""
        if doc.get("state") != "processing":
            return False
        host, _, pid_text = str(doc.get("owner", "")).rpartition(":")
        if host == self.host and pid_text.isdigit():
            # Same machine: the pid tells more than the lease (work may outlive it).
            # Our own pid counts too: a claim of this very process is never stale.
            return not _pid_alive(int(pid_text), doc.get("since"))
        return time.time() > float(doc.get("lease_until", 0))

    def finish(self, update_id: int, status: Status) -> None:
        """Mark the update done so resends are dropped for DONE_TTL."""
        doc = {"state": "done", "status": status, "owner": self.owner, "at": time.time()}
        try:
            self.store.put(NS, str(update_id), doc, ttl=DONE_TTL)
        except StoreError as exc:
            log.warning("update %s: could not mark done (%s)", update_id, exc)

    def mark_sent(self, update_id: int) -> None:
        """Record that the result of `update_id` reached the user."""
        try:
            self.store.update(NS, str(update_id), lambda cur: {**(cur or {}), "sent": True},
                              ttl=DONE_TTL)
        except StoreError as exc:
            log.warning("update %s: could not record delivery (%s)", update_id, exc)


class DeliveryHook:
    """Lives in ``bot_data.delivery``; the bot awaits ``mark_sent(update.update_id)``
    right after the result image of an update was sent."""

    def __init__(self, ledger: UpdateLedger) -> None:
        self._ledger = ledger

    async def mark_sent(self, update_id: int) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self._ledger.mark_sent, update_id)


class BotRuntime:
    """The bot of one worker process: an event loop thread, the Application, the ledger."""

    def __init__(self, config: BotConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._engine: Any = None
        self._store: Store | None = None
        self._ledger: UpdateLedger | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._app: Any = None
        self._last_cleanup = 0.0

    # -- lazy construction -------------------------------------------------------
    def _parts(self) -> tuple[Any, Store]:
        """Engine and store: cheap to create (models load on warmup)."""
        with self._lock:
            if self._store is None:
                from nst import Engine

                self._engine = Engine.from_config(self.config.engine)
                self._store = open_store(self.config.store_url)
                lease = self.config.update_timeout + LEASE_MARGIN
                self._ledger = UpdateLedger(self._store, lease)
            return self._engine, self._store

    def _started(self) -> asyncio.AbstractEventLoop:
        """Start the loop thread and initialize the Application, once per process."""
        with self._lock:
            if self._app is not None:
                return self._loop
            engine, store = self._parts()
            from bot.app import build_application

            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="bot-loop", daemon=True)
            thread.start()
            try:
                app = build_application(self.config, engine=engine, store=store)
                app.bot_data.delivery = DeliveryHook(self._ledger)
                asyncio.run_coroutine_threadsafe(app.initialize(), loop).result(START_TIMEOUT)
            except BaseException:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(5)
                loop.close()
                raise
            self._loop, self._thread, self._app = loop, thread, app
            log.info("bot runtime started in pid %s", os.getpid())
            return loop

    # -- what the webhook calls ----------------------------------------------------
    def process(self, update: dict, timeout: float | None = None) -> Outcome:
        """Handle one update exactly once; waits up to `timeout` seconds.

        Raises only if the bot cannot start (before the update is claimed), so the
        caller can answer 5xx and Telegram resends it later.
        """
        loop = self._started()
        update_id = int(update["update_id"])
        t0 = time.monotonic()
        verdict = self._ledger.claim(update_id)
        if verdict in ("duplicate", "busy"):
            return Outcome(update_id, verdict, time.monotonic() - t0)
        future = asyncio.run_coroutine_threadsafe(self._handle(update), loop)
        try:
            future.result(self.config.update_timeout if timeout is None else timeout)
            status: Status = "done"
        except concurrent.futures.TimeoutError:
            # Keep working; the claim stays ours and is closed when the work ends.
            log.warning("update %s: still running after %.0f s; answering anyway",
                        update_id, time.monotonic() - t0)
            future.add_done_callback(lambda f: self._ledger.finish(update_id, _status_of(f)))
            return Outcome(update_id, "timeout", time.monotonic() - t0)
        except Exception:
            # A poison update must not come back forever: log it and call it handled.
            log.exception("update %s: processing failed", update_id)
            status = "error"
        self._ledger.finish(update_id, status)
        return Outcome(update_id, status, time.monotonic() - t0)

    async def _handle(self, data: dict) -> None:
        from telegram import Update

        await self._app.process_update(Update.de_json(data, self._app.bot))

    def warmup(self) -> tuple[bool, str]:
        """Load the model and preset vectors. Never calls the Bot API: anyone can request
        /_ah/warmup, and only /webhook may make the bot act (the Application starts, with
        its getMe, on the first update)."""
        try:
            engine, _ = self._parts()
            engine.warmup()
        except Exception as exc:
            log.exception("warmup failed")
            return False, f"warmup failed: {exc}"
        return True, "ready"

    def health(self) -> tuple[bool, str]:
        """(ok, reason): model files present and verified, store reachable."""
        try:
            engine, store = self._parts()
            ok, reason = engine.health()
            if not ok:
                return False, reason
            store.get("health", "probe")
        except StoreError as exc:
            return False, f"store unreachable: {exc}"
        except Exception as exc:
            return False, f"{type(exc).__name__}: {exc}"
        return True, "ok"

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
                removed = self._store.cleanup()
            except StoreError as exc:
                log.warning("store cleanup failed: %s", exc)
        return {"ok": True, "cleaned": removed}

    def close(self) -> None:
        """Shut the Application down and stop the loop (tests, graceful exits)."""
        with self._lock:
            loop, thread, app, store = self._loop, self._thread, self._app, self._store
            self._loop = self._thread = self._app = self._store = self._ledger = None
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
        if store is not None:
            store.close()


async def _shutdown(app: Any) -> None:
    await app.shutdown()
    if app.post_shutdown is not None:  # stops the render threads (run_polling would call it)
        await app.post_shutdown(app)


def _status_of(future: concurrent.futures.Future) -> Status:
    return "error" if future.cancelled() or future.exception() else "done"
