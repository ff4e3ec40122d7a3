"""Bot API protocol: call records, error answers and request bodies (query string, JSON,
form-urlencoded and multipart), normalised so every encoding records alike."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

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


class Described:
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


def header_params(value: str) -> tuple[str, dict[str, str]]:
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
        _, disp = header_params(headers.get("content-disposition", ""))
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
    mime, ct_params = header_params(content_type or "")
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
