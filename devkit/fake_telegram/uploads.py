"""Media the bot sends (sendPhoto, sendDocument, sendAnimation, sendMediaGroup, InputMedia):
where each file comes from (upload, attach://, file_id, URL) and the Telegram objects it becomes."""
from __future__ import annotations

import copy
import mimetypes
import re
from dataclasses import dataclass
from typing import Any

from .media import image_info, placeholder_jpeg, render_jpeg, scale_to, unique_id_for
from .protocol import Call, bad_request
from .updates import photo_size


@dataclass
class _Upload:
    data: bytes | None
    file_id: str | None
    filename: str | None
    mime_type: str | None


class UploadsMixin:
    """Files of outgoing media messages and the sendPhoto / sendDocument / sendMediaGroup
    methods."""

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

    def _send_animation(self, call: Call) -> dict[str, Any]:
        """sendAnimation: like Telegram, the message carries the animation and, for old
        clients, the same file as a document."""
        self._target_chat(call.params)
        self._check_markup(call.params.get("reply_markup"))
        up = self._upload(call, call.params.get("animation"), "animation")
        content = self._media_content(call, "animation", up, call.params)
        anim = content["animation"]
        anim["file_name"] = (up.filename if up and up.filename else "animation.mp4")
        content["document"] = {k: anim[k] for k in ("file_id", "file_unique_id", "file_size",
                                                    "file_name", "mime_type")}
        return self._new_bot_message(call, content)

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
