"""``python -m nst stylize clip.mp4 STYLE -o out.mp4`` (or .gif in / out).

Same contract as the still-image command (see ``nst.cli``): one line on stderr
and exit 2 for bad input, 1 when the engine fails.  A progress bar of painted
frames goes to stderr; the result is written atomically (nst.files.atomic_path).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

from nst.cli_common import EXIT_OK, CliError, check_writable, engine_from_env, style_arg
from nst.errors import ClipError
from nst.files import atomic_path

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from nst.animate import ClipResult
    from nst.engine import Engine, StyleOptions
    from nst.video import Clip

#: Outputs that make the command paint a clip.
CLIP_OUTPUTS = (".mp4", ".gif")


def wants_clip(content: str, output: Path) -> bool:
    """A clip comes out for an .mp4/.gif output, or a video in (then the output must be one).
    A GIF in with a picture out stays the still path (its first frame), as before."""
    from nst.video import CLIP_EXTENSIONS

    if output.suffix.lower() in CLIP_OUTPUTS:
        return True
    suffix = Path(content).suffix.lower()
    return suffix in CLIP_EXTENSIONS and suffix != ".gif"


class ClipProgress:
    """"painting frames 12/75" on stderr: redrawn in place on a terminal, else every 25 %."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.last_quarter = -1

    def __call__(self, done: int, total: int) -> None:
        pct = 100 * done // max(total, 1)
        if self.tty:
            bar = "#" * (pct // 5)
            self.stream.write(f"\rpainting frames [{bar:<20}] {done}/{total}")
            if done >= total:
                self.stream.write("\n")
        elif pct // 25 > self.last_quarter:
            self.last_quarter = pct // 25
            self.stream.write(f"painting frames {done}/{total} ({pct}%)\n")
        else:
            return
        self.stream.flush()


def cmd_stylize_clip(args: argparse.Namespace, options: StyleOptions, mix_weight: float) -> int:
    """`stylize` for a clip in or out: scan, paint every frame, write MP4 or GIF."""
    from nst.animate import stylize_clip
    from nst.video import ClipLimits, open_clip

    out_path = Path(args.output)
    fmt = out_path.suffix.lower()
    if fmt not in CLIP_OUTPUTS:
        raise CliError(f"output {out_path}: a clip's result must be .mp4 or .gif")
    check_writable(out_path)
    content = Path(args.content)
    if not content.exists():
        raise CliError(f"content file {content} not found")
    if content.is_dir():
        raise CliError(f"content {content} is a directory, not a clip")
    try:
        clip = open_clip(content, ClipLimits(max_side=min(ClipLimits.max_side, options.max_side)))
    except ClipError as e:
        raise CliError(f"content {content}: {e.user_message}") from None
    engine = engine_from_env()
    style = style_arg(engine, args.style, "style")
    mix = style_arg(engine, args.mix, "mix style") if args.mix is not None else None

    try:
        with atomic_path(out_path) as tmp:
            if clip.info.still:  # a one-frame GIF is a photo: paint it as one
                result = _paint_still(engine, clip, style, options, mix, mix_weight, tmp,
                                      fmt[1:])
            else:
                result = stylize_clip(engine, clip, style, options, tmp, fmt[1:], mix=mix,
                                      mix_weight=mix_weight, progress=ClipProgress())
    except ClipError as e:
        raise CliError(f"content {content}: {e.user_message}") from None
    except OSError as e:
        raise CliError(f"cannot write {out_path}: {e.strerror or e}") from None
    cut = f", cut to the first {clip.limits.max_seconds:g} s" if clip.info.cut else ""
    frames = f"{result.frames} frame{'s' if result.frames != 1 else ''}"
    print(f"wrote {out_path} ({result.size[0]}x{result.size[1]}, {frames}, "
          f"{result.duration:.1f} s{cut}; {out_path.stat().st_size // 1024} KB, "
          f"{result.seconds:.1f} s)")
    return EXIT_OK


def _paint_still(engine: Engine, clip: Clip, style: Image.Image | str, options: StyleOptions,
                 mix: Image.Image | str | None, mix_weight: float, path: Path,
                 fmt: str) -> ClipResult:
    """One painted frame written as a (one-frame) clip."""
    import time

    import numpy as np
    from PIL import Image

    from nst.animate import ClipResult
    from nst.video import ClipWriter

    started = time.monotonic()
    size = (clip.info.width, clip.info.height)
    still = clip.still().resize(size, Image.Resampling.LANCZOS)
    out = engine.stylize(still, style, options, mix=mix, mix_weight=mix_weight)
    with ClipWriter(path, fmt, size) as writer:
        writer.write(0.0, np.asarray(out.resize(size)))
    return ClipResult(1, size, 0.0, False, time.monotonic() - started)
