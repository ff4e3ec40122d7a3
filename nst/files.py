"""Writing files so that readers never see half of one."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temp path beside ``path`` to write to; renamed over ``path`` when the block ends
    without an error, removed otherwise (for writers that need a file name, e.g. the clip
    encoder).

    A crash or a concurrent reader sees the old file or the new one, never a part.
    The file gets the usual permissions (0666 less the umask), not mkstemp's 0600,
    because outputs and caches are meant to be shared. Raises OSError.
    """
    parent = path.parent if str(path.parent) else Path(".")
    fd, name = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see atomic_path). Raises OSError."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
