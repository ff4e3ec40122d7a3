"""A clock a test moves by hand: the ledger (and anything else that takes a `clock`)
reads it instead of ``time.time``, so a test lets a lease run out without sleeping."""
from __future__ import annotations

import threading
import time


class ManualClock:
    """Starts at the real time; only `advance` moves it. Thread-safe."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
