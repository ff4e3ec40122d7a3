"""The HTTP side of the fake: a ``ThreadingHTTPServer``, its request handler, and the
routing and fault handling of :class:`FakeTelegram` (:class:`HttpMixin`).

Routes: ``/bot{token}/{method}`` (GET query, JSON, form-urlencoded or multipart bodies; method
names are case-insensitive like Telegram's) and ``/file/bot{token}/{file_path}`` (downloads).
Every API call is recorded as a :class:`Call`. Answers have the real Bot API shapes
(``{"ok": true, "result": …}`` / ``{"ok": false, "error_code": …, "description": …}``), and
the fake enforces the Telegram rules a bot most often trips over (identical edits, callback_data
> 64 bytes, getFile > 20 MB, getUpdates while a webhook is set, photo dimensions, …).
"""
from __future__ import annotations

import json
import mimetypes
import re
import socket
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .protocol import (
    ApiError,
    Call,
    Described,
    header_params,
    bad_request,
    error_for_status,
    parse_request,
)

if TYPE_CHECKING:
    from .core import FakeTelegram

MAX_UPLOAD_SIZE = 50 * 1024 * 1024         # any multipart upload


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

@dataclass
class Fault:
    kind: str                    # "fail" | "reset"
    remaining: int
    status: int = 429
    retry_after: int = 1
    description: str | None = None


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: "FakeTelegram"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx/1.18.0"
    sys_version = ""
    disable_nagle_algorithm = True          # headers and body are separate writes
    server: Server

    def log_message(self, format: str, *args: Any) -> None:     # keep pytest output clean
        pass

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, verb: str) -> None:
        fake = self.server.fake
        fake._answering_one(add=True)
        try:
            fake._serve(self, verb)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True
        finally:
            fake._answering_one(add=False)

    def read_body(self) -> bytes:
        """The whole body, or ConnectionAbortedError when the client hangs up before
        sending all of it (Telegram carries out no half request)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self._read_exactly(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self._read_exactly(length) if length else b""

    def _read_exactly(self, size: int) -> bytes:
        data = self.rfile.read(size)
        if len(data) < size:
            raise ConnectionAbortedError(f"body cut off at {len(data)} of {size} bytes")
        return data

    def send_bytes(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def send_json(self, status: int, payload: dict[str, Any]) -> None:
        self.send_bytes(status, json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                        "application/json")

    def drop(self) -> None:
        """Close the connection without any response."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class HttpMixin:
    """Answering requests: API calls (recorded, faults applied, dispatched to the method
    table) and file downloads."""

    # -- HTTP ----------------------------------------------------------------------------
    def _serve(self, h: Handler, verb: str) -> None:
        split = urlsplit(h.path)
        path = unquote(split.path)
        body = h.read_body()
        m = re.match(r"^/file/bot([^/]+)/(.+)$", path)
        if m:
            return self._serve_file(h, m.group(1), m.group(2))
        m = re.match(r"^/bot([^/]*)/([A-Za-z0-9_]+)/?$", path)
        if not m:
            return h.send_json(404, error_for_status(404).payload())
        token, name = m.groups()
        if token != self.token:
            status = 401 if re.match(r"^\d+:[\w-]+$", token) else 404
            return h.send_json(status, error_for_status(status).payload())
        if len(body) > MAX_UPLOAD_SIZE:
            return h.send_json(413, error_for_status(413, "Request Entity Too Large").payload())
        try:
            params, files, meta = parse_request(h.headers.get("Content-Type", ""), body,
                                                split.query)
        except (ValueError, UnicodeDecodeError) as exc:
            return h.send_json(400, bad_request(f"can't parse request: {exc}").payload())

        with self._lock:
            canonical = self._canonical(name)
            fn = (self._custom.get(name.lower()) or self._methods.get(name.lower())
                  or (None, None))[1]
        call = Call(canonical, params, files, time.time(), http_method=verb,
                    content_type=header_params(h.headers.get("Content-Type", ""))[0],
                    file_names=meta)
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

        self._sleep_if_delayed(canonical)
        fault = self._take(self._faults, canonical) or self._random_fault(canonical)
        if fault is not None and fault.kind == "reset":
            self._complete(call, 0, None)
            return h.drop()
        if fault is not None:
            err = error_for_status(fault.status, fault.description, fault.retry_after)
            status, payload = err.status, err.payload()
        elif fn is None:
            status, payload = 404, error_for_status(404).payload()
        else:
            try:
                with self._cond:
                    result = fn(call)
                payload = {"ok": True, "result": result}
                if isinstance(result, Described):
                    payload = {"ok": True, "result": result.result,
                               "description": result.description}
                status = 200
            except ApiError as exc:
                status, payload = exc.status, exc.payload()
            except Exception as exc:                    # a bug in the fake: say so loudly
                self.errors.append(traceback.format_exc())
                status = 500
                payload = {"ok": False, "error_code": 500,
                           "description": f"Internal Server Error: fake_telegram: {exc!r}"}
        # recorded before the bytes go out: once the client has its answer, wait_for sees it
        self._complete(call, status, payload)
        if status == 200:  # only a call that was carried out can be answered late
            self._sleep_if_held(canonical)
        h.send_json(status, payload)

    def _complete(self, call: Call, status: int, payload: dict | None) -> None:
        with self._cond:
            call.status, call.response = status, payload
            self._cond.notify_all()

    def _sleep_if_delayed(self, key: str) -> None:
        delay = self._take(self._delays, key)
        if delay is not None:
            self._stopping.wait(delay[0])

    def _sleep_if_held(self, key: str) -> None:
        hold = self._take(self._holds, key)
        seconds = hold[0] if hold is not None else self._random_hold(key)
        if seconds:
            self._stopping.wait(seconds)

    def _serve_file(self, h: Handler, token: str, file_path: str) -> None:
        with self._cond:
            self.file_requests += 1
            self._cond.notify_all()
        self._sleep_if_delayed("file")
        fault = self._take(self._faults, "file")
        if fault is not None and fault.kind == "reset":
            return h.drop()
        if fault is not None:
            err = error_for_status(fault.status, fault.description, fault.retry_after)
            return h.send_json(err.status, err.payload())
        if token != self.token:
            return h.send_json(401, error_for_status(401).payload())
        with self._lock:
            stored = self._files_by_path.get(file_path)
            if stored is not None:
                self.downloads.append(file_path)
        if stored is None:
            return h.send_json(404, error_for_status(404).payload())
        ctype = mimetypes.guess_type(file_path)[0] or "application/octet-stream"
        h.send_bytes(200, stored.data, ctype)
