"""Test controls of :class:`FakeTelegram`: custom answers, queued and random faults,
delays and blocked chats."""
from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from .protocol import Call
from .server import Fault


class FaultsMixin:
    """on / fail_next / reset_next / fail_randomly / delay_next / hold_answer / block."""

    # -- test controls -------------------------------------------------------------------
    def on(self, method: str, handler: Callable[[Call], Any] | Any) -> None:
        """Answer ``method`` with ``handler(call)`` (or a fixed result); raise ApiError from
        the handler for an error answer. Overrides the built-in implementation."""
        fn = handler if callable(handler) else (lambda call, _r=handler: copy.deepcopy(_r))
        with self._lock:
            self._custom[method.lower()] = (method, fn)

    def fail_next(self, method: str, *, status: int = 429, retry_after: int = 1,
                  count: int = 1, description: str | None = None) -> None:
        """The next ``count`` calls to ``method`` ("*" = any, "file" = downloads) fail."""
        self._add_fault(method, Fault("fail", count, status, retry_after, description))

    def reset_next(self, method: str, count: int = 1) -> None:
        """The next ``count`` calls to ``method`` get their connection closed, no answer."""
        self._add_fault(method, Fault("reset", count))

    def fail_randomly(self, methods: set[str] | frozenset[str], rate: float, *,
                      status: int = 429, retry_after: int = 1, seed: int = 0) -> None:
        """From now on, each call to one of ``methods`` fails with probability ``rate``
        (seeded, so a run can be repeated); ``rate=0`` switches it off. Faults queued with
        fail_next/reset_next go first. ``injected`` counts the failures."""
        import random

        with self._lock:
            self._chaos = ({self._canonical(m) for m in methods}, float(rate), status,
                           retry_after, random.Random(seed))

    def _random_fault(self, method: str) -> Fault | None:
        with self._lock:
            methods, rate, status, retry_after, rng = self._chaos
            if method not in methods or rate <= 0 or rng.random() >= rate:
                return None
            self.injected += 1
        return Fault("fail", 1, status, retry_after)

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Sleep ``seconds`` before answering the next ``count`` calls ("file" = downloads)."""
        with self._lock:
            self._delays.setdefault(self._fault_key(method), []).append([seconds, count])

    def hold_answer(self, method: str, seconds: float, count: int = 1) -> None:
        """Carry out the next ``count`` calls to ``method`` at once (the message exists, the
        call is recorded as answered) but send the HTTP answer only ``seconds`` later: a
        slow-but-successful Telegram, which a client may take for a failure."""
        with self._lock:
            self._holds.setdefault(self._fault_key(method), []).append([seconds, count])

    def hold_randomly(self, methods: set[str] | frozenset[str], rate: float, seconds: float, *,
                      seed: int = 0) -> None:
        """From now on, each call to one of ``methods`` is carried out but answered
        ``seconds`` late with probability ``rate`` (seeded); ``rate=0`` switches it off.
        ``held`` counts them."""
        import random

        with self._lock:
            self._slow = ({self._canonical(m) for m in methods}, float(rate), float(seconds),
                          random.Random(seed))

    def _random_hold(self, method: str) -> float:
        with self._lock:
            methods, rate, seconds, rng = self._slow
            if method not in methods or rate <= 0 or rng.random() >= rate:
                return 0.0
            self.held += 1
        return seconds

    def _fault_key(self, method: str) -> str:
        return method if method in ("*", "file") else self._canonical(method)

    def _add_fault(self, method: str, fault: Fault) -> None:
        with self._lock:
            self._faults.setdefault(self._fault_key(method), []).append(fault)

    def _take(self, table: dict[str, list], method: str) -> Any:
        with self._lock:
            for key in (method, "*") if method != "file" else ("file",):
                queue = table.get(key)
                if queue:
                    entry = queue[0]
                    if isinstance(entry, Fault):
                        entry.remaining -= 1
                        done = entry.remaining <= 0
                    else:
                        entry[1] -= 1
                        done = entry[1] <= 0
                    if done:
                        queue.pop(0)
                    return entry
        return None

    def block(self, chat_id: int) -> None:
        """Sends to this chat now fail with 403 "Forbidden: bot was blocked by the user"."""
        with self._lock:
            self.blocked_chats.add(int(chat_id))
