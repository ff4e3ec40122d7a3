"""Cloud Tasks mode under test: the real gcloud-tasks-emulator (its own venv, installed
once by devkit/tasks_emulator.py; the test is skipped with the reason when it cannot be)
and the Flask app served over real HTTP, since the emulator POSTs each task to it."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

import pytest
from flask import Flask
from werkzeug.serving import make_server

from devkit import tasks_emulator as emulators
from devkit.webhook import HEADERS

QUEUE = "projects/fst-test/locations/here/queues/updates"


def serve_app(app: Flask, port: int) -> Callable[[], None]:
    """Serve `app` on 127.0.0.1:port (threaded) until the returned stop() is called."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(10)

    return stop


def post_json(url: str, update: dict, headers: dict[str, str] | None = None,
              timeout: float = 60) -> tuple[int, str, float]:
    """POST one update; (status, body, seconds until the answer)."""
    req = urllib.request.Request(url, data=json.dumps(update).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          **(HEADERS if headers is None else headers)})
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode(), time.monotonic() - t0
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), time.monotonic() - t0


@pytest.fixture
def tasks_emulator(tmp_path: Path) -> Iterator[Callable[..., emulators.TasksEmulator]]:
    """start(target_port) -> a running emulator with QUEUE, stopped after the test."""
    try:
        emulators.install()
    except emulators.EmulatorUnavailable as exc:
        pytest.skip(f"gcloud-tasks-emulator cannot be installed here: {exc}")
    started: list[emulators.TasksEmulator] = []

    def start(target_port: int) -> emulators.TasksEmulator:
        emulator = emulators.start(QUEUE, target_port, tmp_path)
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()
