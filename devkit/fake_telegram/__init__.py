"""A real HTTP fake of the Telegram Bot API, for tests of the python-telegram-bot 22 bot.

The fake is a small ``ThreadingHTTPServer`` on 127.0.0.1 (a free port) in a daemon thread.
PTB talks to it exactly as it talks to Telegram::

    with FakeTelegram() as tg:                       # token "123:ABC"
        bot = telegram.Bot(tg.token, base_url=tg.base_url, base_file_url=tg.base_file_url)
        # or: env TELEGRAM_BOT_TOKEN / TELEGRAM_API_BASE from tg.env()
        file_id = tg.add_file(jpeg_bytes)            # a file "the user" has sent
        tg.push_update(tg.photo_update(None, tg.user(7), file_id, 800, 600))
        call = tg.wait_for("sendPhoto")[0]           # what the bot answered
        call.params["chat_id"], call.files["photo"]

The package, by module (``__init__`` re-exports the public names, so importers use
``from devkit.fake_telegram import …``):

- ``protocol``: :class:`Call`, :class:`ApiError`, error answers, request-body parsing.
- ``media``: image helpers (Pillow), the PhotoSize ladder, file identifiers.
- ``updates``: builders of users, chats and messages; :class:`UpdateFactory`.
- ``server``: the HTTP server, its routes and request dispatch.
- ``core``: :class:`FakeTelegram`, composed of the mixins ``faults`` (test controls),
  ``files``, ``updates_queue`` (getUpdates / webhook), ``commands``, ``messages``
  (send, answer, edit, delete) and ``uploads`` (photos, documents, albums); ``serve``
  and the ``fake_telegram`` pytest fixture.

Deliberate simplifications (documented so tests don't rely on them by accident):
- ``parse_mode="HTML"`` text has its tags stripped (no entities are produced); Markdown is kept.
- A photo the bot uploads keeps its original bytes as the largest size when no downscale and no
  EXIF rotation is needed; otherwise every size is a re-encoded JPEG (Telegram always
  re-encodes). The uploaded original is always in ``Call.files``.
- Photos sent by URL become a generated 640×480 placeholder.
- A reply to a message the fake never saw gets a minimal ``reply_to_message``
  (message_id, chat, date) instead of Telegram's "message to be replied not found".
"""
from __future__ import annotations

from .commands import CommandsMixin
from .core import BOT_FIRST_NAME, BOT_USERNAME, FakeTelegram, fake_telegram, serve
from .faults import FaultsMixin
from .files import MAX_DOWNLOAD_SIZE, MAX_PHOTO_SIZE, FilesMixin, StoredFile
from .media import (
    PHOTO_MAX_SIDE,
    PHOTO_SIDES,
    image_info,
    photo_ladder,
    placeholder_jpeg,
    render_jpeg,
    scale_to,
    unique_id_for,
)
from .messages import (
    BUTTON_ACTIONS,
    CHAT_ACTIONS,
    MEDIA_KEYS,
    MessagesMixin,
    strip_html,
)
from .protocol import (
    BOOL_FIELDS,
    CHAT_ID_FIELDS,
    INT_FIELDS,
    JSON_FIELDS,
    NOT_MODIFIED,
    QUERY_TOO_OLD,
    ApiError,
    Call,
    bad_request,
    error_for_status,
    normalize_params,
    parse_multipart,
    parse_request,
)
from .server import MAX_UPLOAD_SIZE, HttpMixin
from .updates import (
    UpdateFactory,
    chat,
    command_entities,
    photo_size,
    private_chat,
    user,
    utf16_len,
)
from .updates_queue import UpdatesQueueMixin
from .uploads import UploadsMixin

__all__ = [
    "BOOL_FIELDS", "BOT_FIRST_NAME", "BOT_USERNAME", "BUTTON_ACTIONS", "CHAT_ACTIONS",
    "CHAT_ID_FIELDS", "INT_FIELDS", "JSON_FIELDS", "MAX_DOWNLOAD_SIZE", "MAX_PHOTO_SIZE",
    "MAX_UPLOAD_SIZE", "MEDIA_KEYS", "NOT_MODIFIED", "PHOTO_MAX_SIDE", "PHOTO_SIDES",
    "QUERY_TOO_OLD", "ApiError", "Call", "CommandsMixin", "FakeTelegram", "FaultsMixin",
    "FilesMixin", "HttpMixin", "MessagesMixin", "StoredFile", "UpdateFactory",
    "UpdatesQueueMixin", "UploadsMixin", "bad_request", "chat", "command_entities",
    "error_for_status", "fake_telegram", "image_info", "normalize_params", "parse_multipart",
    "parse_request", "photo_ladder", "photo_size", "placeholder_jpeg", "private_chat",
    "render_jpeg", "scale_to", "serve", "strip_html", "unique_id_for", "user", "utf16_len",
]
