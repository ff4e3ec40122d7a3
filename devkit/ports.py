"""Ports and server processes of the tests' own on loopback: a port a server can come back
to, waiting for it to accept connections, stopping it."""
from __future__ import annotations

import random
import socket
import subprocess
import threading
import time


def restartable_port() -> int:
    """A free 127.0.0.1 port below the kernel's ephemeral range, so that while its server is
    down nothing else gets it (no port-0 bind, no outgoing connection, not even a client's
    TCP self-connect when it dials the dead port) and the server can start on it again."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default; other systems start theirs higher
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


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
