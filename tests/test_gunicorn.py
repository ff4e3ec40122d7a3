"""app.yaml's entrypoint for real: gunicorn processes as App Engine would start them,
the fake Bot API, and stores shared between "instances" (a SQLite file, and the GCS
emulator in its own process).

Prints the measured cold start and warm request time.
"""
from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.bot_harness import jpeg
from tests.conftest import EXIF_DIR
from devkit.fake_telegram import FakeTelegram
from devkit import fake_gcs
from tests.http_harness import START_TIMEOUT, Instance, ready, start_gunicorn, wait_http
from tests.webhook_harness import ask_for_painting, assert_one_painting, images_to

pytestmark = pytest.mark.slow


@pytest.fixture
def launch(tmp_path: Path, fake: FakeTelegram) -> Iterator[Callable[..., Instance]]:
    """Start gunicorn from app.yaml (tests.http_harness.start_gunicorn) on the fake Bot API;
    every instance started is stopped afterwards."""
    started: list[Instance] = []

    def start(store_url: str, **extra_env: str) -> Instance:
        instance = start_gunicorn(fake.env(), store_url, tmp_path, **extra_env)
        started.append(instance)
        return instance

    yield start
    for instance in started:
        instance.stop()


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
        emulator = fake_gcs.serve(["nst-state"], tmp_path)   # honours preconditions
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


@pytest.mark.parametrize("backend", ["sqlite", "gcs"])
def test_worker_killed_mid_request_then_resend_gives_one_image(launch, fake, tmp_path,
                                                               backend) -> None:
    """The dead worker's claim is recognised by its pid on both stores (on GCS the claim
    lives in the bucket, so the lease alone would make the resend wait minutes)."""
    if backend == "gcs":
        emulator = fake_gcs.serve(["nst-state"], tmp_path)   # honours preconditions
        try:
            _killed_mid_request(launch("gs://nst-state/bot",
                                       STORAGE_EMULATOR_HOST=emulator.host), fake)
        finally:
            emulator.stop()
    else:
        _killed_mid_request(launch(f"sqlite:///{tmp_path / 'bot.sqlite3'}"), fake)


def _killed_mid_request(node: Instance, fake: FakeTelegram) -> None:
    ready(node)
    press = ask_for_painting(node.post, fake, 71)
    victim = node.worker()
    downloads = fake.file_requests
    fake.delay_next("file", 5)                      # hold the photo download open
    outcome: list[object] = []
    request = threading.Thread(target=lambda: outcome.append(_try(node.post, press)))
    request.start()
    fake.wait_for_file_request(downloads + 1, timeout=20)   # now inside the held download
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
