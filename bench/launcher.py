"""app.yaml's gunicorn entrypoint, started on 127.0.0.1 the way App Engine starts it.

The one launcher shared by the benchmarks (``bench/web.py``) and the HTTP-level tests
(``tests/http_harness.py``); it imports nothing from either, so neither depends on the other.
"""
from __future__ import annotations

import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port nothing listens on now (127.0.0.1)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_yaml(app_dir: Path = REPO) -> dict:
    return yaml.safe_load((app_dir / "app.yaml").read_text(encoding="utf-8"))


def entrypoint(port: int, app_dir: Path = REPO) -> list[str]:
    """app.yaml's entrypoint with $PORT filled in, bound to 127.0.0.1 only, run by this Python."""
    line = app_yaml(app_dir)["entrypoint"]
    line = line.replace(":$PORT", f"127.0.0.1:{port}").replace("$PORT", str(port))
    command = shlex.split(line)
    if command[0] != "gunicorn":
        raise RuntimeError(f"app.yaml entrypoint is not gunicorn: {line}")
    return [sys.executable, "-m", "gunicorn", *command[1:]]


@dataclass
class Spawned:
    """A gunicorn master just started (it is ready when it answers)."""

    proc: subprocess.Popen
    port: int
    log: Path        # its stdout and stderr
    started: float   # time.monotonic() just before the spawn

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def spawn(env: dict[str, str], log_dir: Path, app_dir: Path = REPO,
          extra_args: tuple[str, ...] = ()) -> Spawned:
    """Start `app_dir`'s entrypoint with `env` on a free port; output to log_dir/gunicorn-PORT.log.
    `extra_args` go after the entrypoint's own (a later gunicorn option wins)."""
    port = free_port()
    log = log_dir / f"gunicorn-{port}.log"
    with open(log, "wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen([*entrypoint(port, app_dir), *extra_args], cwd=app_dir, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    return Spawned(proc, port, log, started)


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM (gunicorn's graceful stop), then SIGKILL after 15 s; only this process."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


__all__ = ["REPO", "free_port", "app_yaml", "entrypoint", "Spawned", "spawn", "stop_process"]
