"""The records the conversation passes around: a file kept as a Telegram reference
(`FileRef`), what a painting is asked for (`Subject`), and one result with its
settings (`Render`).

They are frozen: a change is a new record (``dataclasses.replace``), so a render
being painted can't change under the painter. `to_doc` / `from_doc` are the one
place they meet the Store's JSON documents (the document layout is the one stored
before these records existed, so renders already in a store still read). Defaults
are defined here, once.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, cast

Doc = dict[str, Any]
FileKind = Literal["photo", "document", "clip"]
Origin = Literal["preset", "own", "album"]

FULL_STRENGTH = 100        # % of the painting's style in a new result
DEFAULT_MIX_SHARE = 50     # % of the second painting in a new mix


@dataclass(frozen=True)
class FileRef:
    """A photo, an image file or a clip, as Telegram keeps it (never its bytes)."""

    file_id: str
    file_unique_id: str
    kind: FileKind
    file_size: int | None = None
    side: int | None = None      # a photo: the long side of the largest size Telegram kept
    gif_file: bool = False       # a GIF sent as a file: the picture path can read it too
    until: float | None = None   # absolute expiry: input_ttl after it arrived (bot/state.py)

    @property
    def is_clip(self) -> bool:
        return self.kind == "clip"

    def as_picture(self) -> FileRef:
        """The same file read as a picture (a one-frame GIF, a GIF FFmpeg can't read)."""
        return replace(self, kind="document")

    def to_doc(self) -> Doc:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_doc(cls, doc: Doc) -> FileRef:
        side = doc.get("side")
        return cls(file_id=str(doc["file_id"]), file_unique_id=str(doc.get("file_unique_id", "")),
                   kind=cast(FileKind, doc.get("kind", "photo")), file_size=doc.get("file_size"),
                   side=int(side) if side else None, gif_file=bool(doc.get("gif_file", False)),
                   until=float(doc["until"]) if doc.get("until") is not None else None)


@dataclass(frozen=True)
class Subject:
    """What a painting keyboard applies to: the content, the message a result replies
    to, and the message that asked (where notes and refusals go)."""

    content: FileRef
    reply_to: int
    ask: int

    def to_doc(self) -> Doc:
        return {"content": self.content.to_doc(), "reply_to": self.reply_to, "ask": self.ask}

    @classmethod
    def from_doc(cls, doc: Doc) -> Subject:
        """From a keyboard's or session's context (which may hold more keys)."""
        return cls(FileRef.from_doc(doc["content"]), int(doc["reply_to"]),
                   int(doc.get("ask") or doc["reply_to"]))


@dataclass(frozen=True)
class Delivered:
    """The message that shows a render's newest painting."""

    message_id: int
    file_id: str
    result_id: str

    def to_doc(self) -> Doc:
        return {"message_id": self.message_id, "file_id": self.file_id,
                "result_id": self.result_id}

    @classmethod
    def from_doc(cls, doc: Doc) -> Delivered:
        return cls(int(doc["message_id"]), str(doc.get("file_id", "")),
                   str(doc.get("result_id", "")))


@dataclass(frozen=True)
class Render:
    """One result: its inputs (Telegram references) and settings.

    The style is a preset (`preset`) or a photo (`style_photo`); `mix` blends in a
    second preset. `rid` and `version` are given by the store (bot/state.py): every
    change of settings is a new version, and only the newest is shown."""

    user: int
    chat: int
    subject: Subject
    origin: Origin = "preset"
    preset: str | None = None
    style_photo: FileRef | None = None
    mix: str | None = None
    mix_share: int = DEFAULT_MIX_SHARE
    strength: int = FULL_STRENGTH
    keep_colors: bool = False
    brush: str | None = None     # None: the painting's own brush
    protect: str | None = None   # 🙂 none | faces | person; None: nst's default
    rid: str = ""
    version: int = 1
    result: Delivered | None = field(default=None, compare=False)

    @classmethod
    def new(cls, user: int, chat: int, subject: Subject, *, preset: str | None = None,
            style_photo: FileRef | None = None, origin: Origin = "preset") -> Render:
        """A fresh result: full strength, the photo's own colours off, no mix."""
        return cls(user, chat, subject, origin=origin, preset=preset, style_photo=style_photo)

    @property
    def content(self) -> FileRef:
        return self.subject.content

    @property
    def ask(self) -> int:
        return self.subject.ask

    @property
    def reply_to(self) -> int:
        return self.subject.reply_to

    @property
    def is_clip(self) -> bool:
        return self.subject.content.is_clip

    @property
    def mix_weight(self) -> float:
        """How much of the second painting a mix takes (its 25/50/75 buttons)."""
        return self.mix_share / 100

    def with_mix(self, preset_id: str) -> Render:
        """A new result: this one's photo and style blended with `preset_id`, half each."""
        return replace(self, mix=preset_id, mix_share=DEFAULT_MIX_SHARE, rid="", version=1,
                       result=None)

    def to_doc(self) -> Doc:
        style: Doc = ({"photo": self.style_photo.to_doc()} if self.style_photo is not None
                      else {"preset": self.preset})
        doc: Doc = {"user": self.user, "chat": self.chat, **self.subject.to_doc(),
                    "style": style, "origin": self.origin, "mix": self.mix,
                    "mix_share": self.mix_share, "strength": self.strength,
                    "keep_colors": self.keep_colors, "brush": self.brush,
                    "protect": self.protect,
                    "rid": self.rid, "version": self.version}
        if self.result is not None:
            doc["result"] = self.result.to_doc()
        return doc

    @classmethod
    def from_doc(cls, doc: Doc) -> Render:
        style = doc.get("style") or {}
        photo = style.get("photo")
        settings: Doc = {}
        for name, kind in (("mix_share", int), ("strength", int), ("keep_colors", bool),
                           ("version", int), ("rid", str)):
            if doc.get(name) is not None:
                settings[name] = kind(doc[name])
        return cls(int(doc["user"]), int(doc["chat"]), Subject.from_doc(doc),
                   origin=cast(Origin, doc.get("origin", "preset")),
                   preset=style.get("preset"),
                   style_photo=FileRef.from_doc(photo) if photo else None,
                   mix=doc.get("mix") or None, brush=doc.get("brush") or None,
                   protect=doc.get("protect") or None,
                   result=Delivered.from_doc(doc["result"]) if doc.get("result") else None,
                   **settings)
