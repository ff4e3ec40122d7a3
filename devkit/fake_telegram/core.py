"""The fake Bot API server, :class:`FakeTelegram`, composed of its concern mixins; and the
pytest helpers ``serve`` and the ``fake_telegram`` fixture."""
from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from .commands import CommandsMixin
from .faults import FaultsMixin
from .files import FilesMixin, StoredFile
from .messages import MessagesMixin
from .protocol import Call
from .server import HttpMixin, Fault, Handler, Server
from .updates import UpdateFactory
from .updates_queue import UpdatesQueueMixin
from .uploads import UploadsMixin

BOT_USERNAME = "FreeStyleTransferBot"
BOT_FIRST_NAME = "Free Style Transfer"


class FakeTelegram(FaultsMixin, FilesMixin, UpdatesQueueMixin, CommandsMixin, MessagesMixin,
                   UploadsMixin, HttpMixin, UpdateFactory):
    """The fake Bot API server. See the package docstring for an example."""

    def __init__(self, token: str = "123:ABC", *, host: str = "127.0.0.1", port: int = 0,
                 username: str = BOT_USERNAME, first_name: str = BOT_FIRST_NAME):
        super().__init__()
        self.token = token
        self.host, self._port = host, port
        bot_id = int(token.split(":", 1)[0])
        self.bot_user: dict[str, Any] = {"id": bot_id, "is_bot": True,
                                         "first_name": first_name, "username": username}
        self._cond = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._answering = 0                             # requests inside _serve right now

        self.calls: list[Call] = []
        self.errors: list[str] = []                     # tracebacks of bugs in the fake
        self.downloads: list[str] = []                  # file paths served
        self.file_requests = 0                          # downloads asked for (served or not)
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.sent_files: dict[str, bytes] = {}
        self.blocked_chats: set[int] = set()
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_paths = itertools.count(1)
        self._photo_sets: dict[str, list[dict[str, Any]]] = {}
        self._documents: dict[str, dict[str, Any]] = {}
        self._updates: list[dict[str, Any]] = []
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self.webhook: dict[str, Any] | None = None
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._answered_queries: set[str] = set()
        self._faults: dict[str, list[Fault]] = {}
        self._delays: dict[str, list[list[float]]] = {}
        self._holds: dict[str, list[list[float]]] = {}      # see hold_answer
        self._slow: tuple = (set(), 0.0, 0.0, None)         # see hold_randomly
        self.held = 0
        self._chaos: tuple = (set(), 0.0, 429, 1, None)    # see fail_randomly
        self.injected = 0
        self._custom: dict[str, tuple[str, Callable[[Call], Any]]] = {}
        self._methods: dict[str, tuple[str, Callable[[Call], Any]]] = {
            name.lower(): (name, fn) for name, fn in self._method_table().items()}

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> "FakeTelegram":
        if self._server is not None:
            return self
        self._stopping.clear()
        server = Server((self.host, self._port), Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-telegram", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
            # Held answers wake on _stopping; let them go out whole before the connections
            # close (a cut-off answer is a failure the code under test never saw).
            deadline = time.monotonic() + 5
            while self._answering and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> "FakeTelegram":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _answering_one(self, add: bool) -> None:
        with self._cond:
            self._answering += 1 if add else -1
            self._cond.notify_all()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._connections.add if add else self._connections.discard)(conn)

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeTelegram is not started")
        return self._server.server_address[1]

    @property
    def api_base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=…)``: PTB appends the token itself."""
        return f"{self.api_base}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.api_base}/file/bot"

    def env(self) -> dict[str, str]:
        """Environment for the bot under test (BotConfig.from_env)."""
        return {"TELEGRAM_BOT_TOKEN": self.token, "TELEGRAM_API_BASE": self.api_base}

    # -- calls ---------------------------------------------------------------------------
    def _canonical(self, method: str) -> str:
        entry = self._methods.get(method.lower())
        if entry:
            return entry[0]
        custom = self._custom.get(method.lower())
        return custom[0] if custom else method

    def calls_to(self, method: str) -> list[Call]:
        name = self._canonical(method)
        with self._lock:
            return [c for c in self.calls if c.method == name]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10, *,
                 answered: bool = True) -> list[Call]:
        """Block until ``count`` calls to ``method`` exist (by default: have been answered,
        so their side effects are visible). Returns all calls to it; AssertionError on
        timeout."""
        name = self._canonical(method)
        deadline = time.monotonic() + timeout

        def matching() -> list[Call]:
            return [c for c in self.calls
                    if c.method == name and (not answered or c.status is not None)]

        with self._cond:
            while True:
                found = matching()
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self.calls]
                    raise AssertionError(
                        f"waited {timeout}s for {count}× {name}, got {len(found)}; "
                        f"calls so far: {seen}")
                self._cond.wait(remaining)

    def wait_for_file_request(self, count: int = 1, timeout: float = 10) -> None:
        """Block until ``count`` file downloads have been asked for (answered or still
        being held by ``delay_next("file", …)``); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.file_requests < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, (f"waited {timeout}s for {count} file requests, "
                                       f"got {self.file_requests}")
                self._cond.wait(remaining)

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- method implementations ----------------------------------------------------------
    def _method_table(self) -> dict[str, Callable[[Call], Any]]:
        return {
            "getMe": self._get_me, "logOut": self._true, "close": self._true,
            "getUpdates": self._get_updates, "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook, "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands, "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message, "sendPhoto": self._send_photo,
            "sendDocument": self._send_document, "sendMediaGroup": self._send_media_group,
            "sendAnimation": self._send_animation,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageMedia": self._edit_message_media,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message, "getFile": self._get_file,
        }

    @staticmethod
    def _true(call: Call) -> bool:
        return True

    def _get_me(self, call: Call) -> dict[str, Any]:
        return {**self.bot_user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": True, "can_connect_to_business": False,
                "has_main_web_app": False}


# --------------------------------------------------------------------------------------------
# pytest helpers
# --------------------------------------------------------------------------------------------

def serve(token: str = "123:ABC", **kw: Any) -> Iterator[FakeTelegram]:
    """Generator for a fixture: ``yield from serve()``."""
    fake = FakeTelegram(token, **kw).start()
    try:
        yield fake
    finally:
        fake.stop()


try:
    import pytest

    @pytest.fixture
    def fake_telegram() -> Iterator[FakeTelegram]:
        """A started FakeTelegram (import it into a test module or conftest to use it)."""
        yield from serve()
except ImportError:                                     # pragma: no cover
    pass
