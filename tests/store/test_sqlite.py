"""SqliteStore specifics: WAL, parent dirs, errors, locking, connections per thread."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bot.store import StoreError
from bot.store.sqlite import SqliteStore
from tests.store.harness import run_threads


def test_sqlite_wal_and_parent_dirs(tmp_path):
    path = tmp_path / "a" / "b" / "bot.sqlite3"
    store = SqliteStore(path)
    store.put("ns", "k", {"v": 1})
    import sqlite3

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    idx = [r[1] for r in conn.execute("PRAGMA index_list(docs)")]
    assert "docs_expires" in idx
    conn.close()
    store.close()
    with pytest.raises(StoreError):
        store.get("ns", "k")  # closed


def test_sqlite_errors_are_store_errors(tmp_path):
    bad = tmp_path / "not-a-db.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError):
        SqliteStore(bad)
    folder = tmp_path / "dir.sqlite3"
    folder.mkdir()
    with pytest.raises(StoreError):
        SqliteStore(folder)


def test_sqlite_locked_database_times_out_as_store_error(tmp_path):
    import sqlite3

    path = tmp_path / "locked.sqlite3"
    store = SqliteStore(path, timeout=0.3)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        t0 = time.monotonic()
        with pytest.raises(StoreError):
            store.put("ns", "k", {"v": 1})
        assert time.monotonic() - t0 < 5
        assert store.get("ns", "k") is None  # readers are not blocked under WAL
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.put("ns", "k", {"v": 1})
    assert store.get("ns", "k") == {"v": 1}


def test_sqlite_connection_per_thread(tmp_path):
    store = SqliteStore(tmp_path / "t.sqlite3")
    all_open = threading.Barrier(4)

    def open_one(i: int) -> int:
        conn = store._conn()
        assert store._conn() is conn  # stable within a thread
        all_open.wait(10)  # all alive at once, so ids cannot be reused
        return id(conn)

    assert len(set(run_threads(4, open_one))) == 4
    run_threads(1, lambda i: store.put("ns", "k", {"v": 1}))  # opening one prunes the dead
    assert len(store._conns) == 2  # the constructing (main) thread's and the last one
    store.close()


def test_sqlite_store_sees_other_instances(tmp_path):
    a = SqliteStore(tmp_path / "shared.sqlite3")
    b = SqliteStore(tmp_path / "shared.sqlite3")
    assert a.create("claims", "k", {"by": "a"})
    assert not b.create("claims", "k", {"by": "b"})
    assert b.get("claims", "k") == {"by": "a"}
    a.close()
    b.close()


def test_path_type(tmp_path):
    assert isinstance(SqliteStore(str(tmp_path / "s.sqlite3")).path, Path)
