"""gcloud-tasks-emulator (PyPI), a real gRPC Cloud Tasks server that dispatches App Engine
tasks over HTTP, run from a venv of its own: it pins protobuf < 5, which cannot sit beside
the project's protobuf. The venv is created once in a cache folder (FST_TEST_CACHE, else
~/.cache/fst-test) by the test fixture or by `python -m devkit.tasks_emulator install`
(.ci/run does that), and reused after.

Its limits (not production's): one task at a time per queue, synchronously; a 4xx/5xx
answer sends the task to the back of the queue with no backoff; a duplicate task name is
accepted.
"""
from __future__ import annotations

import fcntl
import logging
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from devkit.ports import stop_process, wait_listening

log = logging.getLogger(__name__)

PACKAGE = "gcloud-tasks-emulator==0.6.2"
START_TIMEOUT = 30.0


class EmulatorUnavailable(RuntimeError):
    """The emulator cannot be installed or started here (the message says why)."""


def cache_dir() -> Path:
    return Path(os.environ.get("FST_TEST_CACHE") or Path.home() / ".cache" / "fst-test")


def venv_python() -> Path:
    return cache_dir() / "tasks-emulator-venv" / "bin" / "python"


def install(quiet: bool = True) -> Path:
    """The emulator venv's python; creates the venv on first use (one installer at a time,
    across processes). Raises EmulatorUnavailable with pip's last words if it cannot."""
    python = venv_python()
    venv = python.parents[1]
    ready = venv / ".installed"
    if ready.exists():
        return python
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / "tasks-emulator.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.exists():
            return python
        shutil.rmtree(venv, ignore_errors=True)
        steps = ([sys.executable, "-m", "venv", str(venv)],
                 [str(python), "-m", "pip", "install", "--disable-pip-version-check",
                  *(["--quiet"] if quiet else []), PACKAGE])
        for step in steps:
            done = subprocess.run(step, capture_output=True, text=True)
            if done.returncode != 0:
                shutil.rmtree(venv, ignore_errors=True)
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                raise EmulatorUnavailable(f"{' '.join(step[:4])} failed: {' | '.join(tail)}")
        ready.write_text(PACKAGE + "\n")
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class TasksEmulator:
    """A running emulator: `host` (host:port, for CLOUD_TASKS_EMULATOR_HOST) and `queue`."""

    proc: subprocess.Popen
    host: str
    queue: str
    log: Path

    def stop(self) -> None:
        stop_process(self.proc)


def start(queue: str, target_port: int, log_dir: Path, target_host: str = "127.0.0.1",
          port: int | None = None) -> TasksEmulator:
    """Start the emulator with `queue` created, POSTing tasks to target_host:target_port;
    returns once its gRPC port accepts connections."""
    python = install()
    port = port or free_port()
    out = log_dir / f"tasks-emulator-{port}.log"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(
            [str(python), "-m", "gcloud_tasks_emulator", "start", "-p", str(port),
             "-t", str(target_port), "-H", target_host, "-d", queue],
            stdout=sink, stderr=subprocess.STDOUT)
    emulator = TasksEmulator(proc, f"127.0.0.1:{port}", queue, out)
    problem = wait_listening(proc, port, START_TIMEOUT)
    if problem is None:
        return emulator
    emulator.stop()
    raise EmulatorUnavailable(f"emulator {problem}: {out.read_text()[-500:]}")


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python -m devkit.tasks_emulator install")
    logging.basicConfig(level=logging.INFO)
    log.info("emulator venv ready: %s", install(quiet=False))
