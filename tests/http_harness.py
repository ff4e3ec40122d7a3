"""The webhook over real HTTP, for the HTTP-level tests and the load driver (``python -m tests.load``):
the test secret, POSTing updates the way Telegram does, and gunicorn instances started
exactly as app.yaml says (through `bench.launcher`, the launcher the benchmarks use too).

No pytest here, so ``tests/load.py`` can use it as a plain command.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.launcher import app_yaml, spawn, stop_process
from devkit.webhook import HEADERS, SECRET
from tests.conftest import MODEL_DIR, REPO

START_TIMEOUT = 60.0


def wait_http(url: str, timeout: float, proc: subprocess.Popen | None = None) -> int:
    """GET `url` until it answers at all; returns the status. Fails early if `proc` died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"{url} did not answer within {timeout} s")


def http_post(url: str, update: dict, timeout: float = 60) -> tuple[int, str]:
    """POST one update the way Telegram does (JSON + secret header)."""
    req = urllib.request.Request(url, data=json.dumps(update).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **HEADERS})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


# --------------------------------------------------------------------------- gunicorn

@dataclass
class Instance:
    """One gunicorn master (an "App Engine instance") and its log."""

    proc: subprocess.Popen
    url: str
    log: Path
    started: float   # time.monotonic() just before the process was spawned

    def post(self, update: dict) -> tuple[int, str]:
        return http_post(f"{self.url}/webhook", update)

    def worker(self) -> psutil.Process:
        children = psutil.Process(self.proc.pid).children()
        assert len(children) == 1, f"expected one worker, found {children}"
        return children[0]

    def rss(self) -> int:
        """Resident memory of the master and all its workers, in bytes."""
        master = psutil.Process(self.proc.pid)
        total = 0
        for p in [master, *master.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self) -> None:
        stop_process(self.proc)


def start_gunicorn(api_env: dict[str, str], store_url: str, work_dir: Path,
                   app_dir: Path = REPO, **extra_env: str) -> Instance:
    """gunicorn from `app_dir`'s app.yaml on a free loopback port; env = app.yaml's
    env_variables, redirected to `api_env` (the fake Bot API), the built-in presets and
    `store_url`. Models: the checkout's vendored copies, or for another `app_dir` its
    own defaults (NST_MODEL_DIR unset, as app.yaml leaves it)."""
    env = {**os.environ, **app_yaml(app_dir).get("env_variables", {}), **api_env,
           "WEBHOOK_SECRET": SECRET, "BOT_STORE": store_url,
           "NST_MODEL_DIR": str(MODEL_DIR), "NST_CACHE_DIR": str(work_dir / "cache"),
           "PYTHONPATH": str(app_dir), **extra_env}
    env.pop("STYLES", None)   # the built-in presets instead of a bucket
    if "BOT_TASKS_QUEUE" not in extra_env:
        env.pop("BOT_TASKS_QUEUE", None)   # no queue unless the test starts an emulator
    if app_dir != REPO:
        env.pop("NST_MODEL_DIR")
    server = spawn(env, work_dir, app_dir)
    return Instance(server.proc, server.url, server.log, server.started)


def ready(*instances: Instance, timeout: float = START_TIMEOUT) -> None:
    """Wait until every instance answers /healthz with 200."""
    for instance in instances:
        status = wait_http(f"{instance.url}/healthz", timeout, instance.proc)
        assert status == 200, instance.log.read_text()[-3000:]
