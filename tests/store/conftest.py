"""Fixtures of the store tests: `store` / `make_store` on each backend (SQLite, GCS emulator)."""
from __future__ import annotations

import pytest

from bot.store import Store
from bot.store.gcs import GcsStore
from bot.store.sqlite import SqliteStore
from devkit.clock import ManualClock

BACKENDS = ["sqlite", "gcs"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


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
