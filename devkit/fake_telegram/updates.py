"""Builders of real-shaped Bot API objects (users, chats, entities, PhotoSizes) and
:class:`UpdateFactory`, which makes Update JSON exactly as Telegram sends it."""
from __future__ import annotations

import copy
import hashlib
import itertools
import re
import secrets
import threading
import time
from typing import Any

from .media import FILE_ID_PREFIX, photo_ladder, unique_id_for

_COMMAND_RE = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")


# --------------------------------------------------------------------------------------------
# Builders of real-shaped objects (pure functions)
# --------------------------------------------------------------------------------------------

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
        prefix = FILE_ID_PREFIX.get(kind, FILE_ID_PREFIX["document"])
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

    def animation_update(self, chat, user, file_id: str | None = None, *, width: int = 320,
                         height: int = 240, duration: int = 2,
                         file_name: str = "animation.gif.mp4", file_size: int | None = 90_000,
                         caption: str | None = None, chat_type: str = "private",
                         reply_to=None) -> dict[str, Any]:
        """A GIF as Telegram delivers it: an MP4 `animation`, mirrored in `document` for
        clients that predate animations."""
        animation = self._file_fields("animation", file_id, file_size)
        animation.update({"width": width, "height": height, "duration": duration,
                          "mime_type": "video/mp4", "file_name": file_name})
        document = {k: animation[k] for k in ("file_id", "file_unique_id", "file_name",
                                              "mime_type", "file_size") if k in animation}
        return self._content_update(chat, user, {"animation": animation, "document": document},
                                    caption=caption, reply_to=reply_to, chat_type=chat_type)

    def video_note_update(self, chat, user, file_id: str | None = None, *, length: int = 240,
                          duration: int = 3, file_size: int | None = 120_000,
                          chat_type: str = "private", reply_to=None) -> dict[str, Any]:
        """A round video message (square, no caption possible)."""
        note = self._file_fields("video_note", file_id, file_size)
        note.update({"length": length, "duration": duration})
        return self._content_update(chat, user, {"video_note": note}, caption=None,
                                    reply_to=reply_to, chat_type=chat_type)

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
