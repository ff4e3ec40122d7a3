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

Routes: ``/bot{token}/{method}`` (GET query, JSON, form-urlencoded or multipart bodies; method
names are case-insensitive like Telegram's) and ``/file/bot{token}/{file_path}`` (downloads).
Every API call is recorded as a :class:`Call`. Answers have the real Bot API shapes
(``{"ok": true, "result": …}`` / ``{"ok": false, "error_code": …, "description": …}``), and
the fake enforces the Telegram rules a bot most often trips over (identical edits, callback_data
> 64 bytes, getFile > 20 MB, getUpdates while a webhook is set, photo dimensions, …).

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

import base64
import copy
import hashlib
import html
import io
import itertools
import json
import mimetypes
import re
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

BOT_USERNAME = "FreeStyleTransferBot"
BOT_FIRST_NAME = "Free Style Transfer"
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024       # getFile limit
MAX_PHOTO_SIZE = 10 * 1024 * 1024          # sendPhoto upload limit
MAX_UPLOAD_SIZE = 50 * 1024 * 1024         # any multipart upload
PHOTO_SIDES = (90, 320, 800, 1280)         # long sides of the PhotoSize ladder
PHOTO_MAX_SIDE = 1280                      # Telegram downsizes photos to this long side
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
BUTTON_ACTIONS = frozenset({
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
})
MEDIA_KEYS = ("photo", "document", "video", "animation", "audio", "voice", "sticker")

# Form and multipart values are strings; these fields are parsed back to what JSON would carry,
# so a call is recorded alike whatever the body encoding.
JSON_FIELDS = frozenset({
    "reply_markup", "reply_parameters", "media", "commands", "scope", "results", "entities",
    "caption_entities", "allowed_updates", "link_preview_options", "button", "menu_button",
    "message_ids", "permissions", "reaction", "input_message_content", "prices",
})
INT_FIELDS = frozenset({
    "message_id", "reply_to_message_id", "offset", "limit", "timeout", "max_connections",
    "cache_time", "message_thread_id", "duration", "width", "height", "user_id", "file_size",
    "until_date", "from_message_id",
})
BOOL_FIELDS = frozenset({
    "disable_notification", "protect_content", "allow_sending_without_reply",
    "drop_pending_updates", "show_alert", "is_personal", "has_spoiler",
    "disable_web_page_preview", "show_caption_above_media", "supports_streaming",
    "disable_content_type_detection", "allow_paid_broadcast", "revoke_messages",
})
CHAT_ID_FIELDS = frozenset({"chat_id", "from_chat_id"})
_INT_RE = re.compile(r"^-?\d+$")
_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
_BOT_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_DERIVED_RE = re.compile(r"^(?P<base>.+)__(?P<w>\d+)x(?P<h>\d+)$")


# --------------------------------------------------------------------------------------------
# Records and errors
# --------------------------------------------------------------------------------------------

@dataclass
class Call:
    """One Bot API request as the fake received it.

    ``params`` holds every non-file value, normalised (ints, bools and JSON fields parsed) so
    JSON, form and multipart bodies record alike; ``files`` the uploaded parts by part name
    (``"photo"``, or the ``attach://`` name of an InputMedia). ``status`` is None while the
    request is being answered; it is set, with ``response``, just before the answer is written
    (0: connection reset on purpose), so a client that got its answer always sees it.
    """

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    time: float
    http_method: str = "POST"
    content_type: str = ""
    file_names: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    status: int | None = None
    response: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return (self.response or {}).get("result")


class ApiError(Exception):
    """An error answer: HTTP status = error_code, like Telegram's."""

    def __init__(self, status: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status,
                                "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message")
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"


def error_for_status(status: int, description: str | None = None,
                     retry_after: int = 1) -> ApiError:
    """The answer Telegram gives with this status (429 carries parameters.retry_after)."""
    if status == 429:
        return ApiError(429, description or f"Too Many Requests: retry after {retry_after}",
                        {"retry_after": retry_after})
    defaults = {
        400: "Bad Request: invalid request",
        401: "Unauthorized",
        403: "Forbidden: bot was blocked by the user",
        404: "Not Found",
        409: "Conflict: terminated by other getUpdates request; "
             "make sure that only one bot instance is running",
    }
    if description is None:
        try:
            description = defaults.get(status) or HTTPStatus(status).phrase
        except ValueError:
            description = f"Error {status}"
    return ApiError(status, description)


class _Described:
    """A successful result that also carries Telegram's ``description`` (setWebhook & co)."""

    def __init__(self, result: Any, description: str):
        self.result, self.description = result, description


# --------------------------------------------------------------------------------------------
# Request bodies
# --------------------------------------------------------------------------------------------

def normalize_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Turn form-style string values into what a JSON body would carry, per known field."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            text = value.strip()
            if key in JSON_FIELDS and text[:1] in ("{", "["):
                try:
                    value = json.loads(text)
                except ValueError:
                    pass
            elif (key in INT_FIELDS or key in CHAT_ID_FIELDS) and _INT_RE.match(text):
                value = int(text)
            elif key in BOOL_FIELDS and text.lower() in ("true", "false", "1", "0"):
                value = text.lower() in ("true", "1")
        out[key] = value
    return out


def _header_params(value: str) -> tuple[str, dict[str, str]]:
    """Split ``multipart/form-data; boundary=x`` or a Content-Disposition into parts."""
    main, *rest = value.split(";")
    params: dict[str, str] = {}
    for item in rest:
        if "=" in item:
            k, v = item.split("=", 1)
            v = v.strip()
            if len(v) >= 2 and v[0] == v[-1] == '"':
                v = v[1:-1].replace('\\"', '"')
            params[k.strip().lower()] = v
    return main.strip().lower(), params


def parse_multipart(body: bytes, boundary: str
                    ) -> tuple[dict[str, str], dict[str, bytes], dict[str, tuple]]:
    """Minimal RFC 7578 parser: text fields, file parts (those with a filename) and their
    (filename, content type)."""
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    meta: dict[str, tuple[str | None, str | None]] = {}
    delimiter = b"--" + boundary.encode("latin-1")
    chunks = body.split(delimiter)
    if len(chunks) < 3:
        raise ValueError("malformed multipart body")
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break                                   # closing delimiter
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        if chunk.endswith(b"\r\n"):
            chunk = chunk[:-2]
        head, sep, data = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("multipart part without headers")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        _, disp = _header_params(headers.get("content-disposition", ""))
        name = disp.get("name")
        if name is None:
            continue
        if "filename" in disp:
            files[name] = data
            meta[name] = (disp.get("filename") or None, headers.get("content-type"))
        else:
            fields[name] = data.decode("utf-8")
    return fields, files, meta


def parse_request(content_type: str, body: bytes, query: str = ""
                  ) -> tuple[dict[str, Any], dict[str, bytes], dict[str, tuple]]:
    """Parameters from the query string and a JSON, form or multipart body."""
    raw: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    files: dict[str, bytes] = {}
    meta: dict[str, tuple] = {}
    mime, ct_params = _header_params(content_type or "")
    if body:
        if mime == "application/json":
            data = json.loads(body.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("JSON body must be an object")
            raw.update(data)
        elif mime == "multipart/form-data":
            if "boundary" not in ct_params:
                raise ValueError("multipart body without boundary")
            fields, files, meta = parse_multipart(body, ct_params["boundary"])
            raw.update(fields)
        elif mime in ("application/x-www-form-urlencoded", ""):
            raw.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        else:
            raise ValueError(f"unsupported Content-Type {mime}")
    return normalize_params(raw), files, meta


# --------------------------------------------------------------------------------------------
# Images (Pillow) and file identifiers
# --------------------------------------------------------------------------------------------

_heif_registered = False


def _open_image(data: bytes):
    global _heif_registered
    from PIL import Image

    if not _heif_registered:
        _heif_registered = True
        try:
            import pillow_heif

            pillow_heif.register_heif_opener()
        except Exception:                           # pragma: no cover - optional
            pass
    return Image.open(io.BytesIO(data))


def image_info(data: bytes) -> tuple[int, int, str, int] | None:
    """(width, height, format, EXIF orientation) of an image as displayed, or None."""
    try:
        with _open_image(data) as im:
            width, height = im.size
            fmt = im.format or ""
            try:
                orientation = int(im.getexif().get(0x0112, 1) or 1)
            except Exception:
                orientation = 1
    except Exception:
        return None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return width, height, fmt, orientation


def scale_to(width: int, height: int, side: int) -> tuple[int, int]:
    """(width, height) with the long side brought down to ``side`` (never enlarged)."""
    long_side = max(width, height)
    if side >= long_side:
        return width, height
    ratio = side / long_side
    return max(1, round(width * ratio)), max(1, round(height * ratio))


def photo_ladder(width: int, height: int, max_side: int | None = PHOTO_MAX_SIDE
                 ) -> list[tuple[int, int]]:
    """Sizes Telegram keeps of a photo: 90/320/800/1280 long sides below the (capped) image."""
    long_side = max(width, height)
    top = min(long_side, max_side) if max_side else long_side
    sides = [s for s in PHOTO_SIDES if s < top] + [top]
    return [scale_to(width, height, s) for s in sides]


def render_jpeg(data: bytes, size: tuple[int, int] | None = None, quality: int = 85) -> bytes:
    """The image upright (EXIF applied), resized to ``size``, as a JPEG without metadata."""
    from PIL import Image, ImageOps

    with _open_image(data) as im:
        im = ImageOps.exif_transpose(im)
        im = im.convert("RGB")
        if size and im.size != size:
            im = im.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        out = io.BytesIO()
        im.save(out, "JPEG", quality=quality)
        return out.getvalue()


def placeholder_jpeg(width: int = 640, height: int = 480) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (128, 128, 128)).save(out, "JPEG", quality=70)
    return out.getvalue()


_FILE_ID_PREFIX = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI",
                   "sticker": "CAACAgIAAxkBAAI", "video": "BAACAgIAAxkBAAI",
                   "voice": "AwACAgIAAxkBAAI", "audio": "CQACAgIAAxkBAAI",
                   "animation": "CgACAgIAAxkBAAI"}
_EXT_BY_FORMAT = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp",
                  "TIFF": "tif", "HEIF": "heic", "MPO": "jpg"}
_FOLDER_BY_KIND = {"photo": "photos", "document": "documents", "sticker": "stickers",
                   "video": "videos", "voice": "voice", "audio": "music",
                   "animation": "animations"}


def unique_id_for(file_id: str) -> str:
    """A stable, Telegram-looking file_unique_id for a file_id."""
    digest = hashlib.sha1(file_id.encode()).digest()
    return "AQAD" + base64.urlsafe_b64encode(digest).decode()[:12]


def utf16_len(text: str) -> int:
    """Telegram measures entity offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def command_entities(text: str | None) -> list[dict[str, Any]]:
    """The bot_command entity Telegram adds for a leading /command (or /command@bot)."""
    match = _COMMAND_RE.match(text or "")
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}]


def _chat_instance(chat_id: int) -> str:
    digest = hashlib.sha1(f"chat-instance:{chat_id}".encode()).digest()
    return str(-(int.from_bytes(digest[:8], "big") >> 1))


def strip_html(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]*>", "", text))


# --------------------------------------------------------------------------------------------
# Builders of real-shaped objects (pure functions)
# --------------------------------------------------------------------------------------------

def user(id: int, first_name: str = "Alice", *, last_name: str | None = None,
         username: str | None = None, language_code: str | None = "en",
         is_bot: bool = False) -> dict[str, Any]:
    """A Bot API User."""
    out: dict[str, Any] = {"id": int(id), "is_bot": is_bot, "first_name": first_name}
    if last_name:
        out["last_name"] = last_name
    if username:
        out["username"] = username
    if language_code:
        out["language_code"] = language_code
    return out


def chat(id: int, type: str = "private", title: str | None = None, *,
         first_name: str = "Alice", username: str | None = None) -> dict[str, Any]:
    """A Bot API Chat. Group ids are made negative; supergroup/channel ids get Telegram's
    -100… form (``chat(42, "supergroup")["id"] == -1000000000042``)."""
    id = int(id)
    if type == "private":
        if id <= 0:
            raise ValueError("private chat ids are positive (the user's id)")
        out: dict[str, Any] = {"id": id, "type": "private", "first_name": first_name}
    elif type == "group":
        out = {"id": -abs(id), "type": "group", "title": title or "Test group"}
    elif type in ("supergroup", "channel"):
        cid = id if id <= -10**12 else -(10**12 + abs(id))
        out = {"id": cid, "type": type, "title": title or f"Test {type}"}
    else:
        raise ValueError(f"unknown chat type {type!r}")
    if username:
        out["username"] = username
    return out


def private_chat(u: dict[str, Any]) -> dict[str, Any]:
    """The private chat with a user (same id)."""
    out = chat(u["id"], "private", first_name=u.get("first_name", "Alice"),
               username=u.get("username"))
    if u.get("last_name"):
        out["last_name"] = u["last_name"]
    return out


def photo_size(file_id: str, width: int, height: int, file_size: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {"file_id": file_id, "file_unique_id": unique_id_for(file_id),
                           "width": width, "height": height}
    if file_size is not None:
        out["file_size"] = int(file_size)
    return out


def _estimate_jpeg_size(width: int, height: int) -> int:
    return max(600, int(width * height * 0.12))


def _strip_reply(message: dict[str, Any]) -> dict[str, Any]:
    """A message as embedded in reply_to_message (Telegram does not nest further)."""
    out = copy.deepcopy(message)
    out.pop("reply_to_message", None)
    return out


class UpdateFactory:
    """Counters and builders of Update JSON exactly as Telegram sends it.

    Usable alone (webhook tests) or through :class:`FakeTelegram`, which shares its message-id
    counters with the messages the bot sends, so ids grow per chat like on Telegram.
    ``chat`` and ``user`` arguments take a dict (from :func:`chat` / :func:`user`) or an id;
    ``chat=None`` means the private chat with ``user``.
    """

    user = staticmethod(user)
    chat = staticmethod(chat)
    private_chat = staticmethod(private_chat)
    command_entities = staticmethod(command_entities)

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._update_ids = itertools.count(700_000_001)
        self._file_counter = itertools.count(1)
        self._query_ids = itertools.count(4_200_000_001)
        self._media_groups = itertools.count(13_600_000_001)
        self._message_ids: dict[int, int] = {}
        self.chats: dict[int, dict[str, Any]] = {}

    # -- counters ------------------------------------------------------------------------
    def next_update_id(self) -> int:
        with self._lock:
            return next(self._update_ids)

    def next_message_id(self, chat_id: int) -> int:
        with self._lock:
            self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
            return self._message_ids[chat_id]

    def new_file_id(self, kind: str = "photo") -> str:
        with self._lock:
            n = next(self._file_counter)
        prefix = _FILE_ID_PREFIX.get(kind, _FILE_ID_PREFIX["document"])
        return f"{prefix}{n:05d}{secrets.token_urlsafe(18)}"

    def new_media_group_id(self) -> str:
        with self._lock:
            return str(next(self._media_groups))

    # -- hooks FakeTelegram fills in -----------------------------------------------------
    def _lookup_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        return None

    def _known_file_size(self, file_id: str) -> int | None:
        return None

    # -- shared core ---------------------------------------------------------------------
    def _as_user(self, u: dict[str, Any] | int) -> dict[str, Any]:
        return dict(u) if isinstance(u, dict) else user(int(u))

    def _as_chat(self, c: dict[str, Any] | int | None, u: dict[str, Any],
                 chat_type: str = "private") -> dict[str, Any]:
        if c is None:
            out = private_chat(u) if chat_type == "private" else chat(u["id"], chat_type)
        elif isinstance(c, dict):
            out = dict(c)
        elif chat_type == "private":
            out = chat(int(c), "private", first_name=u.get("first_name", "Alice"),
                       username=u.get("username"))
        else:
            out = chat(int(c), chat_type)
        with self._lock:
            self.chats[out["id"]] = out
        return out

    def _reply_copy(self, chat_obj: dict[str, Any], reply_to: dict | int | None
                    ) -> dict[str, Any] | None:
        if reply_to is None:
            return None
        if isinstance(reply_to, dict):
            return _strip_reply(reply_to)
        found = self._lookup_message(chat_obj["id"], int(reply_to))
        if found is not None:
            return _strip_reply(found)
        return {"message_id": int(reply_to), "chat": dict(chat_obj), "date": int(time.time())}

    def message(self, chat: dict | int | None, user: dict | int, *, reply_to: dict | int | None
                = None, media_group_id: str | None = None, chat_type: str = "private",
                date: int | None = None, **content: Any) -> dict[str, Any]:
        """A Message from ``user`` in ``chat`` with the given content fields."""
        u = self._as_user(user)
        c = self._as_chat(chat, u, chat_type)
        msg: dict[str, Any] = {"message_id": self.next_message_id(c["id"]), "from": u,
                               "chat": c, "date": int(date if date is not None else time.time())}
        if media_group_id is not None:
            msg["media_group_id"] = str(media_group_id)
        reply = self._reply_copy(c, reply_to)
        if reply is not None:
            msg["reply_to_message"] = reply
        msg.update({k: v for k, v in content.items() if v is not None})
        return msg

    def message_update(self, message: dict[str, Any], kind: str = "message") -> dict[str, Any]:
        """Wrap a Message (or CallbackQuery, InlineQuery…) in an Update under ``kind``."""
        return {"update_id": self.next_update_id(), kind: message}

    def _content_update(self, chat, user, content: dict[str, Any], *, caption: str | None,
                        edited: bool = False, **message_kw: Any) -> dict[str, Any]:
        if caption is not None:
            content["caption"] = caption
            content["caption_entities"] = command_entities(caption) or None
        msg = self.message(chat, user, **message_kw, **content)
        if edited:
            msg["edit_date"] = msg["date"] + 1
        return self.message_update(msg, "edited_message" if edited else "message")

    def _file_fields(self, kind: str, file_id: str | None, file_size: int | None
                     ) -> dict[str, Any]:
        fid = file_id or self.new_file_id(kind)
        size = file_size if file_size is not None else self._known_file_size(fid)
        out: dict[str, Any] = {"file_id": fid, "file_unique_id": unique_id_for(fid)}
        if size is not None:
            out["file_size"] = int(size)
        return out

    # -- message updates -----------------------------------------------------------------
    def text_update(self, chat, user, text: str, *, reply_to=None, chat_type: str = "private",
                    edited: bool = False) -> dict[str, Any]:
        """A text message; a leading /command gets its bot_command entity."""
        return self._content_update(chat, user, {"text": text,
                                                 "entities": command_entities(text) or None},
                                    caption=None, reply_to=reply_to, chat_type=chat_type,
                                    edited=edited)

    def photo_sizes(self, file_id: str, width: int, height: int,
                    file_size: int | None = None) -> list[dict[str, Any]]:
        """The PhotoSize array of a user's photo whose largest size is ``file_id``.
        The smaller sizes get derived ids that the fake's getFile can serve."""
        ladder = photo_ladder(width, height, max_side=None)
        sizes = [photo_size(f"{file_id}__{w}x{h}", w, h, _estimate_jpeg_size(w, h))
                 for (w, h) in ladder[:-1]]
        if file_size is None:
            file_size = self._known_file_size(file_id)
        sizes.append(photo_size(file_id, width, height,
                                file_size if file_size is not None
                                else _estimate_jpeg_size(width, height)))
        return sizes

    def photo_update(self, chat, user, file_id: str, width: int, height: int, *,
                     caption: str | None = None, reply_to=None,
                     media_group_id: str | None = None, chat_type: str = "private",
                     file_size: int | None = None, edited: bool = False) -> dict[str, Any]:
        """A photo message (register the bytes first with ``add_file``)."""
        return self._content_update(chat, user,
                                    {"photo": self.photo_sizes(file_id, width, height,
                                                               file_size)},
                                    caption=caption, reply_to=reply_to,
                                    media_group_id=media_group_id, chat_type=chat_type,
                                    edited=edited)

    def document_update(self, chat, user, file_id: str, mime_type: str | None,
                        file_name: str | None, file_size: int | None = None, *,
                        caption: str | None = None, reply_to=None,
                        media_group_id: str | None = None, chat_type: str = "private",
                        thumbnail: dict | None = None) -> dict[str, Any]:
        """A document message (e.g. an uncompressed image sent "as file")."""
        doc = self._file_fields("document", file_id, file_size)
        doc.update({k: v for k, v in (("file_name", file_name), ("mime_type", mime_type),
                                      ("thumbnail", thumbnail)) if v is not None})
        return self._content_update(chat, user, {"document": doc}, caption=caption,
                                    reply_to=reply_to, media_group_id=media_group_id,
                                    chat_type=chat_type)

    def sticker_update(self, chat, user, file_id: str | None = None, *, emoji: str = "🙂",
                       width: int = 512, height: int = 512, is_animated: bool = False,
                       is_video: bool = False, set_name: str | None = "TestStickers",
                       file_size: int | None = 20480, chat_type: str = "private",
                       reply_to=None) -> dict[str, Any]:
        sticker = self._file_fields("sticker", file_id, file_size)
        sticker.update({"type": "regular", "width": width, "height": height,
                        "is_animated": is_animated, "is_video": is_video, "emoji": emoji})
        if set_name:
            sticker["set_name"] = set_name
        return self._content_update(chat, user, {"sticker": sticker}, caption=None,
                                    reply_to=reply_to, chat_type=chat_type)

    def video_update(self, chat, user, file_id: str | None = None, *, width: int = 640,
                     height: int = 360, duration: int = 3, mime_type: str = "video/mp4",
                     file_name: str | None = "video.mp4", file_size: int | None = 250_000,
                     caption: str | None = None, media_group_id: str | None = None,
                     chat_type: str = "private", reply_to=None) -> dict[str, Any]:
        video = self._file_fields("video", file_id, file_size)
        video.update({"width": width, "height": height, "duration": duration,
                      "mime_type": mime_type})
        if file_name:
            video["file_name"] = file_name
        return self._content_update(chat, user, {"video": video}, caption=caption,
                                    media_group_id=media_group_id, reply_to=reply_to,
                                    chat_type=chat_type)

    def voice_update(self, chat, user, file_id: str | None = None, *, duration: int = 2,
                     mime_type: str = "audio/ogg", file_size: int | None = 8_000,
                     chat_type: str = "private", reply_to=None) -> dict[str, Any]:
        voice = self._file_fields("voice", file_id, file_size)
        voice.update({"duration": duration, "mime_type": mime_type})
        return self._content_update(chat, user, {"voice": voice}, caption=None,
                                    reply_to=reply_to, chat_type=chat_type)

    # -- other updates -------------------------------------------------------------------
    def _query_id(self) -> str:
        with self._lock:
            return str(next(self._query_ids))

    def callback_update(self, chat, user, message: dict[str, Any], data: str, *,
                        query_id: str | None = None) -> dict[str, Any]:
        """A button press on ``message`` (usually a message the bot sent, i.e. a result)."""
        u = self._as_user(user)
        msg = copy.deepcopy(message)
        if "chat" not in msg:
            msg["chat"] = self._as_chat(chat, u)
        query = {"id": query_id or self._query_id(), "from": u, "message": msg,
                 "chat_instance": _chat_instance(msg["chat"]["id"]),
                 "data": data}
        return self.message_update(query, "callback_query")

    def inline_query_update(self, user, query: str, *, offset: str = "",
                            chat_type: str | None = "sender",
                            query_id: str | None = None) -> dict[str, Any]:
        iq: dict[str, Any] = {"id": query_id or self._query_id(), "from": self._as_user(user),
                              "query": query, "offset": offset}
        if chat_type:
            iq["chat_type"] = chat_type
        return self.message_update(iq, "inline_query")


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

@dataclass
class StoredFile:
    file_id: str
    data: bytes
    file_size: int
    file_path: str

    def as_file(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "file_unique_id": unique_id_for(self.file_id),
                "file_size": self.file_size, "file_path": self.file_path}


@dataclass
class _Fault:
    kind: str                    # "fail" | "reset"
    remaining: int
    status: int = 429
    retry_after: int = 1
    description: str | None = None


@dataclass
class _Upload:
    data: bytes | None
    file_id: str | None
    filename: str | None
    mime_type: str | None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: "FakeTelegram"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nginx/1.18.0"
    sys_version = ""
    disable_nagle_algorithm = True          # headers and body are separate writes
    server: _Server

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
        try:
            self.server.fake._serve(self, verb)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True

    def read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

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


class FakeTelegram(UpdateFactory):
    """The fake Bot API server. See the module docstring for an example."""

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
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

        self.calls: list[Call] = []
        self.errors: list[str] = []                     # tracebacks of bugs in the fake
        self.downloads: list[str] = []                  # file paths served
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
        self._faults: dict[str, list[_Fault]] = {}
        self._delays: dict[str, list[list[float]]] = {}
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
        server = _Server((self.host, self._port), _Handler)
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

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- test controls -------------------------------------------------------------------
    def on(self, method: str, handler: Callable[[Call], Any] | Any) -> None:
        """Answer ``method`` with ``handler(call)`` (or a fixed result); raise ApiError from
        the handler for an error answer. Overrides the built-in implementation."""
        fn = handler if callable(handler) else (lambda call, _r=handler: copy.deepcopy(_r))
        with self._lock:
            self._custom[method.lower()] = (method, fn)

    def fail_next(self, method: str, *, status: int = 429, retry_after: int = 1,
                  count: int = 1, description: str | None = None) -> None:
        """The next ``count`` calls to ``method`` ("*" = any, "file" = downloads) fail."""
        self._add_fault(method, _Fault("fail", count, status, retry_after, description))

    def reset_next(self, method: str, count: int = 1) -> None:
        """The next ``count`` calls to ``method`` get their connection closed, no answer."""
        self._add_fault(method, _Fault("reset", count))

    def fail_randomly(self, methods: set[str] | frozenset[str], rate: float, *,
                      status: int = 429, retry_after: int = 1, seed: int = 0) -> None:
        """From now on, each call to one of ``methods`` fails with probability ``rate``
        (seeded, so a run can be repeated); ``rate=0`` switches it off. Faults queued with
        fail_next/reset_next go first. ``injected`` counts the failures."""
        import random

        with self._lock:
            self._chaos = ({self._canonical(m) for m in methods}, float(rate), status,
                           retry_after, random.Random(seed))

    def _random_fault(self, method: str) -> _Fault | None:
        with self._lock:
            methods, rate, status, retry_after, rng = self._chaos
            if method not in methods or rate <= 0 or rng.random() >= rate:
                return None
            self.injected += 1
        return _Fault("fail", 1, status, retry_after)

    def delay_next(self, method: str, seconds: float, count: int = 1) -> None:
        """Sleep ``seconds`` before answering the next ``count`` calls ("file" = downloads)."""
        with self._lock:
            self._delays.setdefault(self._fault_key(method), []).append([seconds, count])

    def _fault_key(self, method: str) -> str:
        return method if method in ("*", "file") else self._canonical(method)

    def _add_fault(self, method: str, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(self._fault_key(method), []).append(fault)

    def _take(self, table: dict[str, list], method: str) -> Any:
        with self._lock:
            for key in (method, "*") if method != "file" else ("file",):
                queue = table.get(key)
                if queue:
                    entry = queue[0]
                    if isinstance(entry, _Fault):
                        entry.remaining -= 1
                        done = entry.remaining <= 0
                    else:
                        entry[1] -= 1
                        done = entry[1] <= 0
                    if done:
                        queue.pop(0)
                    return entry
        return None

    def block(self, chat_id: int) -> None:
        """Sends to this chat now fail with 403 "Forbidden: bot was blocked by the user"."""
        with self._lock:
            self.blocked_chats.add(int(chat_id))

    # -- files ---------------------------------------------------------------------------
    def _store_file(self, data: bytes, *, kind: str = "photo", file_id: str | None = None,
                    file_size: int | None = None, file_path: str | None = None,
                    ext: str | None = None) -> StoredFile:
        fid = file_id or self.new_file_id(kind)
        if file_path is None:
            if ext is None:
                info = image_info(data) if kind in ("photo", "document", "sticker") else None
                ext = _EXT_BY_FORMAT.get(info[2], "jpg") if info else (
                    "jpg" if kind == "photo" else "bin")
            folder = _FOLDER_BY_KIND.get(kind, "documents")
            file_path = f"{folder}/file_{next(self._file_paths)}.{ext}"
        stored = StoredFile(fid, bytes(data), len(data) if file_size is None else int(file_size),
                            file_path)
        with self._lock:
            self._files[fid] = stored
            self._files_by_path[file_path] = stored
        return stored

    def add_file(self, data: bytes, *, file_size: int | None = None, kind: str = "photo",
                 file_path: str | None = None) -> str:
        """Register a file "the user sent"; returns its file_id. ``file_size`` overrides what
        getFile reports (> 20 MB → getFile answers "file is too big")."""
        return self._store_file(data, kind=kind, file_size=file_size,
                                file_path=file_path).file_id

    def file_bytes(self, file_id: str) -> bytes:
        stored = self._resolve_file(file_id)
        if stored is None:
            raise KeyError(file_id)
        return stored.data

    def _known_file_size(self, file_id: str) -> int | None:
        with self._lock:
            stored = self._files.get(file_id)
        return stored.file_size if stored else None

    def _resolve_file(self, file_id: str) -> StoredFile | None:
        with self._lock:
            stored = self._files.get(file_id)
            if stored is not None:
                return stored
            m = _DERIVED_RE.match(file_id)
            base = self._files.get(m.group("base")) if m else None
        if base is None:
            return None
        size = (int(m.group("w")), int(m.group("h")))
        try:
            data = render_jpeg(base.data, size)
        except Exception:
            data = base.data
        return self._store_file(data, file_id=file_id, kind="photo", ext="jpg")

    def _register_photo(self, data: bytes, *, keep_original: bool,
                        sent: bool = False) -> list[dict[str, Any]]:
        """Store a photo the way Telegram keeps it: a PhotoSize per ladder step (long side
        ≤ 1280), each with its own file_id and bytes. ``keep_original``: the largest size keeps
        the given bytes when they need neither downscaling nor EXIF rotation. Raises the
        errors Telegram gives for bad photos."""
        info = image_info(data)
        if info is None:
            raise bad_request("IMAGE_PROCESS_FAILED")
        width, height, _fmt, orientation = info
        if width + height > 10000 or max(width, height) > 20 * min(width, height):
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        if len(data) > MAX_PHOTO_SIZE:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        sizes = []
        for w, h in photo_ladder(width, height):
            keep = keep_original and (w, h) == (width, height) and orientation == 1
            try:
                blob = data if keep else render_jpeg(data, (w, h))
            except Exception:                   # header fine, pixels broken (truncated…)
                raise bad_request("IMAGE_PROCESS_FAILED") from None
            stored = self._store_file(blob, kind="photo", ext=None if keep else "jpg")
            sizes.append(photo_size(stored.file_id, w, h, stored.file_size))
            if sent:
                self.sent_files[stored.file_id] = blob
        with self._lock:
            for s in sizes:
                self._photo_sets[s["file_id"]] = sizes
        return copy.deepcopy(sizes)

    def send_photo_from_user(self, chat, user, image_bytes: bytes, *, recompress: bool = True,
                             push: bool = False, **kw: Any) -> dict[str, Any]:
        """add_file + photo_update in one go, the way Telegram would store the photo
        (``recompress``: upright JPEG ≤ 1280 px, EXIF gone, smaller sizes downloadable).
        The message is stored so replies to it resolve; ``push`` also queues the update."""
        if recompress:
            try:
                sizes = self._register_photo(image_bytes, keep_original=False)
            except ApiError as exc:
                raise ValueError(f"Telegram would refuse this photo: {exc}") from None
            largest = sizes[-1]
            file_id, width, height = largest["file_id"], largest["width"], largest["height"]
        else:
            info = image_info(image_bytes)
            if info is None:
                raise ValueError("image_bytes is not an image Pillow can read")
            width, height = info[0], info[1]
            file_id = self.add_file(image_bytes)
            sizes = None
        update = self.photo_update(chat, user, file_id, width, height, **kw)
        if sizes is not None:
            update["message"]["photo"] = sizes
        self.remember(update["message"])
        if push:
            self.push_update(update)
        return update

    def send_document_from_user(self, chat, user, data: bytes, file_name: str = "photo.jpg",
                                mime_type: str | None = None, *, push: bool = False,
                                **kw: Any) -> dict[str, Any]:
        """add_file + document_update (original bytes kept, as Telegram does for files)."""
        mime_type = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        ext = file_name.rsplit(".", 1)[-1] if "." in file_name else "bin"
        file_id = self._store_file(data, kind="document", ext=ext).file_id
        update = self.document_update(chat, user, file_id, mime_type, file_name, len(data), **kw)
        self.remember(update["message"])
        if push:
            self.push_update(update)
        return update

    # -- updates -------------------------------------------------------------------------
    def remember(self, message: dict[str, Any]) -> None:
        """Store a message so replies, edits and deletes can find it."""
        with self._lock:
            self.messages[(message["chat"]["id"], message["message_id"])] = copy.deepcopy(message)
            self.chats.setdefault(message["chat"]["id"], dict(message["chat"]))

    def _lookup_message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        with self._lock:
            return self.messages.get((chat_id, message_id))

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (an update_id is added if missing). Messages in it
        are remembered. Types excluded by the bot's allowed_updates are dropped, as on
        Telegram."""
        update = copy.deepcopy(update)
        update.setdefault("update_id", self.next_update_id())
        for kind in ("message", "edited_message", "channel_post"):
            if isinstance(update.get(kind), dict) and "chat" in update[kind]:
                self.remember(update[kind])
        with self._cond:
            kinds = [k for k in update if k != "update_id"]
            if self._allowed_updates and not set(kinds) & set(self._allowed_updates):
                return update
            self._updates.append(update)
            self._updates.sort(key=lambda u: u["update_id"])
            self._cond.notify_all()
        return update

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._updates)

    def commands(self, scope: dict | None = None, language_code: str = "") -> list[dict]:
        with self._lock:
            return copy.deepcopy(self._commands.get(self._commands_key(scope, language_code), []))

    # -- HTTP ----------------------------------------------------------------------------
    def _serve(self, h: _Handler, verb: str) -> None:
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
                    content_type=_header_params(h.headers.get("Content-Type", ""))[0],
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
                if isinstance(result, _Described):
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
        h.send_json(status, payload)

    def _complete(self, call: Call, status: int, payload: dict | None) -> None:
        with self._cond:
            call.status, call.response = status, payload
            self._cond.notify_all()

    def _sleep_if_delayed(self, key: str) -> None:
        delay = self._take(self._delays, key)
        if delay is not None:
            self._stopping.wait(delay[0])

    def _serve_file(self, h: _Handler, token: str, file_path: str) -> None:
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

    # getUpdates / webhook
    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]

    def _get_updates(self, call: Call) -> list[dict[str, Any]]:
        p = call.params
        if self.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                "active; use deleteWebhook to delete the webhook first")
        offset = int(p.get("offset") or 0)
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        timeout = max(float(p.get("timeout") or 0), 0.0)
        if p.get("allowed_updates") is not None:
            self._allowed_updates = list(p["allowed_updates"]) or None
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()                 # an older long poll now loses (409)
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise error_for_status(409)
            if self._updates or self._stopping.is_set():
                return copy.deepcopy(self._updates[:limit])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._cond.wait(remaining)

    def _set_webhook(self, call: Call) -> Any:
        p = call.params
        url = p.get("url") or ""
        if not url:
            return self._delete_webhook(call)
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if (parts.port or 443) not in (80, 88, 443, 8443):
            raise bad_request("bad webhook: Webhook can be set up only on ports 80, 88, "
                              "443 or 8443")
        secret = p.get("secret_token")
        if secret is not None and not re.match(r"^[A-Za-z0-9_-]{1,256}$", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        already = self.webhook is not None and self.webhook["url"] == url
        if p.get("drop_pending_updates"):
            self._updates.clear()
        if p.get("allowed_updates") is not None:
            self._allowed_updates = list(p["allowed_updates"]) or None
        self.webhook = {"url": url, "secret_token": secret,
                        "max_connections": int(p.get("max_connections") or 40),
                        "ip_address": p.get("ip_address")}
        self._cond.notify_all()
        return _Described(True, "Webhook is already set" if already else "Webhook was set")

    def _delete_webhook(self, call: Call) -> Any:
        had = self.webhook is not None
        self.webhook = None
        if call.params.get("drop_pending_updates"):
            self._updates.clear()
        return _Described(True, "Webhook was deleted" if had else "Webhook is already deleted")

    def _get_webhook_info(self, call: Call) -> dict[str, Any]:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False,
                                "pending_update_count": len(self._updates)}
        if self.webhook:
            info["url"] = self.webhook["url"]
            info["max_connections"] = self.webhook["max_connections"]
            info["ip_address"] = self.webhook.get("ip_address") or "149.154.167.220"
        if self._allowed_updates:
            info["allowed_updates"] = list(self._allowed_updates)
        return info

    # commands
    @staticmethod
    def _commands_key(scope: dict | None, language_code: str | None) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""

    def _set_my_commands(self, call: Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for cmd in commands:
            if not isinstance(cmd, dict) or not _BOT_COMMAND_NAME_RE.match(
                    str(cmd.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(str(cmd.get("description", "")).strip()) <= 256:
                raise bad_request("command description is empty")
        key = self._commands_key(call.params.get("scope"), call.params.get("language_code"))
        self._commands[key] = [{"command": c["command"], "description": c["description"]}
                               for c in commands]
        return True

    def _get_my_commands(self, call: Call) -> list[dict[str, Any]]:
        key = self._commands_key(call.params.get("scope"), call.params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, call: Call) -> bool:
        key = self._commands_key(call.params.get("scope"), call.params.get("language_code"))
        self._commands.pop(key, None)
        return True

    # sending
    def _chat_id(self, params: dict[str, Any], key: str = "chat_id") -> int:
        raw = params.get(key)
        if raw is None or raw == "":
            raise bad_request(f"{key} is empty")
        if isinstance(raw, str) and raw.startswith("@"):
            for cid, c in self.chats.items():
                if c.get("username", "").lower() == raw[1:].lower():
                    return cid
            raise bad_request("chat not found")
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None

    def _target_chat(self, params: dict[str, Any]) -> int:
        """The chat a send goes to; 403 if that user blocked the bot."""
        chat_id = self._chat_id(params)
        if chat_id in self.blocked_chats:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _chat_obj(self, chat_id: int) -> dict[str, Any]:
        known = self.chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": "Alice"}
        if chat_id <= -10**12:
            return {"id": chat_id, "type": "supergroup", "title": "Test supergroup"}
        return {"id": chat_id, "type": "group", "title": "Test group"}

    @staticmethod
    def _check_markup(markup: Any) -> dict[str, Any] | None:
        """Validate reply_markup; return it if it is an inline keyboard (the only kind
        Telegram echoes in Message.reply_markup)."""
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request("can't parse inline keyboard button: InlineKeyboardButton "
                              "must be an Object")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not button.get("text"):
                    raise bad_request("can't parse inline keyboard button: Text must be "
                                      "non-empty")
                if not BUTTON_ACTIONS & button.keys():
                    raise bad_request("can't parse inline keyboard button: Text buttons are "
                                      "unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                    raise bad_request("BUTTON_DATA_INVALID")
        return copy.deepcopy(markup) if any(rows) else None

    def _text(self, params: dict[str, Any], key: str) -> str | None:
        value = params.get(key)
        if value is None:
            return None
        value = str(value)
        if str(params.get("parse_mode") or "").upper() == "HTML":
            value = strip_html(value)
        return value

    def _reply_target(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        rp = params.get("reply_parameters")
        if isinstance(rp, dict) and rp.get("message_id") is not None:
            target_chat = self._chat_id(rp) if rp.get("chat_id") is not None else chat_id
            mid = int(rp["message_id"])
        elif params.get("reply_to_message_id") is not None:
            target_chat, mid = chat_id, int(params["reply_to_message_id"])
        else:
            return None
        return self._reply_copy(self._chat_obj(target_chat), mid)

    def _new_bot_message(self, call: Call, content: dict[str, Any], *,
                         caption_key: str | None = "caption",
                         media_group_id: str | None = None) -> dict[str, Any]:
        """Build, store and return a copy of a message the bot sends."""
        p = call.params
        chat_id = self._target_chat(p)
        markup = self._check_markup(p.get("reply_markup"))
        reply = self._reply_target(chat_id, p)
        msg: dict[str, Any] = {"message_id": self.next_message_id(chat_id),
                               "from": dict(self.bot_user), "chat": self._chat_obj(chat_id),
                               "date": int(time.time())}
        if media_group_id:
            msg["media_group_id"] = media_group_id
        if reply is not None:
            msg["reply_to_message"] = reply
        msg.update(content)
        if caption_key:
            caption = self._text(p, caption_key)
            if caption:
                if len(caption) > 1024:
                    raise bad_request("message caption is too long")
                msg["caption"] = caption
        if p.get("has_spoiler"):
            msg["has_media_spoiler"] = True
        if markup is not None:
            msg["reply_markup"] = markup
        self.remember(msg)
        return copy.deepcopy(msg)

    def _send_message(self, call: Call) -> dict[str, Any]:
        self._target_chat(call.params)
        text = self._text(call.params, "text")
        if not text or not text.strip():
            raise bad_request("message text is empty")
        if len(text) > 4096:
            raise bad_request("message is too long")
        return self._new_bot_message(call, {"text": text}, caption_key=None)

    def _upload(self, call: Call, value: Any, field_name: str) -> _Upload | None:
        """Where a file parameter comes from: an uploaded part, attach://name, or a
        file_id / URL string."""
        part = None
        if isinstance(value, str) and value.startswith("attach://"):
            part = value[len("attach://"):]
            if part not in call.files:
                raise bad_request(f"file {part!r} must be uploaded as a multipart part")
        elif value is None and field_name in call.files:
            part = field_name
        if part is not None:
            filename, mime = call.file_names.get(part, (None, None))
            return _Upload(call.files[part], None, filename, mime)
        if value is None or value == "":
            return None
        return _Upload(None, str(value), None, None)

    def _photo_from(self, up: _Upload) -> list[dict[str, Any]]:
        if up.data is not None:
            return self._register_photo(up.data, keep_original=True, sent=True)
        fid = up.file_id or ""
        if fid in self._photo_sets:
            return copy.deepcopy(self._photo_sets[fid])
        stored = self._resolve_file(fid)
        if stored is not None:
            return self._register_photo(stored.data, keep_original=True, sent=True)
        if re.match(r"^https?://", fid):
            return self._register_photo(placeholder_jpeg(), keep_original=True, sent=True)
        raise bad_request("wrong file identifier/HTTP URL specified")

    def _document_from(self, up: _Upload) -> dict[str, Any]:
        if up.data is None:
            fid = up.file_id or ""
            if fid in self._documents:
                return copy.deepcopy(self._documents[fid])
            stored = self._resolve_file(fid)
            if stored is None and re.match(r"^https?://", fid):
                up = _Upload(placeholder_jpeg(), None, fid.rsplit("/", 1)[-1] or "file",
                             None)
            elif stored is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            else:
                doc = {"file_name": stored.file_path.rsplit("/", 1)[-1],
                       "mime_type": mimetypes.guess_type(stored.file_path)[0]
                       or "application/octet-stream",
                       "file_id": stored.file_id, "file_unique_id": unique_id_for(fid),
                       "file_size": stored.file_size}
                self._documents[fid] = doc
                return copy.deepcopy(doc)
        data = up.data or b""
        if not data:
            raise bad_request("file must be non-empty")
        name = up.filename or "file"
        ext = name.rsplit(".", 1)[-1] if "." in name else "bin"
        stored = self._store_file(data, kind="document", ext=ext)
        self.sent_files[stored.file_id] = data
        mime = (up.mime_type if up.mime_type and up.mime_type != "application/octet-stream"
                else None) or mimetypes.guess_type(name)[0] or "application/octet-stream"
        doc: dict[str, Any] = {"file_name": name, "mime_type": mime,
                               "file_id": stored.file_id,
                               "file_unique_id": unique_id_for(stored.file_id),
                               "file_size": len(data)}
        info = image_info(data)
        if info is not None:
            w, h = scale_to(info[0], info[1], 320)
            thumb = self._store_file(render_jpeg(data, (w, h)), kind="photo", ext="jpg")
            doc["thumbnail"] = photo_size(thumb.file_id, w, h, thumb.file_size)
        self._documents[stored.file_id] = doc
        return copy.deepcopy(doc)

    def _generic_media_from(self, kind: str, up: _Upload, spec: dict[str, Any]
                            ) -> dict[str, Any]:
        """video / animation / audio: stored, with the dimensions the sender declared."""
        if up.data is not None:
            stored = self._store_file(up.data, kind=kind, ext="mp4" if kind != "audio"
                                      else "mp3")
            self.sent_files[stored.file_id] = up.data
        else:
            stored = self._resolve_file(up.file_id or "")
            if stored is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
        obj: dict[str, Any] = {"file_id": stored.file_id,
                               "file_unique_id": unique_id_for(stored.file_id),
                               "file_size": stored.file_size,
                               "duration": int(spec.get("duration") or 0)}
        if kind != "audio":
            obj.update(width=int(spec.get("width") or 0), height=int(spec.get("height") or 0))
        obj["mime_type"] = up.mime_type or ("audio/mpeg" if kind == "audio" else "video/mp4")
        return obj

    def _media_content(self, call: Call, kind: str, up: _Upload | None,
                       spec: dict[str, Any]) -> dict[str, Any]:
        if up is None:
            raise bad_request(f"there is no {kind} in the request")
        if kind == "photo":
            return {"photo": self._photo_from(up)}
        if kind == "document":
            return {"document": self._document_from(up)}
        if kind in ("video", "animation", "audio"):
            return {kind: self._generic_media_from(kind, up, spec)}
        raise bad_request(f"unsupported media type {kind!r}")

    def _send_photo(self, call: Call) -> dict[str, Any]:
        self._target_chat(call.params)
        self._check_markup(call.params.get("reply_markup"))
        up = self._upload(call, call.params.get("photo"), "photo")
        return self._new_bot_message(call, self._media_content(call, "photo", up, call.params))

    def _send_document(self, call: Call) -> dict[str, Any]:
        self._target_chat(call.params)
        self._check_markup(call.params.get("reply_markup"))
        up = self._upload(call, call.params.get("document"), "document")
        return self._new_bot_message(call,
                                     self._media_content(call, "document", up, call.params))

    def _input_media(self, call: Call, item: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """(content, caption fields) of one InputMedia."""
        if not isinstance(item, dict) or item.get("type") not in (
                "photo", "document", "video", "animation", "audio"):
            raise bad_request("can't parse InputMedia: media type is not specified")
        up = self._upload(call, item.get("media"), "")
        content = self._media_content(call, item["type"], up, item)
        caption = self._text({**item}, "caption")
        return content, ({"caption": caption} if caption else {})

    def _send_media_group(self, call: Call) -> list[dict[str, Any]]:
        self._target_chat(call.params)
        media = call.params.get("media")
        if not isinstance(media, list) or not media:
            raise bad_request("can't parse media JSON object")
        if len(media) > 10:
            raise bad_request("too many messages to send as an album")
        group_id = self.new_media_group_id()
        prepared = [self._input_media(call, item) for item in media]
        out = []
        for content, caption in prepared:
            msg = self._new_bot_message(call, {**content, **caption}, caption_key=None,
                                        media_group_id=group_id)
            out.append(msg)
        return out

    def _send_chat_action(self, call: Call) -> bool:
        self._target_chat(call.params)
        if call.params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _answer_query(self, query_id: Any) -> None:
        if not query_id:
            raise bad_request("query_id is empty" if query_id is None else QUERY_TOO_OLD)
        if str(query_id) in self._answered_queries:
            raise bad_request(QUERY_TOO_OLD)
        self._answered_queries.add(str(query_id))

    def _answer_callback_query(self, call: Call) -> bool:
        text = call.params.get("text")
        if text is not None and len(str(text)) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._answer_query(call.params.get("callback_query_id"))
        return True

    def _answer_inline_query(self, call: Call) -> bool:
        results = call.params.get("results")
        if not isinstance(results, list):
            raise bad_request("can't parse inline query results JSON object")
        if len(results) > 50:
            raise bad_request("RESULTS_TOO_MUCH")
        ids = [r.get("id") for r in results if isinstance(r, dict)]
        if len(ids) != len(results) or not all(ids) or any(not r.get("type") for r in results):
            raise bad_request("can't parse inline query result")
        if len(set(ids)) != len(ids):
            raise bad_request("RESULT_ID_DUPLICATE")
        self._answer_query(call.params.get("inline_query_id"))
        return True

    # editing
    def _editable(self, call: Call) -> tuple[tuple[int, int] | None, dict[str, Any] | None]:
        """(key, stored message) of the message to edit; (None, None) for inline messages."""
        p = call.params
        if p.get("inline_message_id"):
            return None, None
        chat_id = self._chat_id(p)
        if p.get("message_id") is None:
            raise bad_request("message identifier is not specified")
        key = (chat_id, int(p["message_id"]))
        msg = self.messages.get(key)
        if msg is None:
            raise bad_request("message to edit not found")
        if msg.get("from", {}).get("id") != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return key, msg

    def _apply_edit(self, key: tuple[int, int], old: dict[str, Any], new: dict[str, Any]
                    ) -> dict[str, Any]:
        if {k: v for k, v in new.items() if k != "edit_date"} == \
                {k: v for k, v in old.items() if k != "edit_date"}:
            raise bad_request(NOT_MODIFIED)
        new["edit_date"] = int(time.time())
        self.messages[key] = new
        return copy.deepcopy(new)

    def _with_markup(self, msg: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """Telegram drops the inline keyboard when an edit doesn't repeat it."""
        markup = self._check_markup(params.get("reply_markup"))
        msg.pop("reply_markup", None)
        if markup is not None:
            msg["reply_markup"] = markup
        return msg

    def _edit_message_text(self, call: Call) -> Any:
        text = self._text(call.params, "text")
        if not text or not text.strip():
            raise bad_request("message text is empty")
        key, msg = self._editable(call)
        if key is None:
            self._check_markup(call.params.get("reply_markup"))
            return True
        if "text" not in msg:
            raise bad_request("there is no text in the message to edit")
        new = self._with_markup({**copy.deepcopy(msg), "text": text}, call.params)
        new.pop("entities", None)
        return self._apply_edit(key, msg, new)

    def _edit_message_caption(self, call: Call) -> Any:
        key, msg = self._editable(call)
        if key is None:
            return True
        if not any(k in msg for k in MEDIA_KEYS):
            raise bad_request("there is no caption in the message to edit")
        caption = self._text(call.params, "caption")
        new = self._with_markup(copy.deepcopy(msg), call.params)
        new.pop("caption", None)
        new.pop("caption_entities", None)
        if caption:
            new["caption"] = caption
        return self._apply_edit(key, msg, new)

    def _edit_message_media(self, call: Call) -> Any:
        key, msg = self._editable(call)
        if key is not None and not any(k in msg for k in MEDIA_KEYS):
            raise bad_request("there is no media in the message to edit")
        content, caption = self._input_media(call, call.params.get("media"))
        if key is None:
            return True
        new = self._with_markup(copy.deepcopy(msg), call.params)
        for k in (*MEDIA_KEYS, "caption", "caption_entities"):
            new.pop(k, None)
        new.update(content)
        new.update(caption)
        return self._apply_edit(key, msg, new)

    def _edit_message_reply_markup(self, call: Call) -> Any:
        key, msg = self._editable(call)
        if key is None:
            self._check_markup(call.params.get("reply_markup"))
            return True
        new = self._with_markup(copy.deepcopy(msg), call.params)
        return self._apply_edit(key, msg, new)

    def _delete_message(self, call: Call) -> bool:
        chat_id = self._chat_id(call.params)
        mid = call.params.get("message_id")
        if mid is None:
            raise bad_request("message identifier is not specified")
        if self.messages.pop((chat_id, int(mid)), None) is None:
            raise bad_request("message to delete not found")
        return True

    def _get_file(self, call: Call) -> dict[str, Any]:
        file_id = call.params.get("file_id")
        if not file_id:
            raise bad_request("file_id not specified")
        stored = self._resolve_file(str(file_id))
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_SIZE:
            raise bad_request("file is too big")
        return stored.as_file()


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
