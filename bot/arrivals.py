"""A few threads of their own for what arrives: picture decodes and clip scans.

Checking a file on arrival (decode it small, scan a clip's packets) is CPU and memory
work that runs outside the render queue. On asyncio's default pool it would queue
store I/O and claim renewals behind it, and any number of arrivals at once would
decode at once; here at most ``workers`` run and the rest wait their turn.
"""
from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

T = TypeVar("T")

ARRIVAL_WORKERS = 2   # two big decodes at once stay within an instance's memory


class ArrivalPool:
    """A bounded thread pool for arrival checks; ``await pool.run(fn, *args)``."""

    def __init__(self, workers: int = ARRIVAL_WORKERS) -> None:
        self.workers = workers
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="arrival")

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
