"""Cloud Storage for the single-process tests: one fake-gcs-server for the whole session.

    def test_x(gcs_emulator):                       # a fixture: see tests/conftest.py
        bucket = gcs_emulator.new_bucket()          # fresh, uniquely named
        client = gcs_emulator.client()              # nst.gcs.make_client(): anonymous here
        with gcs_emulator.stopped():                # backend down for this block
            ...

The session fixture sets ``STORAGE_EMULATOR_HOST`` (restored afterwards), so
``GcsStore``/``GcsCatalog`` built without an explicit client talk to the emulator.

fake-gcs-server (devkit/fake_gcs.py) honours generation preconditions as real GCS does
(412 when ``ifGenerationMatch`` does not hold), which the GCS store's create-exactly-once
and CAS update rest on. It runs on its filesystem backend in a session temp folder, so
`stopped()` can really end the process (requests are refused at once, as in an outage)
and start it again on the same port with the same objects, generations and metadata.
Tests with several processes on one bucket start their own (`fake_gcs.serve`).
"""
from __future__ import annotations

import contextlib
import itertools
import os
import re
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from devkit import fake_gcs
from devkit.ports import restartable_port
from nst.gcs import make_client


# one access-log line per request: ... \"DELETE /storage/v1/b/B/o/N?ifGenerationMatch=7 HTTP/1.1\" 200
_REQUEST_LINE = re.compile(r'"([A-Z]+) (\S+) HTTP/[0-9.]+\\?" ')


class Emulator:
    """The session's fake-gcs-server: fresh buckets, a client, and outages on demand."""

    _ids = itertools.count(1)

    def __init__(self, server: fake_gcs.FakeGcs) -> None:
        self.server = server

    @property
    def host(self) -> str:
        """STORAGE_EMULATOR_HOST of this server."""
        return self.server.url

    def new_bucket(self, prefix: str = "test") -> str:
        return self.server.create_bucket(f"{prefix}-{os.getpid()}-{next(self._ids)}")

    def client(self) -> Any:
        return make_client()

    def requests(self) -> list[tuple[str, str, dict[str, list[str]]]]:
        """(method, path, query) of each request answered so far, from the server's own
        access log (it writes a request's line before the response leaves)."""
        out = []
        for match in _REQUEST_LINE.finditer(self.server.log.read_text(errors="replace")):
            url = urlsplit(match.group(2))
            out.append((match.group(1), url.path, parse_qs(url.query)))
        return out

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """The backend is down inside the block and back up (same data) afterwards."""
        self.server.stop()
        try:
            yield
        finally:
            self.server.restart()


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
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """A running fake-gcs-server for the session; STORAGE_EMULATOR_HOST set."""
    folder = tmp_path_factory.mktemp("fake-gcs")
    server = fake_gcs.start(restartable_port(), folder / "server.log", root=folder / "data")
    try:
        with emulator_env(server.url):
            yield Emulator(server)
    finally:
        server.stop()
