"""The /forget marker, and one update's writes checked against it once instead of after
each of them.

A /forget records its time before it wipes the user's documents (bot/state.py), so a
check that does not see the marker comes before the wipe, and the wipe deletes every
write finished before the check. One check after an update's last write therefore
keeps the same promise as one after each write: while an update runs
(`ForgetGuard.checked_once`, opened around each update by bot.app) its writes are
collected and checked together — when a handler asks (`kept`, before showing a
keyboard) and when the update ends. Outside an update (a Mini App send) every write is
checked at once.
"""
from __future__ import annotations

import asyncio
import contextlib
import math
import threading
from contextvars import ContextVar
from dataclasses import dataclass
from typing import AsyncIterator, Callable

from bot.store import Store

FORGOTTEN = "forgotten"         # namespace: u{user} -> {"at": when /forget was said}
FORGET_MEMORY = 3600.0          # longer than any render can take


@dataclass(frozen=True)
class Written:
    """One document written on a user's behalf by an update that arrived at `since`."""
    ns: str
    key: str
    since: float


class Writes:
    """What one update wrote, per user, not yet checked against /forget. Store calls run
    on worker threads, hence the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, list[Written]] = {}
        self._closed = False

    def add(self, user_id: int, written: Written) -> bool:
        """Leave `written` to the update's check; False once the update has ended (the
        writer checks it itself)."""
        with self._lock:
            if self._closed:
                return False
            self._pending.setdefault(user_id, []).append(written)
            return True

    def take(self, user_id: int) -> list[Written]:
        """The user's writes not yet checked (each is taken once)."""
        with self._lock:
            return self._pending.pop(user_id, [])

    def close(self) -> list[int]:
        """The update ended: the users left to check; later writes check themselves."""
        with self._lock:
            self._closed = True
            return list(self._pending)


#: The running update's writes (threads started with asyncio.to_thread see them too).
_CURRENT: ContextVar[Writes | None] = ContextVar("bot_update_writes", default=None)


class ForgetGuard:
    """Each user's /forget marker, and the checks that take back writes older than it."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self.store, self.clock = store, clock

    def mark(self, user_id: int) -> None:
        """Record a /forget (synchronous; before the wipe, which is what makes the
        checks sound)."""
        self.store.put(FORGOTTEN, f"u{user_id}", {"at": self.clock()}, FORGET_MEMORY)

    def forgotten(self, user_id: int, since: float) -> bool:
        """Did the user say /forget at or after `since`? (synchronous)"""
        return self._forgotten_at(user_id) >= since

    def _forgotten_at(self, user_id: int) -> float:
        doc = self.store.get(FORGOTTEN, f"u{user_id}")
        return float(doc.get("at", 0)) if doc is not None else -math.inf

    def stands(self, ns: str, user_id: int, key: str, since: float) -> bool:
        """After a write (synchronous): inside an update it joins the update's writes,
        checked together; elsewhere it is checked now and taken back after a later
        /forget. False when taken back."""
        update_writes = _CURRENT.get()
        if update_writes is not None and update_writes.add(user_id, Written(ns, key, since)):
            return True
        if self.forgotten(user_id, since):
            self.store.delete(ns, key)
            return False
        return True

    def _check(self, update_writes: Writes, user_id: int) -> bool:
        """One marker read for the user's unchecked writes of this update (none: no read);
        those older than the /forget are taken back. True when all of them stand."""
        pending = update_writes.take(user_id)
        if not pending:
            return True
        at = self._forgotten_at(user_id)
        gone = [w for w in pending if at >= w.since]
        for w in gone:
            self.store.delete(w.ns, w.key)
        return not gone

    async def kept(self, user_id: int) -> bool:
        """Do the user's writes of this update stand (no /forget since it arrived)?"""
        update_writes = _CURRENT.get()
        if update_writes is None:
            return True  # every write was checked as it was made
        return await asyncio.to_thread(self._check, update_writes, user_id)

    @contextlib.asynccontextmanager
    async def checked_once(self) -> AsyncIterator[None]:
        """Run one update: its writes are checked together once it ends (or earlier where
        it asks `kept`), even when it fails or is cancelled."""
        update_writes = Writes()
        token = _CURRENT.set(update_writes)
        try:
            yield
        finally:
            _CURRENT.reset(token)
            await asyncio.shield(asyncio.to_thread(self._settle, update_writes))

    def _settle(self, update_writes: Writes) -> None:
        for user_id in update_writes.close():
            self._check(update_writes, user_id)
