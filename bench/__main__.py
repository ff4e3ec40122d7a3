"""python -m bench [--smoke] [--only NAME ...] [--repeat N] [--out DIR]

Runs the cases, prints the table, writes results.json and RESULTS.md (into bench/ unless
--out is given). A case that fails is logged and listed in the output; the exit status is
1 if any case failed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import shutil
import sys
import time
from pathlib import Path

from bench import cases, report
from bench.context import Context, prepare_environment
from bench.report import Row

log = logging.getLogger("bench")
BENCH_DIR = Path(__file__).resolve().parent


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="one tiny case (< 30 s), for CI")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="run only this case (exact name or prefix, e.g. stylize, rss_4096); repeatable")
    p.add_argument("--repeat", type=int, metavar="N", help="repetitions per variant (overrides defaults)")
    p.add_argument("--out", type=Path, default=None,
                   help="where results.json / RESULTS.md go (default: bench/ for a full run, "
                        "bench/out/ for --smoke or --only, so partial runs never replace the "
                        "committed figures)")
    p.add_argument("--list", action="store_true", help="list the case names and exit")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = BENCH_DIR / "out" if (args.smoke or args.only) else BENCH_DIR
    return args


def _code_fingerprint() -> dict[str, str]:
    """Which code was measured: git HEAD (read only) and a hash of the nst/ sources as run."""
    import hashlib
    import subprocess

    digest = hashlib.sha256()
    for path in sorted((BENCH_DIR.parent / "nst").rglob("*.py")):
        digest.update(path.relative_to(BENCH_DIR.parent).as_posix().encode() + b"\0" + path.read_bytes())
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH_DIR.parent,
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        head = ""
    return {"git_head": head or "?", "nst_sources_sha256": digest.hexdigest()[:12]}


def _meta(args: argparse.Namespace, started: float, ctx: Context) -> dict:
    try:
        import ai_edge_litert
        litert = getattr(ai_edge_litert, "__version__", "?")
    except ImportError:  # pragma: no cover
        litert = "missing"
    return {
        "started": dt.datetime.fromtimestamp(started, dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": time.time() - started,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "ai_edge_litert": litert,
        "repeat": args.repeat or "default",
        **_code_fingerprint(),
        "smoke": bool(args.smoke),
        "cases": [],
        "errors": ctx.errors,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the selected cases and write the results; 0 = every case ran."""
    args = _parse(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    selected = cases.select(args.only, args.smoke)
    if args.list:
        print("\n".join(c.name for c in cases.all_cases() + cases.smoke_cases()))
        return 0
    started = time.time()
    ctx = Context(repeat=args.repeat, smoke=args.smoke)
    prepare_environment(ctx.scratch)
    rows: list[Row] = []
    ran: list[str] = []
    try:
        for case in selected:
            t0 = time.perf_counter()
            log.info("case %s …", case.name)
            try:
                new = case.run(ctx)
            except Exception as e:  # one failed case must not lose the others' figures
                log.exception("case %s failed", case.name)
                ctx.errors[case.name] = f"{type(e).__name__}: {e}"[:500]
                continue
            rows.extend(new)
            ran.append(case.name)
            log.info("case %s done in %.1f s", case.name, time.perf_counter() - t0)
            for r in new:
                log.info("  %s: %s", r.label, report.fmt(r.value, r.unit))
    finally:
        shutil.rmtree(ctx.scratch, ignore_errors=True)
    meta = _meta(args, started, ctx)
    meta["cases"] = ran
    print(report.text_table(rows))
    if ctx.errors:
        print("\nFAILED: " + ", ".join(ctx.errors), file=sys.stderr)
    report.write(rows, meta, args.out)
    return 1 if ctx.errors else 0


if __name__ == "__main__":
    sys.exit(main())
