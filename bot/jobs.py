"""The render queue: CPU work off the event loop, fair across users.

Stylization takes a second or more of CPU, so it runs on a small thread pool
(``config.workers``) while the event loop keeps answering buttons. When every
worker is busy, jobs wait in a FairScheduler: users take turns by cost (a clip
counts as the photos it is worth), so one user's burst of ten photos or one long clip
cannot starve everybody else. Each waiting
job knows its place in line so the conversation can show "You're #2 in line".

A job's place (a Slot, counted against the user's limit and the instance's) is taken
before its inputs are downloaded, so a user at the limit costs no 20 MB download, and
a crowd finds the instance "busy" instead of filling its memory with waiting inputs. Slots with the same
key (the next version of one result: another strength, colours, HD) replace each
other while they wait, so three fast presses paint the last one, not all three.
"""
from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Generator, Generic, Hashable, TypeVar

from bot import texts
from bot.errors import UserError

log = logging.getLogger(__name__)
T = TypeVar("T")


class QueueFull(UserError):
    """The user already has as many jobs pending as allowed."""

    def __init__(self, count: int) -> None:
        super().__init__(texts.TOO_MANY_PENDING)
        self.count = count


class Busy(UserError):
    """The instance already holds as many jobs as it may, all users together."""

    def __init__(self) -> None:
        super().__init__(texts.BUSY)


class Replaced(Exception):
    """A newer request for the same result took this job's place before it ran."""


class FairScheduler(Generic[T]):
    """FIFO per user; users take turns by cost (start-time fair queuing).

    Each user has a virtual finish time: a job of cost c (a photo is 1, a clip its
    frames × pixels relative to a photo) moves it c further, and the user whose next
    job would start earliest goes first, so a clip counts as the photos it costs.
    With costs of 1 this is plain round robin; ties go to the oldest waiting job.
    """

    def __init__(self) -> None:
        self._queues: dict[Hashable, deque[tuple[int, T, float]]] = {}
        self._finish: dict[Hashable, float] = {}
        self._vtime = 0.0
        self._seq = itertools.count()

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def push(self, user: Hashable, item: T, cost: float = 1.0) -> None:
        self._queues.setdefault(user, deque()).append((next(self._seq), item, max(cost, 0.0)))

    @staticmethod
    def _next_user(queues: dict[Hashable, deque], finish: dict[Hashable, float],
                   vtime: float) -> Hashable:
        return min(queues, key=lambda u: (max(vtime, finish.get(u, vtime)), queues[u][0][0]))

    @staticmethod
    def _take(queues: dict[Hashable, deque], finish: dict[Hashable, float], vtime: float,
              user: Hashable) -> tuple[T, float]:
        _, item, cost = queues[user].popleft()
        if not queues[user]:
            del queues[user]
        start = max(vtime, finish.get(user, vtime))
        finish[user] = start + cost
        return item, start

    def remove(self, user: Hashable, item: T) -> bool:
        """Take a waiting item out of line; False if it is not waiting."""
        queue = self._queues.get(user)
        if queue is None:
            return False
        for entry in queue:
            if entry[1] is item:
                queue.remove(entry)
                if not queue:
                    del self._queues[user]
                return True
        return False

    def pop(self) -> T | None:
        """The next job to run, or None when nothing waits."""
        if not self._queues:
            return None
        user = self._next_user(self._queues, self._finish, self._vtime)
        item, self._vtime = self._take(self._queues, self._finish, self._vtime, user)
        if not self._queues and len(self._finish) > 10_000:
            self._finish.clear()  # bound memory; fairness only matters while busy
        return item

    def order(self) -> list[T]:
        """Waiting jobs in the order pop() would return them."""
        queues = {u: deque(q) for u, q in self._queues.items()}
        finish, vtime, out = dict(self._finish), self._vtime, []
        while queues:
            user = self._next_user(queues, finish, vtime)
            item, vtime = self._take(queues, finish, vtime, user)
            out.append(item)
        return out


class Ticket:
    """One submitted job: await it for the result; watch `position` while it waits."""

    def __init__(self, user: Hashable, fn: Callable[[], Any], future: asyncio.Future) -> None:
        self.user = user
        self.fn = fn
        self.future = future
        self.position = 0                  # 0 = running, N = N-th in line
        self.slot: Slot | None = None
        self.changed = asyncio.Event()     # set whenever `position` changes

    def _move(self, position: int) -> None:
        if position != self.position:
            self.position = position
            self.changed.set()

    def __await__(self) -> Generator[Any, None, Any]:
        return asyncio.shield(self.future).__await__()


class Slot:
    """A place in the queue taken before the job's inputs are downloaded.

    Slots with the same `key` (one result's next version) replace each other while they
    wait: the higher `rank` (the newer version) keeps the place, the other is Replaced.
    """

    def __init__(self, user: Hashable, key: Hashable | None, rank: int) -> None:
        self.user, self.key, self.rank = user, key, rank
        self.ticket: Ticket | None = None
        self.replaced = False
        self.closed = False      # running, finished, released or replaced


class RenderQueue:
    """Runs callables on `workers` threads, at most `max_pending` per user and
    `max_total` in all (waiting or running) at a time."""

    def __init__(self, workers: int, max_pending: int, max_total: int = 16) -> None:
        self.workers = max(1, workers)
        self.max_pending = max(1, max_pending)
        self.max_total = max(1, max_total)
        self._pool: ThreadPoolExecutor | None = None
        self._waiting: FairScheduler[Ticket] = FairScheduler()
        self._running = 0
        self._pending: dict[Hashable, int] = {}
        self._waiting_by_key: dict[Hashable, Slot] = {}   # slots not running yet, by key

    def pending(self, user: Hashable) -> int:
        """Jobs of this user waiting or running."""
        return self._pending.get(user, 0)

    def total(self) -> int:
        """Jobs of all users waiting or running."""
        return sum(self._pending.values())

    def check(self, user: Hashable) -> None:
        """Raise QueueFull before doing any work for a user who is at the limit, Busy
        when the instance is."""
        if self.pending(user) >= self.max_pending:
            raise QueueFull(self.pending(user))
        if self.total() >= self.max_total:
            raise Busy()

    def reserve(self, user: Hashable, key: Hashable | None = None, rank: int = 0) -> Slot:
        """Take a slot before any work is done for the job (call from the event loop).

        Raises QueueFull at the user's limit (Busy at the instance's), unless the job
        replaces a waiting one with
        the same key; raises Replaced when a newer job with the same key already waits.
        """
        slot = Slot(user, key, rank)
        older = self._waiting_by_key.get(key) if key is not None else None
        if older is not None:
            if older.rank >= rank:
                raise Replaced()
            self._replace(older)
        else:
            self.check(user)
            self._pending[user] = self.pending(user) + 1
        if key is not None:
            self._waiting_by_key[key] = slot
        return slot

    def _replace(self, older: Slot) -> None:
        """`older` gives its place (and its pending count) to a newer slot."""
        older.replaced = older.closed = True
        ticket = older.ticket
        if ticket is not None and self._waiting.remove(older.user, ticket):
            ticket.future.set_exception(Replaced())
            self._dispatch()

    def release(self, slot: Slot) -> None:
        """Give back a slot whose job was never submitted (its download failed…)."""
        if not slot.closed:
            slot.closed = True
            self._unkey(slot)
            self._done(slot.user)

    def submit(self, user: Hashable, fn: Callable[[], Any], slot: Slot | None = None,
               cost: float = 1.0) -> Ticket:
        """Queue `fn` in its reserved `slot` (or a new one); ``cost`` is in photos (see
        FairScheduler). Call from the event loop. Raises QueueFull, or Replaced when a
        newer job took the slot meanwhile."""
        slot = slot or self.reserve(user)
        if slot.replaced:
            raise Replaced()
        if self._pool is None:  # created on first use: building the app stays cheap
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="render")
        ticket = Ticket(user, fn, asyncio.get_running_loop().create_future())
        ticket.position = -1  # so the first _move always reports
        ticket.slot = slot
        slot.ticket = ticket
        self._waiting.push(user, ticket, cost)
        self._dispatch()
        return ticket

    def _unkey(self, slot: Slot) -> None:
        if slot.key is not None and self._waiting_by_key.get(slot.key) is slot:
            del self._waiting_by_key[slot.key]

    def _done(self, user: Hashable) -> None:
        left = self.pending(user) - 1
        if left > 0:
            self._pending[user] = left
        else:
            self._pending.pop(user, None)

    def _dispatch(self) -> None:
        while self._running < self.workers:
            ticket = self._waiting.pop()
            if ticket is None:
                break
            self._running += 1
            assert ticket.slot is not None, "submitted with its slot"
            ticket.slot.closed = True
            self._unkey(ticket.slot)
            ticket._move(0)
            loop = asyncio.get_running_loop()
            job = loop.run_in_executor(self._pool, ticket.fn)
            job.add_done_callback(functools.partial(self._finished, ticket))
        for place, ticket in enumerate(self._waiting.order(), start=1):
            ticket._move(place)

    def _finished(self, ticket: Ticket, done: asyncio.Future) -> None:
        self._running -= 1
        self._done(ticket.user)
        if not ticket.future.done():
            if done.cancelled():
                ticket.future.cancel()
            elif (error := done.exception()) is not None:
                ticket.future.set_exception(error)
            else:
                ticket.future.set_result(done.result())
        self._dispatch()

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
