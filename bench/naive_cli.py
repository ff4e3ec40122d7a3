"""The naive command line, for the cold-start baseline: one whole process per photo.

    python -m bench.naive_cli CONTENT STYLE OUT

What a first version's CLI does: import LiteRT, load both models (`Interpreter(model_path)`,
default settings), compute the style code, run the whole photo through the transformer,
write a JPEG. Its wall time from spawn to exit is what a new instance is compared with.
"""
from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from PIL import Image

    from bench.inputs import MODEL_DIR
    from bench.naive import stylize_as_seed

    content, style, out = argv
    result = stylize_as_seed(MODEL_DIR, Image.open(content).convert("RGB"),
                             Image.open(style).convert("RGB"))
    result.save(Path(out), "JPEG", quality=90)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
