"""Helpers shared by the store tests: threads released together (the settable clock is
devkit.clock.ManualClock)."""
from __future__ import annotations

import threading


def run_threads(n: int, target) -> list:
    """target(i) on n threads released together by a barrier; their results, in order."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(10)
            results[i] = target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return results
