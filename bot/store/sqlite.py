"""SQLite implementation of the Store (default; one host, any number of threads and processes).

One table ``docs(ns, key, doc, expires)`` with primary key (ns, key) and an index on
``expires``. The database runs in WAL mode (readers never block the writer) with a
busy timeout, so several worker processes can share one file.

Connections: one per thread (``threading.local``). Each connection is used only by the
thread that opened it, readers in different threads run concurrently under WAL, and
writers in this process wait for each other exactly like writers in other processes do
(SQLite's own lock + busy timeout) instead of through a second, Python-level lock that
could not see the other processes anyway. Connections are opened with
``check_same_thread=False`` only so that ``close()`` can close all of them from one
thread (and a new connection closes those of threads that have ended). After
``fork()`` inherited connections are abandoned, never used or closed.

Atomicity:
- ``create`` is one ``INSERT … ON CONFLICT DO UPDATE … WHERE <existing row expired>``
  statement: it inserts, or takes over an expired row, or changes nothing; the number of
  changed rows says which. One statement = one atomic write transaction.
- ``update`` runs read → fn → write inside ``BEGIN IMMEDIATE``, which takes the
  database write lock up front, so no other writer (thread or process) can get in
  between: the compare-and-swap cannot fail and needs no retry loop. Keep `fn` quick.

Times are ``clock()`` seconds (default ``time.time``; tests inject a fake clock).
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Callable, Iterator

from bot.store.base import Doc, Store, StoreError, UpdateTtl, lifetime

log = logging.getLogger(__name__)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS docs (
        ns      TEXT NOT NULL,
        key     TEXT NOT NULL,
        doc     TEXT NOT NULL,
        expires REAL,
        PRIMARY KEY (ns, key)
    ) WITHOUT ROWID""",
    "CREATE INDEX IF NOT EXISTS docs_expires ON docs(expires) WHERE expires IS NOT NULL",
)

# Connections inherited through fork(): closing them in the child could disturb the
# parent's locks and WAL, so they are parked here forever instead.
_ABANDONED: list[sqlite3.Connection] = []


@contextlib.contextmanager
def _errors(what: str) -> Iterator[None]:
    """sqlite3 errors → StoreError; anything else (e.g. raised by an update fn) passes."""
    try:
        yield
    except sqlite3.Error as exc:
        raise StoreError(f"SQLite store: {what} failed: {exc}") from exc


def _encode(doc: Doc) -> str:
    if not isinstance(doc, dict):
        raise TypeError(f"a document must be a dict, not {type(doc).__name__}")
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


class SqliteStore(Store):
    """`SqliteStore("data/bot.sqlite3")`; parent directories are created."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.timeout = float(timeout)
        self.clock = clock
        self._local = threading.local()
        self._conns: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._conns_lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for {self.path}: {exc}") from exc
        with _errors("open"):
            conn = self._conn()
            for stmt in _SCHEMA:
                conn.execute(stmt)

    # ------------------------------------------------------------------ plumbing

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            str(self.path),
            timeout=self.timeout,
            isolation_level=None,  # autocommit; transactions are explicit
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("SQLite store %s: journal_mode is %s, not WAL", self.path, mode)
            conn.execute("PRAGMA synchronous = NORMAL")  # durable in WAL except on power loss
        except BaseException:
            conn.close()
            raise
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the store is closed")
        if os.getpid() != self._pid:  # forked: never touch the parent's connections
            with self._conns_lock:
                _ABANDONED.extend(c for _, c in self._conns)
                self._conns = []
                self._local = threading.local()
                self._pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            with self._conns_lock:
                # Close the connections of threads that have ended (no one else uses them).
                dead = [c for t, c in self._conns if not t.is_alive()]
                self._conns = [(t, c) for t, c in self._conns if t.is_alive()]
                self._conns.append((threading.current_thread(), conn))
            for c in dead:
                with contextlib.suppress(sqlite3.Error):
                    c.close()
        return conn

    def _write_txn(self) -> "_Txn":
        return _Txn(self._conn())

    # ------------------------------------------------------------------ API

    def get(self, ns: str, key: str) -> Doc | None:
        with _errors("get"):
            row = self._conn().execute(
                "SELECT doc FROM docs WHERE ns = ? AND key = ? AND (expires IS NULL OR expires > ?)",
                (ns, key, self.clock()),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, ns: str, key: str, doc: Doc, ttl: float | None = None) -> None:
        data = _encode(doc)
        with _errors("put"):
            now = self.clock()
            self._conn().execute(
                "INSERT OR REPLACE INTO docs (ns, key, doc, expires) VALUES (?, ?, ?, ?)",
                (ns, key, data, None if ttl is None else now + ttl),
            )

    def create(self, ns: str, key: str, doc: Doc, ttl: float | None = None) -> bool:
        data = _encode(doc)
        with _errors("create"):
            now = self.clock()
            cur = self._conn().execute(
                """INSERT INTO docs (ns, key, doc, expires) VALUES (?, ?, ?, ?)
                   ON CONFLICT (ns, key) DO UPDATE
                       SET doc = excluded.doc, expires = excluded.expires
                       WHERE docs.expires IS NOT NULL AND docs.expires <= ?""",
                (ns, key, data, None if ttl is None else now + ttl, now),
            )
            return cur.rowcount == 1

    def update(
        self,
        ns: str,
        key: str,
        fn: Callable[[Doc | None], Doc | None],
        ttl: UpdateTtl = None,
    ) -> Doc | None:
        """CAS under the database write lock. `ttl` applies to the stored result as in
        `put` (None = no expiry); an exception from `fn` rolls back and propagates."""
        with _errors("update"), self._write_txn() as conn:
            now = self.clock()
            row = conn.execute(
                "SELECT doc, expires FROM docs WHERE ns = ? AND key = ?", (ns, key)
            ).fetchone()
            live = row is not None and (row[1] is None or row[1] > now)
            current = json.loads(row[0]) if live else None
            new = fn(current)
            if new is None:
                if row is not None:
                    conn.execute("DELETE FROM docs WHERE ns = ? AND key = ?", (ns, key))
                return None
            seconds = lifetime(ttl, new)
            conn.execute(
                "INSERT OR REPLACE INTO docs (ns, key, doc, expires) VALUES (?, ?, ?, ?)",
                (ns, key, _encode(new), None if seconds is None else now + seconds),
            )
            return new

    def delete(self, ns: str, key: str) -> bool:
        with _errors("delete"):
            now = self.clock()
            rows = self._conn().execute(
                "DELETE FROM docs WHERE ns = ? AND key = ? RETURNING expires", (ns, key)
            ).fetchall()
        return any(exp is None or exp > now for (exp,) in rows)

    def scan(self, ns: str, prefix: str = "") -> list[tuple[str, Doc]]:
        with _errors("scan"):
            rows = self._conn().execute(
                """SELECT key, doc FROM docs
                   WHERE ns = ? AND key >= ? AND substr(key, 1, ?) = ?
                     AND (expires IS NULL OR expires > ?)
                   ORDER BY key""",
                (ns, prefix, len(prefix), prefix, self.clock()),
            ).fetchall()
        return [(k, json.loads(d)) for k, d in rows]

    def delete_prefix(self, ns: str, prefix: str) -> int:
        with _errors("delete_prefix"):
            cur = self._conn().execute(
                "DELETE FROM docs WHERE ns = ? AND key >= ? AND substr(key, 1, ?) = ?",
                (ns, prefix, len(prefix), prefix),
            )
            return cur.rowcount

    def cleanup(self) -> int:
        with _errors("cleanup"):
            cur = self._conn().execute(
                "DELETE FROM docs WHERE expires IS NOT NULL AND expires <= ?", (self.clock(),)
            )
            return cur.rowcount

    def close(self) -> None:
        # Only connections no other live thread can be using are closed here: closing a
        # connection while another thread runs a statement on it can crash the
        # interpreter. The others are dropped and closed when garbage collected; their
        # threads get StoreError("the store is closed") on their next call.
        me = threading.current_thread()
        with self._conns_lock:
            conns = [c for t, c in self._conns if t is me or not t.is_alive()]
            self._conns = []
            self._closed = True
            forked = os.getpid() != self._pid
        for conn in conns:
            if forked:
                _ABANDONED.append(conn)
                continue
            try:
                conn.close()
            except sqlite3.Error:  # pragma: no cover - best effort
                log.debug("closing a SQLite connection failed", exc_info=True)

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"


class _Txn:
    """BEGIN IMMEDIATE … COMMIT, ROLLBACK on any exception."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                self._rollback()
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        try:
            self.conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass
