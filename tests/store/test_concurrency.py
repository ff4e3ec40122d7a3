"""Exactly-once create and CAS update under threads and processes, on every Store."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from bot.store.sqlite import SqliteStore
from tests.conftest import REPO
from devkit import fake_gcs
from tests.store.harness import run_threads


def test_create_exactly_once_under_threads(make_store):
    stores = [make_store() for _ in range(4)]  # several clients/connections, shared storage
    for round_ in range(5):
        key = f"update:{round_}"
        wins = run_threads(16, lambda i, key=key: stores[i % 4].create("claims", key, {"by": i}, ttl=60))
        assert sum(wins) == 1, wins
        winner = wins.index(True)
        assert stores[0].get("claims", key) == {"by": winner}


def test_create_after_expiry_taken_over_exactly_once(make_store, clock):
    store = make_store(clock)
    store.create("claims", "k", {"by": "old"}, ttl=1)
    clock.advance(2)
    wins = run_threads(16, lambda i: store.create("claims", "k", {"by": i}, ttl=60))
    assert sum(wins) == 1, wins
    assert store.get("claims", "k") == {"by": wins.index(True)}


def test_update_cas_under_contention(make_store):
    stores = [make_store() for _ in range(4)]
    per_thread = 10

    def work(i: int) -> None:
        s = stores[i % 4]
        for _ in range(per_thread):
            s.update("counters", "c", lambda d: {"n": (d or {"n": 0})["n"] + 1})

    run_threads(8, work)
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
def test_two_processes_race_create_gcs(tmp_path):
    # One fake-gcs-server (real generation preconditions) shared by both racers.
    emu = fake_gcs.serve(["race"], tmp_path)
    try:
        env = {**os.environ, "STORAGE_EMULATOR_HOST": emu.host}
        results = _race_processes("gcs", "race", env)
        _assert_each_won_once(results, 50)
    finally:
        emu.stop()
