"""gcp-storage-emulator for the tests: in-process (session fixture) or as a subprocess.

    def test_x(gcs_emulator):                       # a fixture: see tests/conftest.py
        bucket = gcs_emulator.new_bucket()          # fresh, uniquely named
        client = gcs_emulator.client()              # nst.gcs.make_client(): anonymous here
        with gcs_emulator.stopped():                # backend down for this block
            ...

The session fixture sets ``STORAGE_EMULATOR_HOST`` (restored afterwards), so
``GcsStore``/``GcsCatalog`` built without an explicit client talk to the emulator.

Generation preconditions. gcp-storage-emulator 2026.7.19 accepts
``ifGenerationMatch`` and silently IGNORES it (checked: an upload with
``ifGenerationMatch=0`` over an existing object succeeds). Everything that makes the
GCS store correct under concurrency (create exactly once, CAS update) rests on that
precondition, so this module adds a small, explicit shim: the emulator's object
handlers are wrapped to answer 412 when ``ifGenerationMatch`` does not match the live
object's generation (0 = "no live object"), as real GCS does. The emulator serves
requests on ONE thread, so check-then-write inside a handler is atomic. The shim is on
by default and can be switched off per server (``enforce_preconditions=False``) to
show the raw behaviour; every request is also recorded (``.requests``) so tests can
assert that the production code really sends the precondition.

Subprocess mode, for tests with several processes sharing one emulator::

    proc = start_emulator_process(buckets=["b1"])   # python -m tests.gcs_emulator PORT
    ... proc.host ...
    proc.stop()
"""
from __future__ import annotations

import collections
import contextlib
import itertools
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from http import HTTPStatus, server as http_server
from pathlib import Path
from typing import Any, Iterator

import pytest

from bench.launcher import free_port
from nst.gcs import make_client

REPO = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- shim

_PATCH_LOCK = threading.Lock()
_PATCHED = False

PRECONDITION_FAILED = {
    "error": {
        "code": 412,
        "message": "At least one of the pre-conditions you specified did not hold.",
        "errors": [
            {
                "domain": "global",
                "reason": "conditionNotMet",
                "message": "At least one of the pre-conditions you specified did not hold.",
                "locationType": "header",
                "location": "If-Match",
            }
        ],
    }
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]


def _server_of(request):
    return request._request_handler.server  # the emulator keeps no public handle


def _live_generation(storage, bucket: str, name: str) -> int:
    from gcp_storage_emulator.exceptions import NotFound

    try:
        return int(storage.get_file_obj(bucket, name).get("generation") or 0)
    except NotFound:
        return 0


def _insert_name(request) -> str | None:
    if request.query.get("name"):
        return request.query["name"][0]
    data = request.data
    if isinstance(data, dict):
        if isinstance(data.get("meta"), dict):  # multipart
            return data["meta"].get("name")
        return data.get("name")  # resumable initiation
    return None


def _precondition_ok(request, storage, name: str | None, missing_ok: bool) -> bool:
    """True if the request may proceed. `missing_ok`: let the handler 404 by itself."""
    if not getattr(_server_of(request), "enforce_preconditions", False) or not name:
        return True
    wanted = request.query.get("ifGenerationMatch")
    if not wanted:
        return True
    current = _live_generation(storage, request.params["bucket_name"], name)
    if current == 0 and missing_ok:
        return True
    return int(wanted[0]) == current


def _wrap_object_handler(orig, kind: str):
    def handler(request, response, storage, *args, **kwargs):
        if kind == "insert":
            ok = _precondition_ok(request, storage, _insert_name(request), missing_ok=False)
        else:
            ok = _precondition_ok(request, storage, request.params.get("object_id"), missing_ok=True)
        if not ok:
            response.status = HTTPStatus.PRECONDITION_FAILED
            response.json(PRECONDITION_FAILED)
            return None
        return orig(request, response, storage, *args, **kwargs)

    handler.__wrapped__ = orig
    handler._precondition_shim = True
    return handler


def _install_shim() -> None:
    """Wrap the emulator's object handlers once per process (idempotent)."""
    global _PATCHED
    with _PATCH_LOCK:
        if _PATCHED:
            return
        from gcp_storage_emulator import server as emu_server
        from gcp_storage_emulator.handlers import objects

        kinds = {"insert": "insert", "get": "read", "download": "read",
                 "delete": "write", "patch": "write"}
        wrapped = {}
        for attr, kind in kinds.items():
            orig = getattr(objects, attr)
            new = _wrap_object_handler(orig, kind)
            wrapped[orig] = new
            setattr(objects, attr, new)  # module-level lookups (Router fallback, get→download)
        for _regex, table in emu_server.HANDLERS:
            for method, fn in list(table.items()):
                if fn in wrapped:
                    table[method] = wrapped[fn]

        orig_handle = emu_server.Router.handle

        def handle(self, method):
            srv = self._request_handler.server
            log = getattr(srv, "recorded", None)
            if log is not None:
                from urllib.parse import parse_qs, urlparse

                url = urlparse(self._request_handler.path)
                override = self._request_handler.headers.get("x-http-method-override")
                log.append(RecordedRequest(override or method, url.path, parse_qs(url.query)))
            return orig_handle(self, method)

        emu_server.Router.handle = handle
        _PATCHED = True


class _HTTPServer(http_server.HTTPServer):
    request_queue_size = 256  # many threads and processes connect at once
    enforce_preconditions = True

    def __init__(self, *args, enforce_preconditions: bool = True, **kwargs):
        self.enforce_preconditions = enforce_preconditions
        self.recorded: collections.deque[RecordedRequest] = collections.deque(maxlen=20000)
        super().__init__(*args, **kwargs)


def _make_api_thread(host: str, port: int, storage, enforce_preconditions: bool):
    from functools import partial

    from gcp_storage_emulator import server as emu_server

    class APIThread(emu_server.APIThread):
        def run(self):
            self._httpd = _HTTPServer(
                (self._host, self._port),
                partial(emu_server.RequestHandler, self._storage),
                enforce_preconditions=enforce_preconditions,
            )
            self.is_running.set()
            self._httpd.serve_forever(poll_interval=0.05)

    return APIThread(host, port, storage, daemon=True)


# --------------------------------------------------------------------------- server

class Emulator:
    """One in-process emulator; stoppable and restartable on the same port (data kept)."""

    _ids = itertools.count(1)

    def __init__(self, port: int | None = None, *, enforce_preconditions: bool = True,
                 buckets: tuple[str, ...] = ()):
        from gcp_storage_emulator.server import create_server

        _install_shim()
        self.port = port or free_port()
        self.host = f"http://127.0.0.1:{self.port}"
        self.enforce_preconditions = enforce_preconditions
        self._server = create_server("127.0.0.1", self.port, in_memory=True)
        for name in buckets:
            self._create_bucket(name)
        self._running = False
        self._api = None

    # lifecycle
    def start(self) -> None:
        if self._running:
            return
        self._api = _make_api_thread("127.0.0.1", self.port, self._server._storage,
                                     self.enforce_preconditions)
        self._server._api = self._api
        self._api.start()
        self._api.is_running.wait(10)
        self._running = True

    def stop(self) -> None:
        if not self._running:
            return
        self._server.stop()
        self._running = False

    @property
    def running(self) -> bool:
        return self._running

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """The backend is down inside the block and back up (same data) afterwards."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    # data
    def _create_bucket(self, name: str) -> None:
        from gcp_storage_emulator.handlers.buckets import create_bucket

        create_bucket(name, self._server._storage)

    def new_bucket(self, prefix: str = "test") -> str:
        name = f"{prefix}-{os.getpid()}-{next(self._ids)}"
        self._create_bucket(name)
        return name

    def client(self):
        return make_client()

    @property
    def requests(self) -> list[RecordedRequest]:
        httpd = getattr(self._api, "_httpd", None)
        return list(httpd.recorded) if httpd is not None else []

    def clear_requests(self) -> None:
        httpd = getattr(self._api, "_httpd", None)
        if httpd is not None:
            httpd.recorded.clear()


@contextlib.contextmanager
def emulator_env(host: str) -> Iterator[None]:
    old = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = host
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = old


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[Emulator]:
    """A running emulator (with precondition shim) for the session; env var set."""
    emu = Emulator()
    emu.start()
    with emulator_env(emu.host):
        try:
            yield emu
        finally:
            emu.stop()


# --------------------------------------------------------------------------- subprocess

def _wait_healthy(host: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(host + "/", timeout=1) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            time.sleep(0.05)
    return False


@dataclass
class EmulatorProcess:
    host: str
    port: int
    proc: subprocess.Popen
    log_file: Any = None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None


def start_emulator_process(port: int | None = None, buckets: tuple[str, ...] | list[str] = (),
                           enforce_preconditions: bool = True,
                           timeout: float = 20.0) -> EmulatorProcess:
    """`python -m tests.gcs_emulator PORT [--bucket B]…` in a child process, ready to use."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "tests.gcs_emulator", str(port)]
    for b in buckets:
        cmd += ["--bucket", b]
    if not enforce_preconditions:
        cmd.append("--raw")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    log_file = tempfile.TemporaryFile()  # a pipe nobody reads could fill up and block it
    proc = subprocess.Popen(cmd, cwd=str(REPO), env=env,
                            stdout=subprocess.DEVNULL, stderr=log_file)
    host = f"http://127.0.0.1:{port}"
    if not _wait_healthy(host, time.monotonic() + timeout):
        proc.kill()
        proc.wait(5)
        log_file.seek(0)
        err = log_file.read().decode(errors="replace")[-2000:]
        log_file.close()
        raise RuntimeError(f"emulator subprocess did not start: {err}")
    return EmulatorProcess(host, port, proc, log_file)


def main(argv: list[str] | None = None) -> int:
    import argparse
    import logging
    import signal

    parser = argparse.ArgumentParser(prog="python -m tests.gcs_emulator")
    parser.add_argument("port", type=int)
    parser.add_argument("--bucket", action="append", default=[])
    parser.add_argument("--raw", action="store_true", help="no precondition shim")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)

    emu = Emulator(args.port, enforce_preconditions=not args.raw, buckets=tuple(args.bucket))
    emu.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(f"gcs emulator on {emu.host}", flush=True)
    try:
        done.wait()
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
