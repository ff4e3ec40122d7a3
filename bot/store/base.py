"""The Store interface: namespaced JSON documents with TTLs, atomic create, CAS update.
(Implementations: sqlite.py, gcs.py; `bot.store.open_store` picks one.)"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable

Doc = dict[str, Any]
#: An update's lifetime: seconds, None (no expiry), or a function of the stored result.
UpdateTtl = float | Callable[[Doc], float] | None


def lifetime(ttl: UpdateTtl, doc: Doc) -> float | None:
    """The seconds `doc` lives when stored with `ttl`."""
    return ttl(doc) if callable(ttl) else ttl


class StoreError(RuntimeError):
    """The backing storage failed (I/O, network); the operation did not happen."""


class Store(ABC):
    """A namespaced JSON document store with TTLs, atomic create and CAS update."""

    @abstractmethod
    def get(self, ns: str, key: str) -> Doc | None:
        """The document, or None when absent or expired."""

    @abstractmethod
    def put(self, ns: str, key: str, doc: Doc, ttl: float | None = None) -> None:
        """Create or overwrite; `ttl` in seconds from now, None = no expiry."""

    @abstractmethod
    def create(self, ns: str, key: str, doc: Doc, ttl: float | None = None) -> bool:
        """Atomically create: True if this call created it, False if a live one existed.

        This is how an update_id is claimed exactly once across threads, processes
        and instances.
        """

    @abstractmethod
    def update(
        self,
        ns: str,
        key: str,
        fn: Callable[[Doc | None], Doc | None],
        ttl: UpdateTtl = None,
    ) -> Doc | None:
        """Compare-and-swap: apply `fn` to the current doc (None if absent) and store
        its result (None deletes), retrying if another writer got in between.
        `ttl` may be a function of the result (its lifetime from what it holds: no read
        beforehand to find out). Returns what was stored."""

    @abstractmethod
    def delete(self, ns: str, key: str) -> bool:
        """Remove one document; True if it existed."""

    @abstractmethod
    def scan(self, ns: str, prefix: str = "") -> list[tuple[str, Doc]]:
        """Live documents whose key starts with `prefix`, sorted by key."""

    @abstractmethod
    def delete_prefix(self, ns: str, prefix: str) -> int:
        """Remove every document whose key starts with `prefix`; returns the count."""

    @abstractmethod
    def cleanup(self) -> int:
        """Remove expired documents in all namespaces; returns the count."""

    def close(self) -> None:
        """Release connections; the default has nothing to release."""
