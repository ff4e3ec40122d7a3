"""One contract for every Store: SQLite (a temp file) and GCS (fake-gcs-server, which
honours generation preconditions as real GCS does; test_gcs.py shows the store relies on them).
"""
from __future__ import annotations

import pytest

from bot.store import open_store
from bot.store.gcs import GcsStore
from bot.store.sqlite import SqliteStore
from nst.gcs import make_client


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


def test_update_lifetime_can_come_from_the_result(store, clock):
    """`ttl` as a function of what is stored: one read-modify-write, no read beforehand."""
    assert store.update("ns", "t", lambda doc: {"keep": 10}, ttl=lambda doc: doc["keep"]) \
        == {"keep": 10}
    clock.advance(9)
    assert store.get("ns", "t") == {"keep": 10}
    clock.advance(2)
    assert store.get("ns", "t") is None


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
