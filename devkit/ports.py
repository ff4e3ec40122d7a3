"""Waiting for a server process of the tests' own to accept connections on loopback."""
from __future__ import annotations

import socket
import subprocess
import threading
import time


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float) -> str | None:
    """None once 127.0.0.1:`port` accepts a connection; else why not ("exited" or
    "did not listen within N s"). Polls: a child process sends no event when it is ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return "exited"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return None
        except OSError:
            threading.Event().wait(0.05)
    return f"did not listen within {timeout} s"


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a test server, killing it if it does not exit within 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
