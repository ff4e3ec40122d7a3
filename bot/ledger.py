"""Exactly-once claims on Telegram update_ids, as pure logic over the Store.

Telegram resends an update until it gets a 2xx, App Engine may run several
instances, and gunicorn may kill a worker mid-request, so each update_id is
claimed in the Store (namespace "updates") before it is processed:

    absent ──create──▶ processing(owner, claim, lease) ──finish (CAS)──▶ done
                          │  ▲ renew (CAS) while the owner works
                          │  └───────────────┘
                          │ owner dead / lease over
                          └──update (CAS)──▶ processing(new owner, new claim)

In Cloud Tasks mode the webhook first records the update as "queued" (``mark_queued``)
and, once its task exists, "enqueued", so that a resend from Telegram is not enqueued
twice; until then a resend enqueues again (an enqueue may have failed or still be in
flight: answering "duplicate" could lose the update; a second task is a duplicate the
claim drops). The task that runs it claims it from "queued" like from absent.

A resend of a done update, or of one this host is still working on, is a
"duplicate". A resend of one claimed by another instance whose lease still runs is
"busy": that instance may have died, and only a later resend, after the lease, can
take the update over. The owner renews its lease while it works (a queue wait, a 429
back-off or an HD render can outlast any fixed lease), so a live owner is never taken
over; renew, mark_sent and finish only touch the claim they made (compare-and-swap on
the claim id), so a slow old owner can never overwrite a new owner's claim, and a
renew that finds the claim gone tells the owner to stop before it sends. An owner on this
host is dead when its pid is gone (gunicorn killed the worker). A claim whose owner
recorded "sent" is never processed again, so a worker killed after sending does not
cause a second image.

Time comes from an injected clock (``time.time`` by default) so tests move it by hand.
The ledger has threads of its own (``run``): a heartbeat must never wait in the pool
where photo decodes and clip scans queue.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Literal, TypeVar

from bot.store import Doc, Store, StoreError

log = logging.getLogger(__name__)

NS = "updates"
DONE_TTL = 2 * 24 * 3600.0   # longer than Telegram keeps retrying an update (~24 h)
LRU_SIZE = 4096              # update_ids remembered in-process (fallback when the store is down)

LEDGER_THREADS = 2

Verdict = Literal["new", "takeover", "duplicate", "busy"]
T = TypeVar("T")


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


def host_id() -> str:
    """This instance's name: App Engine instances may share a hostname; GAE_INSTANCE is
    unique per instance."""
    return os.environ.get("GAE_INSTANCE") or socket.gethostname()


class UpdateLedger:
    """Exactly-once claims on update_ids across threads, workers and instances.

    Synchronous (it is store I/O): call it from a request thread, or ``await ledger.run(fn,
    …)`` from the event loop.
    """

    def __init__(self, store: Store, lease: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.lease = lease
        self.clock = clock
        self.host = host_id()
        self.pid = os.getpid()
        self.owner = f"{self.host}:{self.pid}"
        stat = _proc_stat(self.pid)
        self._since = stat[1] if stat else None
        self._lock = threading.Lock()
        self._seen: OrderedDict[int, None] = OrderedDict()
        self._claims: dict[int, str] = {}     # update_id -> claim id this process holds
        self._leases: dict[int, float] = {}   # update_id -> lease end last written by us
        self._given: OrderedDict[str, None] = OrderedDict()   # claim ids given up
        self._pool: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a ledger call on the ledger's own threads (never the loop's shared pool)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(LEDGER_THREADS, thread_name_prefix="ledger")
            pool = self._pool
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    def close(self) -> None:
        """Stop the ledger's threads (they finish the call they are in)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)

    def claim(self, update_id: int) -> Verdict:
        """Decide whether this process handles `update_id`; never drops it silently."""
        with self._lock:
            if update_id in self._seen:
                log.info("update %s: duplicate (already seen by this process)", update_id)
                return "duplicate"
            self._seen[update_id] = None
            while len(self._seen) > LRU_SIZE:
                self._seen.popitem(last=False)
        try:
            verdict = self._claim(update_id)
        except BaseException:
            # Whatever failed, nothing runs this update here: a resend must be able to.
            self._unsee(update_id)
            raise
        if verdict == "busy":
            self._unsee(update_id)
        return verdict

    def _unsee(self, update_id: int) -> None:
        with self._lock:
            self._seen.pop(update_id, None)

    def _claim(self, update_id: int) -> Verdict:
        mine = {
            "state": "processing",
            "owner": self.owner,
            "since": self._since,
            "claim": uuid.uuid4().hex,
            "lease_until": self.clock() + self.lease,
        }
        key = str(update_id)
        try:
            if self.store.create(NS, key, mine, ttl=DONE_TTL):
                return self._hold(update_id, mine, "new")
            current = self.store.get(NS, key)
            if current is None or current.get("state") == "queued" or self._stale(current):
                stored = self.store.update(
                    NS, key, lambda cur: self._take_over(update_id, cur, mine), ttl=DONE_TTL
                )
                if stored is not None and stored.get("claim") == mine["claim"]:
                    if (current or {}).get("state") in (None, "queued"):
                        return self._hold(update_id, mine, "new")
                    log.warning("update %s: taking over the claim of %s",
                                update_id, (current or {}).get("owner", "nobody"))
                    return self._hold(update_id, mine, "takeover")
                current = stored
        except StoreError as exc:
            log.warning("update %s: store unavailable (%s); deduplicating in this process only",
                        update_id, exc)
            return self._hold(update_id, mine, "new")
        owner = str((current or {}).get("owner", "another worker"))
        if (current or {}).get("state") == "processing" and (
                not owner.startswith(self.host + ":") or self._given_up(current or {})):
            # Another instance may have died with it; only its lease will tell. Answering
            # 200 now would lose the update for good, so let Telegram ask again later.
            log.info("update %s: in progress on %s; asking for a resend later", update_id, owner)
            return "busy"
        log.info("update %s: duplicate (claimed by %s)", update_id, owner)
        return "duplicate"

    def _hold(self, update_id: int, mine: Doc, verdict: Verdict) -> Verdict:
        with self._lock:
            self._claims[update_id] = mine["claim"]
            self._leases[update_id] = float(mine["lease_until"])
        return verdict

    def _given_up(self, doc: Doc) -> bool:
        """A claim this ledger made and then gave up (see give_up)."""
        with self._lock:
            return doc.get("claim") in self._given

    def give_up(self, update_id: int) -> None:
        """The work stopped without a result (its claim was lost, or could not be confirmed):
        forget it here, so a later delivery can claim it again once its lease is over."""
        with self._lock:
            claim = self._claims.pop(update_id, None)
            if claim is not None:
                self._given[claim] = None
                while len(self._given) > LRU_SIZE:
                    self._given.popitem(last=False)
            self._leases.pop(update_id, None)
            self._seen.pop(update_id, None)

    def _take_over(self, update_id: int, cur: Doc | None, mine: Doc) -> Doc:
        """CAS step: take a dead owner's claim unless it already delivered the result."""
        if cur is None or cur.get("state") == "queued":
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
        if host == self.host and pid_text.isdigit() and not self._given_up(doc):
            # Same machine: the pid tells more than the lease (work may outlive it).
            # Our own pid counts too: a claim this process still works on is never stale.
            return not _pid_alive(int(pid_text), doc.get("since"))
        return self.clock() > float(doc.get("lease_until", 0))

    def _mine(self, update_id: int, cur: Doc | None) -> bool:
        with self._lock:
            claim = self._claims.get(update_id)
        return cur is not None and claim is not None and cur.get("claim") == claim

    def _renew(self, update_id: int) -> bool:
        """Extend the lease of our claim; False when it is no longer ours; StoreError."""
        ours = False
        until = self.clock() + self.lease

        def apply(cur: Doc | None) -> Doc | None:
            nonlocal ours
            if cur is None or not self._mine(update_id, cur) or cur.get("state") != "processing":
                return cur
            ours = True
            return {**cur, "lease_until": until}

        self.store.update(NS, str(update_id), apply, ttl=DONE_TTL)
        with self._lock:
            if ours and update_id in self._claims:
                self._leases[update_id] = until
        if not ours:
            log.warning("update %s: the claim is no longer ours", update_id)
        return ours

    def renew(self, update_id: int) -> bool:
        """Heartbeat: extend the lease of our claim; False when it is no longer ours."""
        try:
            return self._renew(update_id)
        except StoreError as exc:
            log.warning("update %s: could not renew the lease (%s)", update_id, exc)
            return True  # unknown: keep working, the next beat tries again

    def confirm(self, update_id: int) -> bool:
        """Just before sending: True only when the claim is surely still ours — renewed now,
        or, with the store unreachable, a lease we wrote that still has a third to run (no
        other instance can take it over before then)."""
        try:
            return self._renew(update_id)
        except StoreError as exc:
            with self._lock:
                until = self._leases.get(update_id, 0.0)
            safe = self.clock() + self.lease / 3 < until
            log.warning("update %s: could not confirm the claim (%s); lease %s", update_id, exc,
                        "still runs" if safe else "may be over: not sending")
            return safe

    def finish(self, update_id: int, status: str) -> bool:
        """Mark our claim done so resends are dropped for DONE_TTL; False when it was not
        ours any more. Compare-and-swap: a claim another owner took over (or already
        finished) is left alone."""
        done = {"state": "done", "status": status, "owner": self.owner, "at": self.clock()}
        ours = False

        def apply(cur: Doc | None) -> Doc | None:
            nonlocal ours
            ours = self._mine(update_id, cur)
            if ours:
                return {**done, **({"sent": True} if (cur or {}).get("sent") else {})}
            log.warning("update %s: finished, but the claim now belongs to %s; leaving it",
                        update_id, (cur or {}).get("owner", "nobody"))
            return cur

        try:
            self.store.update(NS, str(update_id), apply, ttl=DONE_TTL)
        except StoreError as exc:
            log.warning("update %s: could not mark done (%s)", update_id, exc)
            return False
        finally:
            with self._lock:
                self._claims.pop(update_id, None)
                self._leases.pop(update_id, None)
        return ours

    def mark_sent(self, update_id: int) -> bool:
        """Record that the result of `update_id` reached the user, on our own claim only;
        False when the claim is someone else's now (or the store is down)."""
        ours = False

        def apply(cur: Doc | None) -> Doc | None:
            nonlocal ours
            ours = self._mine(update_id, cur)
            return {**cur, "sent": True} if ours and cur is not None else cur

        try:
            self.store.update(NS, str(update_id), apply, ttl=DONE_TTL)
        except StoreError as exc:
            log.warning("update %s: could not record delivery (%s)", update_id, exc)
            return False
        if not ours:
            log.warning("update %s: sent, but the claim is no longer ours", update_id)
        return ours

    def mark_queued(self, update_id: int) -> bool:
        """Cloud Tasks mode, in the webhook: True when this call should enqueue the update
        (no task of it is known to exist), False when it is enqueued, running or done."""
        key = str(update_id)
        if self.store.create(NS, key, {"state": "queued", "at": self.clock()}, ttl=DONE_TTL):
            return True
        current = self.store.get(NS, key)
        return current is None or (current.get("state") == "queued"
                                   and not current.get("enqueued"))

    def enqueued(self, update_id: int) -> None:
        """The task for `update_id` exists: resends from Telegram are duplicates now."""
        def apply(cur: Doc | None) -> Doc | None:
            return {**cur, "enqueued": True} if cur and cur.get("state") == "queued" else cur

        self.store.update(NS, str(update_id), apply, ttl=DONE_TTL)
