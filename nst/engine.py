"""The stylization engine: style codes, strength, mixes, colours, big images.

How the options work (all backends):

* **strength** s ∈ [0, 1]: as in Magenta's demo the style vector is blended
  with the content's *own* style vector (the predictor run on the content),
  v = s·v_style + (1 − s)·v_content; that alone still repaints the picture
  strongly at low s (the network restyles even with the content's own code),
  so the result is also cross-faded with the content:
  out = s·T(v) + (1 − s)·content.  s = 0 is exactly the content, s = 1
  exactly the style, and the change grows monotonically in between.
* **mix** with weight w: the style code is (1 − w)·v₁ + w·v₂.  Zero-weight terms
  are dropped, so w = 0 / w = 1 give exactly the single styles.
* Backends whose codes are vectors (``openvino``, ``lite``) average codes and run one
  transfer.  For a backend whose codes cannot be averaged (``hub``: the model
  takes the style image) every style is rendered and the *outputs* are
  averaged with the same weights; strength is then the cross-fade alone.
* **keep_colors**: luminance transfer — Y from the stylized result, Cb/Cr from
  the content (computed as ``content + (Y_out − Y_content)``).
* **max_side**: the output keeps the aspect ratio; its long side is
  min(max_side, the input's long side); max_side is clamped to ``MAX_SIDE``.
* **brush** (``nst.brush``): bold / medium paint at a fixed, smaller resolution
  (bigger strokes, same look at every output size) and are brought up to the
  output size guided by the photo; fine paints at the output's resolution.
  None = the preset's default (manifest ``brush``), else ``DEFAULT_BRUSH``.
* **Speed and memory**: an output of up to ``pass_pixels`` pixels is one
  transformer pass — fastest.  Larger (HD) outputs are tiled (``nst.tiling``) in
  passes of ``tile_pixels``: a global pass for the look, full-resolution tiles
  for the detail, blended without seams.  A runtime's memory grows with the
  pixels of its largest pass and is kept for the process's life, so both
  limits bound peak memory; each backend brings defaults that fit its own
  memory per pixel (``Backend.pass_pixels`` / ``tile_pixels``; bench/ has the
  figures behind them).
"""
from __future__ import annotations

import functools
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from numbers import Real
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from nst.backends import make_backend
from nst.backends.base import MIN_SIDE, Backend, prepare_style
from nst.brush import DEFAULT_BRUSH, check_brush, paint, paint_size
from nst.catalog import Catalog, open_catalog
from nst.config import EngineConfig
from nst.images import fit_max_side, output_size
from nst.errors import NstError
from nst.protect import DEFAULT_PROTECT, check_protect, protect_image
from nst.subjects import SubjectFinder, Subjects
from nst.tiling import stylize_tiled

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

MAX_SIDE = 4096
#: Largest output stylized in one pass unless the backend says otherwise.
DEFAULT_PASS_PIXELS = Backend.pass_pixels
#: Warmup paints the default brush's pass of a 4:3 phone photo at the bot's preview
#: size: the first inference after a compile costs the most, and a new shape a little,
#: so the first user's painting finds the model primed (and, for a 4:3 photo, its shape
#: ready); the pass is small, so no big arena is committed.
WARMUP_PHOTO = (1280, 960)
STYLE_CACHE_SIZE = 32


class OptionError(NstError, ValueError):
    """An option is out of range (strength, max_side, mix weight …)."""

    default_code = "bad_option"
    default_message = "That setting isn't valid."


def _number(name: str, value: object, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise OptionError(f"{name} must be a number between {lo:g} and {hi:g}, not {value!r}.",
                          code=f"bad_{name}")
    value = float(value)
    if not lo <= value <= hi:
        raise OptionError(f"{name} must be between {lo:g} and {hi:g}, not {value:g}.",
                          code=f"bad_{name}")
    return value


@dataclass(frozen=True)
class StyleOptions:
    strength: float = 1.0
    keep_colors: bool = False
    max_side: int = 1280
    #: bold | medium | fine (``nst.brush``); None = the preset's default brush.
    brush: str | None = None
    #: none | faces | person (``nst.protect``): keep faces / the person close to the photo.
    protect: str = DEFAULT_PROTECT

    def __post_init__(self) -> None:
        try:
            check_protect(self.protect)
        except ValueError as e:
            raise OptionError(str(e), code="bad_protect") from None
        if self.brush is not None:
            try:
                check_brush(self.brush)
            except ValueError as e:
                raise OptionError(str(e), code="bad_brush") from None
        object.__setattr__(self, "strength", _number("strength", self.strength, 0.0, 1.0))
        side = self.max_side
        if isinstance(side, bool) or not isinstance(side, Real) or not math.isfinite(float(side)) \
                or float(side) != int(side):
            raise OptionError(f"max_side must be a whole number of pixels, not {side!r}.",
                              code="bad_max_side")
        side = int(side)
        if side < MIN_SIDE:
            raise OptionError(f"max_side must be at least {MIN_SIDE} pixels, not {side}.",
                              code="bad_max_side")
        object.__setattr__(self, "max_side", min(side, MAX_SIDE))
        object.__setattr__(self, "keep_colors", bool(self.keep_colors))


class Engine:
    """Thread-safe stylization on a backend and a preset catalog."""

    def __init__(self, backend: Backend, catalog: Catalog, *,
                 pass_pixels: int | None = None,
                 tile_pixels: int | None = None) -> None:
        """``pass_pixels`` / ``tile_pixels``: None = the backend's defaults."""
        pass_pixels = backend.pass_pixels if pass_pixels is None else pass_pixels
        tile_pixels = min(pass_pixels, backend.tile_pixels if tile_pixels is None else tile_pixels)
        if tile_pixels < 64 * 64:
            raise ValueError("pass_pixels and tile_pixels must be at least 4096")
        self.backend = backend
        self.catalog = catalog
        self.pass_pixels = int(pass_pixels)
        self.tile_pixels = int(tile_pixels)
        self._style_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._style_lock = threading.Lock()
        self.finder = SubjectFinder(getattr(backend, "config", None))

    @classmethod
    def from_config(cls, config: EngineConfig | None = None, **kwargs: Any) -> "Engine":
        """Cheap: reads the catalog manifest; models load at warmup / first use."""
        config = config or EngineConfig.from_env()
        kwargs.setdefault("pass_pixels", config.pass_pixels)
        kwargs.setdefault("tile_pixels", config.tile_pixels)
        return cls(make_backend(config), open_catalog(config.styles, config.cache_dir), **kwargs)

    # --- lifecycle ---------------------------------------------------------------------
    def warmup(self) -> None:
        """What the first painting needs: the transformer compiled, every preset's style
        code (shipped with the presets; computed and cached only when missing), the
        default brush's pass of a 4:3 photo run once (weights packed, shape ready), and
        the face models (every painting looks for faces), OpenCV imported."""
        self.backend.warmup()
        self.finder.warmup()
        import cv2  # noqa: F401  (the brush's upsampling and the face mask: not on the first painting's clock)
        vectors = self.catalog.vectors(self.backend)
        if vectors:
            pw, ph = paint_size(*WARMUP_PHOTO, DEFAULT_BRUSH) or WARMUP_PHOTO
            self.backend.transfer(np.zeros((ph, pw, 3), np.float32), next(iter(vectors.values())))

    def health(self) -> tuple[bool, str]:
        """(ok, message); never raises."""
        try:
            ok, msg = self.backend.health()
            if not ok:
                return False, msg
            n = len(self.catalog.presets())
            if n == 0:
                return False, "the style catalog has no presets"
            return True, f"{msg}; {n} presets"
        except NstError as e:
            return False, e.detail or e.user_message
        except Exception as e:  # health must not raise
            return False, f"{type(e).__name__}: {e}"

    # --- style codes ---------------------------------------------------------------------
    def style_code(self, style: "str | Image.Image") -> np.ndarray:
        """The backend's code of a preset id or a style image."""
        if isinstance(style, str):
            return self.catalog.vector(style, self.backend)   # StyleNotFound if unknown
        if not _is_image(style):
            raise TypeError(f"style must be a preset id or a PIL image, not {type(style).__name__}")
        arr = prepare_style(style)
        key = hashlib.sha256(arr.tobytes()).hexdigest() + ":" + self.backend.fingerprint
        with self._style_lock:
            code = self._style_cache.get(key)
            if code is not None:
                self._style_cache.move_to_end(key)
                return code
        code = np.asarray(self.backend.style_vector(arr), dtype=np.float32)
        code.setflags(write=False)
        with self._style_lock:
            self._style_cache[key] = code
            while len(self._style_cache) > STYLE_CACHE_SIZE:
                self._style_cache.popitem(last=False)
        return code

    def _recipe(self, style: "str | Image.Image", mix: "str | Image.Image | None",
                mix_weight: float) -> list[tuple[float, np.ndarray]]:
        """[(weight, code)] of the style (and mix): weights sum to 1, zero weights dropped."""
        w = _number("mix_weight", mix_weight, 0.0, 1.0)
        styles = [(1.0, style)] if mix is None else [(1.0 - w, style), (w, mix)]
        # resolve every style, also a zero-weight one: an unknown id is still an error
        codes = [(wt, self.style_code(s)) for wt, s in styles]
        return [(wt, c) for wt, c in codes if wt > 0.0]

    def _transfer_fn(self, terms: list[tuple[float, np.ndarray]], strength: float,
                     content_small: "Image.Image",
                     batch: bool = False) -> Callable[[np.ndarray], np.ndarray]:
        """float32 HxWx3 → stylized float32 HxWx3, with strength and mix applied
        (``batch``: through ``Backend.batch_transfer``, for callers that run several)."""
        backend = self.backend
        transfer = backend.batch_transfer if batch else backend.transfer
        s = np.float32(strength)

        def weighted_sum(parts: Iterable[tuple[float, Any]]) -> Any:
            acc = None
            for wt, value in parts:
                part = value if wt == 1.0 else np.float32(wt) * value
                acc = part if acc is None else acc + part
            return acc

        if backend.linear_codes:
            vec = weighted_sum(terms)
            if strength < 1.0:  # Magenta: blend with the content's own style vector
                own = np.asarray(backend.style_vector(prepare_style(content_small)), np.float32)
                vec = s * vec + (np.float32(1.0) - s) * own

            def render(x: np.ndarray) -> np.ndarray:
                return transfer(x, vec)
        else:
            def render(x: np.ndarray) -> np.ndarray:
                return weighted_sum((wt, transfer(x, code)) for wt, code in terms)

        if strength >= 1.0:
            return render

        def with_strength(x: np.ndarray) -> np.ndarray:
            y = render(x)
            y *= s
            y += (np.float32(1.0) - s) * x
            return np.clip(y, 0.0, 1.0, out=y)

        return with_strength

    # --- the work ----------------------------------------------------------------------
    def stylize(
        self,
        content: "Image.Image",
        style: "str | Image.Image",
        options: StyleOptions = StyleOptions(),
        *,
        mix: "str | Image.Image | None" = None,
        mix_weight: float = 0.5,
        progress: Callable[[float], None] | None = None,
        subjects: "Subjects | Future[Subjects] | None" = None,
    ) -> "Image.Image":
        """Stylize ``content`` with a preset id or a style image; returns a new RGB image.

        The output keeps the aspect ratio, its long side is
        min(options.max_side, the content's long side).  ``mix``/``mix_weight``
        blend in a second style; ``subjects``: ``self.subjects(content)`` (or
        ``subjects_later``) when the caller has it already (protect needs it; without it
        the search runs beside the painting); ``progress(fraction)`` is called with increasing
        fractions during long (tiled) work and with 1.0 at the end — raise from it
        to cancel.  Raises StyleNotFound (unknown preset id), OptionError (bad
        mix_weight), ModelError (model files).  Thread-safe.
        """
        if not _is_image(content):
            raise TypeError(f"content must be a PIL image, not {type(content).__name__}")
        if not isinstance(options, StyleOptions):
            raise TypeError("options must be a StyleOptions")
        terms = self._recipe(style, mix, mix_weight)
        if progress is not None:
            progress = _monotone(progress)

        img = content if content.mode == "RGB" else content.convert("RGB")
        img = fit_max_side(img, options.max_side)
        w, h = img.size
        if options.strength == 0.0:  # exactly the content; no inference needed
            if progress:
                progress(1.0)
            return img.copy() if img is content else img
        if options.protect != "none":
            pending = subjects if subjects is not None else self.subjects_later(img)
        fn = self._transfer_fn(terms, options.strength, img)

        def keep_band_colors(rows: np.ndarray, y0: int) -> None:
            keep_colors(rows, np.asarray(img.crop((0, y0, w, y0 + rows.shape[0]))))

        post = keep_band_colors if options.keep_colors else None
        brush = options.brush or self.default_brush(style)
        result = paint(img, brush, lambda small: np.asarray(self._render(small, fn, progress)), post)
        if result is None:  # the brush paints at the output's own resolution
            result = self._render(img, fn, progress, post)
        if options.protect != "none":
            found = pending.result() if isinstance(pending, Future) else pending
            result = protect_image(img, result, found, options.protect)
        if progress:
            progress(1.0)
        return result

    def _render(self, img: "Image.Image", fn: Callable[[np.ndarray], np.ndarray],
                progress: Callable[[float], None] | None,
                post: Callable[[np.ndarray, int], None] | None = None) -> "Image.Image":
        """``img`` stylized at its own size: one pass, or tiles when it is larger."""
        from PIL import Image

        if img.width * img.height > self.pass_pixels:
            return stylize_tiled(img, fn, self.tile_pixels, progress, post)
        out = _one_pass(fn, np.asarray(img), keep=False)
        if post is not None:
            post(out, 0)
        return Image.fromarray(out, "RGB")

    def subjects(self, photo: "Image.Image", small_faces: bool = True) -> Subjects:
        """Faces and the person in ``photo``; ``.found`` says whether protect changes anything.
        ``small_faces=False``: the whole picture only (cheaper; clip frames)."""
        return self.finder.find(photo, small_faces)

    def subjects_later(self, photo: "Image.Image", small_faces: bool = True) -> "Future[Subjects]":
        """``subjects`` searched on a thread of its own, to overlap with ``stylize``."""
        return self.finder.find_later(photo, small_faces)

    def default_brush(self, style: "str | Image.Image") -> str:
        """The brush used when StyleOptions.brush is None: the preset's own
        (manifest field ``brush``), else ``nst.brush.DEFAULT_BRUSH``."""
        if isinstance(style, str) and style in self.catalog:
            return self.catalog.get(style).brush or DEFAULT_BRUSH
        return DEFAULT_BRUSH

    def frame_renderer(
        self,
        style: "str | Image.Image",
        options: StyleOptions,
        reference: "Image.Image",
        *,
        mix: "str | Image.Image | None" = None,
        mix_weight: float = 0.5,
        batch: bool = False,
    ) -> Callable[[np.ndarray], np.ndarray]:
        """For clips: the style code is resolved ONCE, so every frame gets the same look.

        Returns ``render(frame)``: uint8 RGB [H, W, 3] → stylized uint8 [H, W, 3] of the
        same size, one pass at the frame's own size.  ``reference`` (e.g. the first
        frame) is the content whose own style vector tempers a strength below 1;
        ``options.max_side`` is not used (the caller sizes the frames).  ``batch``: the
        caller runs up to ``backend.streams`` renders at once (``Backend.batch_transfer``).
        """
        terms = self._recipe(style, mix, mix_weight)
        if options.strength == 0.0:
            return np.copy
        fn = self._transfer_fn(terms, options.strength, reference, batch)
        # No brush here: clip frames are at most 640 px, about bold's own resolution, so a
        # small pass + guided upsampling would cost more than painting the frame itself.
        return functools.partial(_one_pass, fn, keep=options.keep_colors)


def _one_pass(fn: Callable[[np.ndarray], np.ndarray], arr: np.ndarray,
              keep: bool) -> np.ndarray:
    """uint8 content → uint8 stylized through ``fn`` (float 0..1), colours kept if asked."""
    x = arr.astype(np.float32)
    x /= np.float32(255.0)   # in place: one float copy of the photo, not two
    out = np.multiply(fn(x), np.float32(255.0), dtype=np.float32)
    del x
    out += np.float32(0.5)
    out = np.clip(out, 0, 255, out=out).astype(np.uint8)
    if keep:
        keep_colors(out, arr)
    return out


def _monotone(progress: Callable[[float], None]) -> Callable[[float], None]:
    """Report only increasing fractions in (0, 1], each once.  An exception raised
    by the callback propagates (it cancels the work)."""
    last = [0.0]

    def report(fraction: float) -> None:
        fraction = min(1.0, float(fraction))
        if fraction > last[0]:
            last[0] = fraction
            progress(fraction)

    return report


_Y = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def keep_colors(stylized: np.ndarray, content: np.ndarray, rows: int = 256) -> np.ndarray:
    """In place: keep the stylized luminance, take chroma (Cb, Cr) from the content.

    Since RGB = Y + f(Cb, Cr) is linear, that is ``content + (Y_stylized − Y_content)``.
    Works in bands of ``rows`` rows so big images need little extra memory.
    """
    for y in range(0, stylized.shape[0], rows):
        s = stylized[y:y + rows].astype(np.float32)
        c = content[y:y + rows].astype(np.float32)
        dy = (s - c) @ _Y
        np.add(c, dy[..., None] + 0.5, out=c)
        np.clip(c, 0, 255, out=c)
        stylized[y:y + rows] = c.astype(np.uint8)
    return stylized


def _is_image(obj: object) -> bool:
    try:
        from PIL import Image
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, Image.Image)


__all__ = ["Engine", "StyleOptions", "OptionError", "output_size", "keep_colors",
           "MAX_SIDE", "MIN_SIDE", "DEFAULT_PASS_PIXELS"]
