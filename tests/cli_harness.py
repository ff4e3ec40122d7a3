"""Running `python -m nst` in-process for the CLI tests (stills and clips)."""
from __future__ import annotations

from nst.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("nst: ") and "Traceback" not in err
    return lines[0]
