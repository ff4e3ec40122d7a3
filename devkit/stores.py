"""A real Store with a seam for tests: `PassThroughStore` forwards every call to the
store it wraps; a test subclasses it to inject one fault, a pause or a counter at the
exact call it is about, while everything else stays the real store. `CountingStore`
counts what reaches the store (tests and bench/)."""
from __future__ import annotations

import collections
import time
from typing import Any, Callable

from bot.store import Doc, Store, UpdateTtl


class PassThroughStore(Store):
    """Forwards everything to `inner`."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    def get(self, ns: str, key: str) -> Doc | None:
        return self.inner.get(ns, key)

    def put(self, ns: str, key: str, doc: Doc, ttl: float | None = None) -> None:
        self.inner.put(ns, key, doc, ttl)

    def create(self, ns: str, key: str, doc: Doc, ttl: float | None = None) -> bool:
        return self.inner.create(ns, key, doc, ttl)

    def update(self, ns: str, key: str, fn: Callable[[Doc | None], Doc | None],
               ttl: UpdateTtl = None) -> Doc | None:
        return self.inner.update(ns, key, fn, ttl)

    def delete(self, ns: str, key: str) -> bool:
        return self.inner.delete(ns, key)

    def scan(self, ns: str, prefix: str = "") -> list[tuple[str, Doc]]:
        return self.inner.scan(ns, prefix)

    def delete_prefix(self, ns: str, prefix: str) -> int:
        return self.inner.delete_prefix(ns, prefix)

    def cleanup(self) -> int:
        return self.inner.cleanup()

    def close(self) -> None:
        self.inner.close()


class CountingStore(PassThroughStore):
    """Counts (and times) the calls that reach the store, by "verb namespace"."""

    def __init__(self, inner: Store) -> None:
        super().__init__(inner)
        self.calls: collections.Counter[str] = collections.Counter()
        self.seconds: collections.Counter[str] = collections.Counter()

    def clear(self) -> None:
        self.calls.clear()
        self.seconds.clear()

    def _timed(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.calls[what] += 1
            self.seconds[what] += time.perf_counter() - t0

    def get(self, ns: str, key: str) -> Doc | None:
        return self._timed(f"get {ns}", self.inner.get, ns, key)

    def put(self, ns: str, key: str, doc: Doc, ttl: float | None = None) -> None:
        self._timed(f"put {ns}", self.inner.put, ns, key, doc, ttl)

    def create(self, ns: str, key: str, doc: Doc, ttl: float | None = None) -> bool:
        return self._timed(f"create {ns}", self.inner.create, ns, key, doc, ttl)

    def update(self, ns: str, key: str, fn: Callable[[Doc | None], Doc | None],
               ttl: UpdateTtl = None) -> Doc | None:
        return self._timed(f"update {ns}", self.inner.update, ns, key, fn, ttl)

    def delete(self, ns: str, key: str) -> bool:
        return self._timed(f"delete {ns}", self.inner.delete, ns, key)
