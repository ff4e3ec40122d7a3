"""What every preset catalog offers: `Preset`, `Catalog`, `CatalogError`."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nst.errors import NstError, StyleNotFound

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    from PIL import Image

    from nst.backends.base import Backend


@dataclass(frozen=True)
class Preset:
    id: str
    title: str
    artist: str
    year: str
    filename: str
    #: The preset's default brush (bold | medium | fine); "" = the engine's default.
    brush: str = ""


class CatalogError(NstError):
    """The style catalog itself is unusable (missing folder, bad manifest)."""

    default_code = "catalog"
    default_message = "The style collection isn't available right now. Please try again later."


class Catalog(ABC):
    """Read-only collection of preset styles plus a cache of their style vectors."""

    @abstractmethod
    def presets(self) -> list[Preset]:
        """All presets, in catalog order."""

    def get(self, preset_id: str) -> Preset:
        for p in self.presets():
            if p.id == preset_id:
                return p
        raise StyleNotFound(detail=f"unknown preset {preset_id!r}")

    def __contains__(self, preset_id: object) -> bool:
        return any(p.id == preset_id for p in self.presets())

    @abstractmethod
    def image(self, preset_id: str) -> "Image.Image":
        """The preset's painting, RGB."""

    @abstractmethod
    def vector(self, preset_id: str, backend: "Backend") -> "np.ndarray":
        """The preset's style code for ``backend`` (computed once, then cached)."""

    def vectors(self, backend: "Backend", ids: list[str] | None = None) -> dict[str, "np.ndarray"]:
        """Style codes of several presets (all by default)."""
        ids = [p.id for p in self.presets()] if ids is None else ids
        return {i: self.vector(i, backend) for i in ids}


__all__ = ["Preset", "Catalog", "CatalogError"]
