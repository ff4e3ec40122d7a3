"""app.yaml's entrypoint for real: gunicorn processes as App Engine would start them,
the fake Bot API, and stores shared between "instances" (a SQLite file, and the GCS
emulator in its own process).

Prints the measured cold start and warm request time.
"""
from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import psutil
import pytest
import yaml

from tests.bot_harness import jpeg
from tests.conftest import EXIF_DIR, MODEL_DIR, REPO
from tests.fake_telegram import FakeTelegram
from tests.gcs_emulator import free_port, start_emulator_process
from tests.test_webhook import (SECRET, ask_for_painting, assert_one_painting,  # noqa: F401
                                fake, http_post, images_to, wait_http)

pytestmark = pytest.mark.slow

START_TIMEOUT = 60.0


def app_yaml() -> dict:
    return yaml.safe_load((REPO / "app.yaml").read_text())


def entrypoint(port: int) -> list[str]:
    """app.yaml's entrypoint with $PORT filled in, run by this interpreter."""
    command = shlex.split(app_yaml()["entrypoint"].replace("$PORT", str(port)))
    assert command[0] == "gunicorn"
    return [sys.executable, "-m", "gunicorn", *command[1:]]


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

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def launch(tmp_path: Path, fake: FakeTelegram) -> Iterator[Callable[..., Instance]]:
    """Start gunicorn from app.yaml; env = app.yaml's env_variables, redirected to the
    fake Bot API, local models/presets and the given store."""
    started: list[Instance] = []

    def start(store_url: str, **extra_env: str) -> Instance:
        port = free_port()
        env = {**os.environ, **app_yaml().get("env_variables", {}), **fake.env(),
               "WEBHOOK_SECRET": SECRET, "BOT_STORE": store_url,
               "NST_MODEL_DIR": str(MODEL_DIR), "NST_CACHE_DIR": str(tmp_path / "cache"),
               "PYTHONPATH": str(REPO), **extra_env}
        env.pop("STYLES")   # the built-in presets instead of a bucket
        log = tmp_path / f"gunicorn-{port}.log"
        t0 = time.monotonic()
        with open(log, "wb") as out:
            proc = subprocess.Popen(entrypoint(port), cwd=REPO, env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
        instance = Instance(proc, f"http://127.0.0.1:{port}", log, t0)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


def ready(*instances: Instance) -> None:
    for instance in instances:
        status = wait_http(f"{instance.url}/healthz", START_TIMEOUT, instance.proc)
        assert status == 200, instance.log.read_text()[-3000:]


def report(capsys: pytest.CaptureFixture, text: str) -> None:
    with capsys.disabled():
        print(f"\n[gunicorn] {text}")


def test_app_yaml_entrypoint_paints_a_photo(launch, fake, tmp_path, capsys) -> None:
    node = launch(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    ready(node)
    press = ask_for_painting(node.post, fake, 51)
    cold = time.monotonic() - node.started
    t = time.monotonic()
    assert node.post(press) == (200, "done")
    first_image = time.monotonic() - t
    assert_one_painting(fake, 51)

    again = ask_for_painting(node.post, fake, 52)
    t = time.monotonic()
    assert node.post(again) == (200, "done")
    warm = time.monotonic() - t
    assert_one_painting(fake, 52)

    big = ask_for_painting(node.post, fake, 53, jpeg(EXIF_DIR / "Landscape_1.jpg", 1024))
    t = time.monotonic()
    assert node.post(big) == (200, "done")
    warm_big = time.monotonic() - t
    assert_one_painting(fake, 53, source_side=1024)
    report(capsys, f"cold start (spawn -> first answered update): {cold:.2f} s; "
                   f"first painting request (loads the models): {first_image:.2f} s; "
                   f"warm painting request: {warm:.2f} s at 160 px, {warm_big:.2f} s at 1024 px")


def post_together(update: dict, *instances: Instance) -> list[tuple[int, str]]:
    results: list[tuple[int, str]] = []
    barrier = threading.Barrier(len(instances))

    def send(instance: Instance) -> None:
        barrier.wait()
        results.append(instance.post(update))

    threads = [threading.Thread(target=send, args=(i,)) for i in instances]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    return sorted(results)


@pytest.mark.parametrize("backend", ["sqlite", "gcs"])
def test_two_instances_get_the_same_update_one_image(launch, fake, tmp_path, backend) -> None:
    if backend == "gcs":
        emulator = start_emulator_process(buckets=["nst-state"])
        try:
            _two_instances(launch, fake, "gs://nst-state/bot",
                           STORAGE_EMULATOR_HOST=emulator.host)
        finally:
            emulator.stop()
    else:
        _two_instances(launch, fake, f"sqlite:///{tmp_path / 'bot.sqlite3'}")


def _two_instances(launch, fake: FakeTelegram, store_url: str, **env: str) -> None:
    a, b = launch(store_url, **env), launch(store_url, **env)
    ready(a, b)
    for instance in (a, b):   # what App Engine sends to a new instance first
        assert wait_http(f"{instance.url}/_ah/warmup", START_TIMEOUT) == 200
    press = ask_for_painting(a.post, fake, 61)
    assert post_together(press, a, b) == [(200, "done"), (200, "duplicate")]
    assert_one_painting(fake, 61)


def test_worker_killed_mid_request_then_resend_gives_one_image(launch, fake, tmp_path) -> None:
    node = launch(f"sqlite:///{tmp_path / 'bot.sqlite3'}")
    ready(node)
    press = ask_for_painting(node.post, fake, 71)
    victim = node.worker()
    downloads = len(fake.calls_to("getFile"))
    fake.delay_next("file", 5)                      # hold the photo download open
    outcome: list[object] = []
    request = threading.Thread(target=lambda: outcome.append(_try(node.post, press)))
    request.start()
    fake.wait_for("getFile", downloads + 1, timeout=20)
    time.sleep(0.5)                                 # now inside the delayed download
    victim.send_signal(signal.SIGKILL)
    request.join(30)
    assert outcome and isinstance(outcome[0], OSError), f"request was not cut off: {outcome}"
    assert images_to(fake, 71) == []

    ready(node)                                     # gunicorn has started a new worker
    assert node.worker().pid != victim.pid
    assert node.post(press) == (200, "done"), node.log.read_text()[-3000:]
    assert node.post(press) == (200, "duplicate")
    assert_one_painting(fake, 71)


def _try(fn: Callable[[dict], object], arg: dict) -> object:
    try:
        return fn(arg)
    except OSError as exc:   # connection reset / closed without an answer
        return exc
