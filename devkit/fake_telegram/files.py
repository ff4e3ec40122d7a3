"""Files of :class:`FakeTelegram`: what "the user" sent, photos stored the way Telegram
keeps them, and getFile."""
from __future__ import annotations

import copy
import mimetypes
import re
from dataclasses import dataclass
from typing import Any

from .media import (
    EXT_BY_FORMAT,
    FOLDER_BY_KIND,
    image_info,
    photo_ladder,
    render_jpeg,
    unique_id_for,
)
from .protocol import ApiError, Call, bad_request
from .updates import photo_size

MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024       # getFile limit
MAX_PHOTO_SIZE = 10 * 1024 * 1024          # sendPhoto upload limit
_DERIVED_RE = re.compile(r"^(?P<base>.+)__(?P<w>\d+)x(?P<h>\d+)$")


@dataclass
class StoredFile:
    file_id: str
    data: bytes
    file_size: int
    file_path: str

    def as_file(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "file_unique_id": unique_id_for(self.file_id),
                "file_size": self.file_size, "file_path": self.file_path}


class FilesMixin:
    """File storage, user uploads (send_photo_from_user / send_document_from_user) and
    getFile."""

    # -- files ---------------------------------------------------------------------------
    def _store_file(self, data: bytes, *, kind: str = "photo", file_id: str | None = None,
                    file_size: int | None = None, file_path: str | None = None,
                    ext: str | None = None) -> StoredFile:
        fid = file_id or self.new_file_id(kind)
        if file_path is None:
            if ext is None:
                info = image_info(data) if kind in ("photo", "document", "sticker") else None
                ext = EXT_BY_FORMAT.get(info[2], "jpg") if info else (
                    "jpg" if kind == "photo" else "bin")
            folder = FOLDER_BY_KIND.get(kind, "documents")
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
