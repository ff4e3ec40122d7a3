"""One contract for every Store: SQLite (a temp file) and GCS (the emulator).

About GCS preconditions: gcp-storage-emulator 2026.7.19 accepts ``ifGenerationMatch``
and ignores it (see `test_raw_emulator_precondition_support`, which checks this every
run). The GCS store relies on that precondition for create-exactly-once and CAS update,
so the "gcs" parametrization runs against the emulator plus the small precondition shim
in tests/gcs_emulator.py (412 when the generation does not match, like real GCS), and
`test_gcs_sends_generation_preconditions` asserts on the wire that production code sends
the precondition on every conditional write.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.store import Store, StoreError, open_store
from bot.store.gcs import GcsStore
from bot.store.sqlite import SqliteStore
from tests.gcs_emulator import (REPO, Emulator, emulator_env, free_port, make_client,
                                start_emulator_process)

BACKENDS = ["sqlite", "gcs"]


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def make_store(backend, tmp_path, request):
    """make_store(clock=None) -> a Store on fresh storage (one file / one bucket per test)."""
    stores: list[Store] = []
    if backend == "sqlite":
        path = tmp_path / "sub" / "dir" / "bot.sqlite3"

        def make(clock=None) -> Store:
            kw = {"clock": clock} if clock else {}
            s = SqliteStore(path, **kw)
            stores.append(s)
            return s
    else:
        emu = request.getfixturevalue("gcs_emulator")
        bucket = emu.new_bucket("store")

        def make(clock=None) -> Store:
            kw = {"clock": clock} if clock else {}
            s = GcsStore(bucket, "bot", **kw)
            stores.append(s)
            return s

    yield make
    for s in stores:
        s.close()


@pytest.fixture
def store(make_store, clock) -> Store:
    return make_store(clock)


# --------------------------------------------------------------------------- basics

def test_get_put_roundtrip(store):
    assert store.get("sessions", "u1:a") is None
    doc = {"n": 1, "text": "Grüße ✓", "nested": {"list": [1, 2.5, None, True]}}
    store.put("sessions", "u1:a", doc)
    assert store.get("sessions", "u1:a") == doc
    store.put("sessions", "u1:a", {"n": 2})
    assert store.get("sessions", "u1:a") == {"n": 2}
    assert store.get("other", "u1:a") is None  # namespaces are separate


def test_put_rejects_non_dict(store):
    with pytest.raises(TypeError):
        store.put("ns", "k", ["not", "a", "dict"])  # type: ignore[arg-type]


def test_ttl_expiry(store, clock):
    store.put("ns", "short", {"v": 1}, ttl=10)
    store.put("ns", "forever", {"v": 2})
    clock.advance(9.5)
    assert store.get("ns", "short") == {"v": 1}
    clock.advance(1)
    assert store.get("ns", "short") is None
    assert store.get("ns", "forever") == {"v": 2}
    assert [k for k, _ in store.scan("ns")] == ["forever"]
    clock.advance(10 ** 6)
    assert store.get("ns", "forever") == {"v": 2}


def test_create_once_then_after_expiry(store, clock):
    assert store.create("claims", "update:1", {"by": "a"}, ttl=60) is True
    assert store.create("claims", "update:1", {"by": "b"}, ttl=60) is False
    assert store.get("claims", "update:1") == {"by": "a"}
    clock.advance(61)
    assert store.get("claims", "update:1") is None
    assert store.create("claims", "update:1", {"by": "c"}, ttl=60) is True  # takes over
    assert store.get("claims", "update:1") == {"by": "c"}
    assert store.create("claims", "update:1", {"by": "d"}) is False
    assert store.create("claims", "forever", {"x": 1}) is True
    clock.advance(10 ** 6)
    assert store.create("claims", "forever", {"x": 2}) is False


def test_delete(store, clock):
    store.put("ns", "a", {"v": 1})
    store.put("ns", "b", {"v": 2}, ttl=5)
    assert store.delete("ns", "a") is True
    assert store.delete("ns", "a") is False
    assert store.get("ns", "a") is None
    clock.advance(6)
    assert store.delete("ns", "b") is False  # expired = absent (a one-shot token stays spent)
    assert store.delete("ns", "never") is False


def test_update(store, clock):
    seen = []

    def bump(doc):
        seen.append(doc)
        return {"n": (doc or {"n": 0})["n"] + 1}

    assert store.update("ns", "c", bump) == {"n": 1}
    assert store.update("ns", "c", bump, ttl=30) == {"n": 2}
    assert seen[:2] == [None, {"n": 1}]
    assert store.get("ns", "c") == {"n": 2}
    clock.advance(31)
    assert store.update("ns", "c", bump) == {"n": 1}  # the expired doc read as absent


def test_update_returning_none_deletes(store):
    store.put("ns", "gone", {"v": 1})
    assert store.update("ns", "gone", lambda doc: None) is None
    assert store.get("ns", "gone") is None
    assert store.update("ns", "never", lambda doc: None) is None
    assert store.get("ns", "never") is None


def test_update_exception_propagates_and_changes_nothing(store):
    class Boom(Exception):
        pass

    store.put("ns", "k", {"v": 1})

    def fail(doc):
        raise Boom()

    with pytest.raises(Boom):
        store.update("ns", "k", fail)
    assert store.get("ns", "k") == {"v": 1}
    store.put("ns", "k2", {"v": 1})  # the store is still usable (no open transaction)
    assert store.get("ns", "k2") == {"v": 1}


WEIRD_KEYS = ["u1:a b", "u1:a/b/../c", "u1:%2F", "u1:#?*[]", "u1:é", "u1:.", "u1:..", "u1:x\\y"]


def test_scan_order_and_prefix(store):
    keys = ["u1:b", "u1:a", "u10:x", "u2:a", "u1:", *WEIRD_KEYS]
    for i, k in enumerate(keys):
        store.put("ns", k, {"i": i})
    store.put("other", "u1:zzz", {"i": -1})
    got = store.scan("ns", "u1:")
    assert [k for k, _ in got] == sorted(k for k in keys if k.startswith("u1:"))
    assert all(doc == {"i": keys.index(k)} for k, doc in got)
    assert [k for k, _ in store.scan("ns")] == sorted(keys)
    assert store.scan("ns", "u3:") == []
    for k in WEIRD_KEYS:  # every key round-trips through the backend's naming
        assert store.get("ns", k) == {"i": keys.index(k)}


def test_delete_prefix(store):
    for k in ["u1:a", "u1:b", "u10:a", "u2:a"]:
        store.put("ns", k, {"k": k})
    store.put("other", "u1:a", {"k": "other"})
    assert store.delete_prefix("ns", "u1:") == 2
    assert [k for k, _ in store.scan("ns")] == ["u10:a", "u2:a"]
    assert store.get("other", "u1:a") == {"k": "other"}
    assert store.delete_prefix("ns", "u1:") == 0


def test_cleanup(store, clock):
    store.put("a", "1", {"v": 1}, ttl=5)
    store.put("b", "2", {"v": 2}, ttl=5)
    store.put("b", "3", {"v": 3}, ttl=50)
    store.put("c", "4", {"v": 4})
    assert store.cleanup() == 0
    clock.advance(6)
    assert store.cleanup() == 2
    assert store.cleanup() == 0
    assert store.scan("b") == [("3", {"v": 3})]
    assert store.get("c", "4") == {"v": 4}


def test_open_store_urls(tmp_path, gcs_emulator):
    s = open_store(f"sqlite:///{tmp_path / 'x' / 'db.sqlite3'}")
    assert isinstance(s, SqliteStore)
    s.put("n", "k", {"a": 1})
    s.close()
    bucket = gcs_emulator.new_bucket("open")
    g = open_store(f"gs://{bucket}/some/prefix")
    assert isinstance(g, GcsStore) and g.prefix == "some/prefix"
    g.put("n", "k", {"a": 1})
    names = [b.name for b in make_client().list_blobs(bucket)]
    assert names == ["some/prefix/n/k.json"]
    with pytest.raises(ValueError):
        open_store("redis://nope")


# --------------------------------------------------------------------------- concurrency

def _run_threads(n: int, target) -> list:
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


def test_create_exactly_once_under_threads(make_store):
    stores = [make_store() for _ in range(4)]  # several clients/connections, shared storage
    for round_ in range(5):
        key = f"update:{round_}"
        wins = _run_threads(16, lambda i, key=key: stores[i % 4].create("claims", key, {"by": i}, ttl=60))
        assert sum(wins) == 1, wins
        winner = wins.index(True)
        assert stores[0].get("claims", key) == {"by": winner}


def test_create_after_expiry_taken_over_exactly_once(make_store, clock):
    store = make_store(clock)
    store.create("claims", "k", {"by": "old"}, ttl=1)
    clock.advance(2)
    wins = _run_threads(16, lambda i: store.create("claims", "k", {"by": i}, ttl=60))
    assert sum(wins) == 1, wins
    assert store.get("claims", "k") == {"by": wins.index(True)}


def test_update_cas_under_contention(make_store):
    stores = [make_store() for _ in range(4)]
    per_thread = 10

    def work(i: int) -> None:
        s = stores[i % 4]
        for _ in range(per_thread):
            s.update("counters", "c", lambda d: {"n": (d or {"n": 0})["n"] + 1})

    _run_threads(8, work)
    assert stores[0].get("counters", "c") == {"n": 8 * per_thread}


# --------------------------------------------------------------------------- processes

_RACER = r"""
import json, sys
from bot.store.gcs import GcsStore
from bot.store.sqlite import SqliteStore
kind, where, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = SqliteStore(where) if kind == "sqlite" else GcsStore(where, "race")
print("ready", flush=True)
sys.stdin.readline()  # go
won = [k for k in range(n) if store.create("claims", f"update:{k}", {"pid": k}, ttl=600)]
print(json.dumps(won), flush=True)
"""


def _race_processes(kind: str, where: str, env: dict, n: int = 50, procs: int = 2) -> list[list[int]]:
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))}
    children = [
        subprocess.Popen([sys.executable, "-c", _RACER, kind, where, str(n)], cwd=str(REPO),
                         env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(procs)
    ]
    try:
        for c in children:
            line = c.stdout.readline()
            assert line.strip() == "ready", (line, c.stderr.read() if c.poll() is not None else "")
        for c in children:  # release them together
            c.stdin.write("go\n")
            c.stdin.flush()
        results = []
        for c in children:
            out, err = c.communicate(timeout=120)
            assert c.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for c in children:
            if c.poll() is None:
                c.kill()


def _assert_each_won_once(results: list[list[int]], n: int) -> None:
    allwins = sorted(k for won in results for k in won)
    assert allwins == list(range(n)), results


@pytest.mark.slow
def test_two_processes_race_create_sqlite(tmp_path):
    path = tmp_path / "race.sqlite3"
    SqliteStore(path).close()  # schema in place; the racers also create it concurrently
    results = _race_processes("sqlite", str(path), dict(os.environ))
    _assert_each_won_once(results, 50)


@pytest.mark.slow
def test_two_processes_race_create_gcs():
    emu = start_emulator_process(buckets=["race"])  # one emulator shared by both racers
    try:
        env = {**os.environ, "STORAGE_EMULATOR_HOST": emu.host}
        results = _race_processes("gcs", "race", env)
        _assert_each_won_once(results, 50)
    finally:
        emu.stop()


# --------------------------------------------------------------------------- GCS specifics

def test_raw_emulator_precondition_support():
    """Documents (and re-checks each run) that the plain emulator ignores ifGenerationMatch."""
    from google.api_core.exceptions import PreconditionFailed

    raw = Emulator(enforce_preconditions=False)
    raw.start()
    try:
        with emulator_env(raw.host):
            bucket = raw.new_bucket("raw")
            blob = make_client().bucket(bucket).blob("x")
            blob.upload_from_string(b"1", if_generation_match=0)
            try:
                make_client().bucket(bucket).blob("x").upload_from_string(b"2", if_generation_match=0)
                enforced = False
            except PreconditionFailed:
                enforced = True
            if not enforced:
                pytest.skip(
                    "gcp-storage-emulator ignores ifGenerationMatch (a second create with "
                    "if_generation_match=0 succeeded), so exactly-once cannot be asserted "
                    "against the plain emulator; it is asserted against the emulator + "
                    "precondition shim (the 'gcs' cases above), and "
                    "test_gcs_sends_generation_preconditions checks the wire"
                )
            store = GcsStore(bucket, "raw")
            wins = _run_threads(16, lambda i: store.create("claims", "k", {"by": i}))
            assert sum(wins) == 1
    finally:
        raw.stop()


def test_gcs_sends_generation_preconditions(gcs_emulator, clock):
    bucket = gcs_emulator.new_bucket("wire")
    store = GcsStore(bucket, "bot", clock=clock)

    def uploads():
        return [r for r in gcs_emulator.requests if r.path.startswith(f"/upload/storage/v1/b/{bucket}/")]

    def deletes():
        return [r for r in gcs_emulator.requests
                if r.method == "DELETE" and f"/b/{bucket}/o/" in r.path]

    gcs_emulator.clear_requests()
    assert store.create("claims", "k", {"a": 1}, ttl=5)
    assert [u.query.get("ifGenerationMatch") for u in uploads()] == [["0"]]

    gen = make_client().bucket(bucket).get_blob("bot/claims/k.json").generation
    clock.advance(6)
    gcs_emulator.clear_requests()
    assert store.create("claims", "k", {"a": 2}, ttl=5)  # takes over the expired one
    assert [u.query.get("ifGenerationMatch") for u in uploads()] == [["0"], [str(gen)]]

    gen = make_client().bucket(bucket).get_blob("bot/claims/k.json").generation
    gcs_emulator.clear_requests()
    store.update("claims", "k", lambda d: {"a": 3})
    assert [u.query.get("ifGenerationMatch") for u in uploads()] == [[str(gen)]]

    gen = make_client().bucket(bucket).get_blob("bot/claims/k.json").generation
    gcs_emulator.clear_requests()
    store.update("claims", "k", lambda d: None)
    assert [d.query.get("ifGenerationMatch") for d in deletes()] == [[str(gen)]]

    gcs_emulator.clear_requests()
    store.update("claims", "new", lambda d: {"x": 1})
    assert [u.query.get("ifGenerationMatch") for u in uploads()] == [["0"]]


def test_gcs_object_layout_and_metadata(gcs_emulator, clock):
    bucket = gcs_emulator.new_bucket("layout")
    store = GcsStore(bucket, "/p/q/", clock=clock)
    store.put("ns", "u1:a b/c", {"v": 1}, ttl=100)
    store.put("ns", "plain", {"v": 2})
    blobs = {b.name: b for b in make_client().list_blobs(bucket)}
    assert set(blobs) == {"p/q/ns/u1:a%20b%2Fc.json", "p/q/ns/plain.json"}
    timed = blobs["p/q/ns/u1:a%20b%2Fc.json"]
    assert float(timed.metadata["expires"]) == pytest.approx(clock.now + 100)
    assert timed.custom_time is not None
    assert abs(timed.custom_time.timestamp() - (clock.now + 100)) < 1
    assert blobs["p/q/ns/plain.json"].metadata["expires"] == ""
    body = json.loads(make_client().bucket(bucket).blob("p/q/ns/plain.json").download_as_bytes())
    assert body["doc"] == {"v": 2} and body["expires"] is None


def test_gcs_unreachable_raises_store_error_quickly():
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with emulator_env(dead):
        store = GcsStore("bucket", "bot", timeout=1.0, retry_deadline=1.0)
    for op in (
        lambda: store.get("ns", "k"),
        lambda: store.put("ns", "k", {"v": 1}),
        lambda: store.create("ns", "k", {"v": 1}),
        lambda: store.update("ns", "k", lambda d: {"v": 1}),
        lambda: store.delete("ns", "k"),
        lambda: store.scan("ns"),
        lambda: store.cleanup(),
    ):
        t0 = time.monotonic()
        with pytest.raises(StoreError):
            op()
        assert time.monotonic() - t0 < 8


def test_gcs_emulator_stopped_mid_test(gcs_emulator):
    bucket = gcs_emulator.new_bucket("down")
    store = GcsStore(bucket, "bot", timeout=1.0, retry_deadline=2.0)
    store.put("ns", "k", {"v": 1})
    with gcs_emulator.stopped():
        t0 = time.monotonic()
        with pytest.raises(StoreError) as info:
            store.get("ns", "k")
        assert time.monotonic() - t0 < 8
        assert "google" not in type(info.value).__module__
        with pytest.raises(StoreError):
            store.create("claims", "x", {"v": 1})
    assert store.get("ns", "k") == {"v": 1}  # back up, data kept


def test_gcs_update_gives_up_after_bounded_attempts(gcs_emulator):
    """A writer that always loses the race gets StoreError, not an endless loop."""
    bucket = gcs_emulator.new_bucket("giveup")
    store = GcsStore(bucket, "bot", max_attempts=3)
    other = GcsStore(bucket, "bot")
    store.put("ns", "k", {"n": 0})
    calls = []

    def meddling(doc):
        calls.append(doc)
        other.put("ns", "k", {"n": len(calls) * 100})  # changes the generation under us
        return {"n": -1}

    with pytest.raises(StoreError):
        store.update("ns", "k", meddling)
    assert len(calls) == 3
    assert store.get("ns", "k") == {"n": 300}


# --------------------------------------------------------------------------- SQLite specifics

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

    assert len(set(_run_threads(4, open_one))) == 4
    _run_threads(1, lambda i: store.put("ns", "k", {"v": 1}))  # opening one prunes the dead
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
