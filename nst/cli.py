"""Command line: ``python -m nst stylize | styles | styles push | styles vectors | models``.

Exit codes: 0 done; 2 bad input (missing or unreadable file, not an image,
unknown preset, option out of range, unsupported output extension, output not
writable); 1 the engine itself failed (model files missing or corrupt, style
catalog unusable, upload failed).  Every error is ONE line on stderr, never a
traceback (set ``NST_DEBUG=1`` to get tracebacks of unexpected errors).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import IO, NoReturn, Sequence

from nst.cli_common import (EXIT_FAIL, EXIT_OK, EXIT_USAGE, CliError, check_output, engine_config,
                            engine_from_env, load_picture, style_arg, write_output)
from nst.config import EngineConfig
from nst.errors import ImageError, ModelError, NstError, StyleNotFound

PROG = "nst"


class _Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line (no usage block) and exits 2."""

    def error(self, message: str) -> NoReturn:
        raise CliError(f"{message} (see `{self.prog} --help`)")


def _build_parser() -> argparse.ArgumentParser:
    from nst.brush import BRUSHES, DEFAULT_BRUSH
    from nst.protect import DEFAULT_PROTECT, PROTECT_MODES

    p = _Parser(prog=PROG, description="Arbitrary neural style transfer (Magenta, TFLite).")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    s = sub.add_parser("stylize", help="stylize a picture",
                       description="Stylize CONTENT in the style of STYLE (an image file or a preset id).")
    s.add_argument("content", metavar="CONTENT",
                   help="content picture, or a clip (MP4, GIF, WebM, MOV)")
    s.add_argument("style", metavar="STYLE", help="style picture, or a preset id (see `styles`)")
    s.add_argument("-o", "--output", metavar="OUT", required=True,
                   help="result file (.jpg, .jpeg, .png or .webp; .mp4 or .gif paints a "
                        "clip or GIF frame by frame, without flicker)")
    s.add_argument("--max-side", type=int, default=1280, metavar="N",
                   help="long side of the result in pixels (default 1280, at most 4096, "
                        "clips at most 640; never more than the content's)")
    s.add_argument("--strength", type=float, default=1.0, metavar="F",
                   help="0 = the content, 1 = full style (default 1)")
    s.add_argument("--keep-colors", action="store_true", help="keep the content's colours")
    s.add_argument("--brush", choices=BRUSHES, default=None,
                   help="stroke size: bold, medium or fine (default: the preset's own, else "
                        f"{DEFAULT_BRUSH})")
    s.add_argument("--protect", choices=PROTECT_MODES, default=DEFAULT_PROTECT,
                   help="keep faces (painted lightly) or the whole person close to the photo "
                        f"(default {DEFAULT_PROTECT}; a photo without a face is not changed)")
    s.add_argument("--mix", metavar="STYLE2", help="second style (image file or preset id)")
    s.add_argument("--mix-weight", type=float, default=None, metavar="W",
                   help="share of STYLE2, 0..1 (default 0.5)")
    s.add_argument("--quality", type=int, default=90, metavar="Q",
                   help="JPEG / WebP quality 1..95 (default 90)")

    st = sub.add_parser("styles", help="list the preset styles (or push them to GCS)",
                        description="List the presets of the catalog in $STYLES (default: built-in).")
    st_sub = st.add_subparsers(dest="styles_command", metavar="push | vectors")
    push = st_sub.add_parser("push", help="upload a preset folder to gs://bucket/prefix",
                             description="Upload SRC (a folder with manifest.json; default or "
                                         "'builtin': the built-in presets) to a GCS bucket for "
                                         "STYLES=gs://bucket/prefix.")
    push.add_argument("where", nargs="+", metavar="[SRC] gs://bucket/prefix")
    vec = st_sub.add_parser("vectors", help="compute the style codes that ship with the presets",
                            description="Write FOLDER/vectors.npz (default: the built-in "
                                        "presets): every preset's style code for each backend "
                                        "that keeps codes; only missing or stale codes are "
                                        "computed, and the file is rewritten only if it changes.")
    vec.add_argument("folder", nargs="?", default="builtin", metavar="FOLDER")

    md = sub.add_parser("models", help="where the model files load from, sizes, sha256 check",
                        description="List the model files (where from, size, sha256 check); "
                                    "`models ir` writes the transformer's OpenVINO IR beside "
                                    "its .tflite (a build step: new instances read it faster).")
    md.add_argument("action", nargs="?", choices=["ir"], help="ir: write the OpenVINO IR")

    pv = sub.add_parser("preview", help="the photo painted in 9 presets, one numbered 3x3 picture",
                        description="Paint PHOTO in 9 presets (default: the first 9) as one "
                                    "3x3 picture of numbered tiles, to choose a painting.")
    pv.add_argument("photo", metavar="PHOTO", help="the photo")
    pv.add_argument("-o", "--output", metavar="GRID", required=True,
                    help="result file (.jpg, .jpeg, .png or .webp)")
    pv.add_argument("--styles", metavar="A,B,...", default=None,
                    help="1 to 9 preset ids, comma-separated, in tile order")
    pv.add_argument("--protect", choices=PROTECT_MODES, default=DEFAULT_PROTECT,
                    help=f"keep faces / the person as in stylize (default {DEFAULT_PROTECT})")
    pv.add_argument("--quality", type=int, default=85, metavar="Q", help="JPEG / WebP quality")
    return p


class _Progress:
    """Progress on stderr for tiled (long) work only."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.shown = False
        self.last = -1

    def __call__(self, fraction: float) -> None:
        if fraction >= 1.0 and not self.shown:
            return  # a single pass: nothing to report
        pct = int(fraction * 100)
        if self.tty:
            self.stream.write(f"\rstylizing… {pct:3d}%")
            if fraction >= 1.0:
                self.stream.write("\n")
        elif pct // 20 > self.last // 20 or fraction >= 1.0 and self.last < 100:
            self.stream.write(f"stylizing… {pct}%\n")
        else:
            return
        self.last = pct
        self.shown = True
        self.stream.flush()


# --- commands --------------------------------------------------------------------------
def cmd_stylize(args: argparse.Namespace) -> int:
    from nst.engine import OptionError, StyleOptions
    from nst.images import encode_image

    if args.mix_weight is not None and args.mix is None:
        raise CliError("--mix-weight needs --mix STYLE2")
    mix_weight = 0.5 if args.mix_weight is None else args.mix_weight
    if not 0.0 <= mix_weight <= 1.0:  # also rejects nan
        raise CliError(f"--mix-weight must be between 0 and 1, not {args.mix_weight:g}")
    if not 1 <= args.quality <= 95:
        raise CliError(f"--quality must be between 1 and 95, not {args.quality}")
    try:
        options = StyleOptions(strength=args.strength, keep_colors=args.keep_colors,
                               max_side=args.max_side, brush=args.brush, protect=args.protect)
    except OptionError as e:
        msg = e.user_message.replace("strength", "--strength").replace("max_side", "--max-side")
        raise CliError(msg) from None
    out_path = Path(args.output)
    from nst.cli_clips import cmd_stylize_clip, wants_clip

    if wants_clip(args.content, out_path):
        return cmd_stylize_clip(args, options, mix_weight)
    fmt = check_output(out_path)
    content = load_picture(args.content, "content")
    engine = engine_from_env()
    style = style_arg(engine, args.style, "style")
    mix = style_arg(engine, args.mix, "mix style") if args.mix is not None else None

    started = time.monotonic()
    result = engine.stylize(content, style, options, mix=mix, mix_weight=mix_weight,
                            progress=_Progress())
    data = encode_image(result, fmt, quality=args.quality)
    write_output(out_path, data)
    print(f"wrote {out_path} ({result.width}x{result.height}, {len(data) // 1024} KB, "
          f"{time.monotonic() - started:.1f} s)")
    return EXIT_OK


def cmd_preview(args: argparse.Namespace) -> int:
    from nst.images import encode_image
    from nst.preview import GRID_SIZE, preview_grid

    if not 1 <= args.quality <= 95:
        raise CliError(f"--quality must be between 1 and 95, not {args.quality}")
    out_path = Path(args.output)
    fmt = check_output(out_path)
    photo = load_picture(args.photo, "photo")
    engine = engine_from_env()
    if args.styles is None:
        styles = [p.id for p in engine.catalog.presets()[:GRID_SIZE]]
    else:
        styles = [s.strip() for s in args.styles.split(",") if s.strip()]
        unknown = [s for s in styles if s not in engine.catalog]
        if unknown:
            raise CliError(f"unknown preset {unknown[0]!r} in --styles "
                           "(`python -m nst styles` lists them)")
        if not 1 <= len(styles) <= GRID_SIZE or len(set(styles)) != len(styles):
            raise CliError(f"--styles takes 1 to {GRID_SIZE} different preset ids, "
                           f"not {args.styles!r}")
    started = time.monotonic()
    grid = preview_grid(engine, photo, styles, protect=args.protect)
    data = encode_image(grid, fmt, quality=args.quality)
    write_output(out_path, data)
    print(f"wrote {out_path} ({grid.width}x{grid.height}, {len(styles)} presets: "
          f"{', '.join(styles)}; {time.monotonic() - started:.1f} s)")
    return EXIT_OK


def cmd_styles(args: argparse.Namespace) -> int:
    if args.styles_command == "push":
        return cmd_styles_push(args)
    if args.styles_command == "vectors":
        return cmd_styles_vectors(args)
    engine = engine_from_env()
    presets = engine.catalog.presets()
    rows = [("id", "title", "artist", "year")] + [(p.id, p.title, p.artist, p.year) for p in presets]
    widths = [min(max(len(r[i]) for r in rows), 44) for i in range(3)]
    for n, r in enumerate(rows):
        cells = [(c if len(c) <= widths[i] else c[: widths[i] - 1] + "…").ljust(widths[i])
                 for i, c in enumerate(r[:3])]
        print("  ".join(cells + [r[3]]).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths + [4]))
    print(f"{len(presets)} presets in {engine_config().styles}")
    return EXIT_OK


def cmd_styles_push(args: argparse.Namespace) -> int:
    from nst.config import BUILTIN_STYLES

    if len(args.where) > 2:
        raise CliError("usage: python -m nst styles push [SRC] gs://bucket/prefix")
    src_arg, args.url = (["builtin"] + args.where)[-2:]
    src = BUILTIN_STYLES if src_arg == "builtin" else Path(src_arg).expanduser()
    if not args.url.startswith("gs://") or len(args.url) <= len("gs://"):
        raise CliError(f"destination must look like gs://bucket/prefix, not {args.url!r}")
    if not src.is_dir():
        raise CliError(f"preset folder {src} not found")
    if not (src / "manifest.json").is_file():
        raise CliError(f"preset folder {src} has no manifest.json")
    try:
        _ship_vectors(src)
    except OSError as e:  # a read-only folder still uploads, its codes are computed later
        print(f"{PROG}: warning: style codes not refreshed in {src}: {e.strerror or e}",
              file=sys.stderr)
    try:
        from nst.catalog.push import push_presets
    except ImportError as e:
        raise CliError(f"GCS support is not available: {e}", EXIT_FAIL) from None
    try:
        count = push_presets(src, args.url)
    except NstError:
        raise
    except Exception as e:  # network, credentials, permissions …
        raise CliError(f"upload to {args.url} failed: {type(e).__name__}: {e}", EXIT_FAIL) from None
    print(f"pushed {count} presets from {src} to {args.url}")
    return EXIT_OK


def _ship_vectors(src: Path) -> str:
    """Refresh ``src/vectors.npz`` (see nst.catalog.shipped); a one-line summary."""
    from nst.catalog.shipped import refresh_shipped_vectors, shipping_backends

    done = refresh_shipped_vectors(src, shipping_backends(engine_config()))
    state = "written" if done.written else "unchanged"
    return f"{done.path}: {done.computed} computed, {done.kept} up to date ({state})"


def cmd_styles_vectors(args: argparse.Namespace) -> int:
    from nst.config import BUILTIN_STYLES

    src = BUILTIN_STYLES if args.folder == "builtin" else Path(args.folder).expanduser()
    if not (src / "manifest.json").is_file():
        raise CliError(f"preset folder {src} has no manifest.json")
    try:
        print(_ship_vectors(src))
    except OSError as e:
        raise CliError(f"cannot write the style codes in {src}: {e.strerror or e}", EXIT_FAIL) from None
    return EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from nst import models

    config = engine_config()
    if args.action == "ir":
        return _write_ir(config)
    statuses = models.all_status(config)
    print(f"backend: {config.backend}; search order: "
          + ", ".join(str(d) for d in models.search_dirs(config)))
    width = max(len(s.name) for s in statuses)
    ok = True
    for st in statuses:
        spec = models.SPECS[st.name]
        if st.ok:
            state = "ok, sha256 verified"
        elif st.path is None:
            state = "MISSING"
        else:
            state = "CORRUPT"
        size = f"{st.size:>9,d} B" if st.size is not None else " " * 11
        where = str(st.path) if st.path else st.problem
        tag = "" if spec.required else " (not used)"
        print(f"{st.name.ljust(width)}  {size}  {state}{tag}  {where}")
        if spec.required and not st.ok:
            ok = False
    if config.backend == "hub":
        print(f"hub model: {config.hub_handle}")
    if not ok:
        bad = next(s for s in statuses if models.SPECS[s.name].required and not s.ok)
        print(f"{PROG}: {bad.problem}", file=sys.stderr)
        return EXIT_FAIL
    return EXIT_OK


def _write_ir(config: EngineConfig) -> int:
    from nst.backends.openvino import import_runtime
    from nst.backends.ov_ir import write_ir
    from nst.models import SPECS, TRANSFORMER, locate

    try:
        tflite = locate(TRANSFORMER, config)
        out = write_ir(import_runtime().Core(), tflite, SPECS[TRANSFORMER].sha256)
    except ModelError as e:
        raise CliError(e.detail or e.user_message, EXIT_FAIL) from None
    except (OSError, RuntimeError) as e:
        raise CliError(f"cannot write the OpenVINO IR beside {TRANSFORMER}: {e}", EXIT_FAIL) from None
    print(f"wrote {out} (and {out.with_suffix('.bin').name}) from {tflite.name}")
    return EXIT_OK


COMMANDS = {"stylize": cmd_stylize, "styles": cmd_styles, "models": cmd_models,
            "preview": cmd_preview}


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
        return COMMANDS[args.command](args)
    except CliError as e:
        print(f"{PROG}: {_one_line(str(e))}", file=sys.stderr)
        return e.exit_code
    except (ImageError, StyleNotFound) as e:
        print(f"{PROG}: {_one_line(e.detail or e.user_message)}", file=sys.stderr)
        return EXIT_USAGE
    except ModelError as e:
        print(f"{PROG}: {_one_line(e.detail or e.user_message)}", file=sys.stderr)
        return EXIT_FAIL
    except NstError as e:
        code = EXIT_USAGE if isinstance(e, ValueError) else EXIT_FAIL
        print(f"{PROG}: {_one_line(e.detail or e.user_message)}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_FAIL
    except Exception as e:
        if os.environ.get("NST_DEBUG"):
            raise
        print(f"{PROG}: internal error: {_one_line(f'{type(e).__name__}: {e}')}", file=sys.stderr)
        return EXIT_FAIL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
