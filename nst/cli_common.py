"""What both stylize commands (pictures: nst/cli.py, clips: nst/cli_clips.py) share:
the one-line error with its exit code, reading the environment's engine, resolving a
style argument, checking and writing the output."""
from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from nst.errors import ImageError
from nst.files import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    from PIL import Image

    from nst.config import EngineConfig
    from nst.engine import Engine

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CliError(Exception):
    """One-line error with an exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = code


def engine_config() -> EngineConfig:
    """The engine's settings from the environment; CliError when one is wrong."""
    from nst.config import EngineConfig

    try:
        return EngineConfig.from_env()
    except ValueError as e:
        raise CliError(f"bad environment: {e}") from None


def engine_from_env() -> Engine:
    from nst.engine import Engine

    return Engine.from_config(engine_config())


def check_output(path: Path) -> str:
    """The output's image format (by its extension), once it is known to be writable."""
    from nst.images import format_for_path

    try:
        fmt = format_for_path(path)
    except ImageError as e:
        raise CliError(f"output {path}: {e.user_message}") from None
    check_writable(path)
    return fmt


def check_writable(path: Path) -> None:
    """One line (CliError) when ``path`` cannot be written."""
    if path.is_dir():
        raise CliError(f"output {path} is a directory")
    parent = path.parent if str(path.parent) else Path(".")
    if parent.exists() and not parent.is_dir():
        raise CliError(f"cannot write {path}: {parent} is not a directory")
    if not parent.is_dir():
        raise CliError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise CliError(f"cannot write {path}: permission denied")


def load_picture(path: str, what: str) -> Image.Image:
    """The picture at `path`, upright RGB; CliError naming `what` when it can't be read."""
    from nst.images import load_image

    p = Path(path)
    if not p.exists():
        raise CliError(f"{what} file {path} not found")
    if p.is_dir():
        raise CliError(f"{what} {path} is a directory, not a picture")
    try:
        return load_image(p)
    except ImageError as e:
        raise CliError(f"{what} {path}: {e.user_message}") from None


def style_arg(engine: Engine, value: str, what: str) -> Image.Image | str:
    """An existing file → its image; else a preset id → the id; else an error."""
    if Path(value).exists():
        return load_picture(value, what)
    if value in engine.catalog:
        return value
    looks_like_path = os.sep in value or "/" in value or Path(value).suffix != ""
    if looks_like_path:
        raise CliError(f"{what} file {value} not found")
    raise CliError(f"unknown {what} {value!r}: not a file and not a preset id "
                   f"(`python -m nst styles` lists them)")


def write_output(path: Path, data: bytes) -> None:
    """Write the result atomically; CliError when that fails."""
    try:
        atomic_write(path, data)
    except OSError as e:
        raise CliError(f"cannot write {path}: {e.strerror or e}") from None
