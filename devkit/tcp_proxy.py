"""A TCP proxy for chaos tests: in front of several backends it is App Engine's load
balancer (round robin, a backend that refuses the connection is skipped, as a dead
instance is); in front of one it can stall the traffic for a while (a storage outage
that neither fails nor answers)."""
from __future__ import annotations

import itertools
import logging
import socket
import threading
import time

log = logging.getLogger(__name__)


class TcpProxy:
    def __init__(self, backends: list[int], port: int = 0) -> None:
        self.backends = list(backends)
        self._next = itertools.count()
        self._stall_until = 0.0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", port))
        self.port = self._server.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{self.port}").start()

    def stall(self, seconds: float) -> None:
        """Hold every byte in either direction for `seconds` from now."""
        with self._lock:
            self._stall_until = time.monotonic() + seconds

    def _wait_stall(self) -> None:
        while True:
            with self._lock:
                left = self._stall_until - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.05))

    def _connect(self) -> socket.socket | None:
        with self._lock:
            start = next(self._next)
            order = [self.backends[(start + i) % len(self.backends)]
                     for i in range(len(self.backends))]
        for port in order:
            try:
                return socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                continue
        return None

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = self._connect()
        if upstream is None:
            client.close()
            return
        upstream.settimeout(None)
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                self._wait_stall()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closed = True
        self._server.close()
