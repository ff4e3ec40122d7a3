"""The registry of benchmark cases: name -> function(Context) -> rows."""
from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from bench.context import Context
from bench.report import Row

SIDES = (512, 1024, 2048, 4096)
RSS_SIDES = (512, 1024, 1280, 2048, 4096)   # 1280: the bot's preview size
SMOKE_SIDE = 256


@dataclass(frozen=True)
class Case:
    """One named case; ``target`` is the dotted function that runs it."""

    name: str
    target: str                     # "module:function"
    kwargs: tuple[tuple[str, object], ...] = ()

    def run(self, ctx: Context) -> list[Row]:
        """Import the case's module only now (no work at import time) and run it."""
        module, func = self.target.split(":")
        fn: Callable[..., list[Row]] = getattr(importlib.import_module(f"bench.{module}"), func)
        return fn(ctx, **dict(self.kwargs))


def _side(name: str, target: str, side: int) -> Case:
    return Case(f"{name}_{side}", target, (("side", side),))


@functools.cache
def all_cases() -> tuple[Case, ...]:
    """Every case of a full run, in run order (cheap engine cases first, servers last)."""
    return (
        *(_side("stylize", "cases_engine:stylize_latency", s) for s in SIDES),
        _side("quality", "cases_engine:quality", 1024),
        _side("profile", "cases_engine:profile", 1024),
        _side("settings", "cases_settings:engine_settings", 1024),
        *(_side("rss", "cases_engine:peak_rss", s) for s in RSS_SIDES),
        Case("settings_rss", "cases_settings:settings_rss"),
        Case("concurrency", "cases_settings:concurrency"),
        Case("transformer_384", "cases_settings:transformer_384"),
        Case("threads", "cases_settings:threads"),
        Case("runtime_load", "cases_settings:runtime_load"),
        Case("hub_vs_lite", "cases_settings:hub_vs_lite"),
        _side("backends", "cases_backends:single", 1024),
        _side("backends", "cases_backends:single", 1280),
        Case("backends_aspects", "cases_backends:aspects"),
        Case("backends_hd", "cases_backends:sessions"),
        Case("clips_temporal", "cases_clips:temporal"),
        Case("clips_speed", "cases_clips:speed"),
        Case("clips_rss", "cases_clips:rss"),
        Case("import_webhook", "cases_web:import_time"),
        Case("cold_start", "cases_web:cold_start"),
        Case("e2e", "cases_web:end_to_end"),
        Case("e2e_profile", "cases_profile:webhook_profile"),
        Case("load_8", "cases_web:load", (("users", 8),)),
        Case("load_32", "cases_web:load", (("users", 32),)),
        Case("speed_preset_1024", "cases_speed:preset_1024"),
        Case("speed_protect", "cases_speed:protect_cost"),
        Case("speed_cold", "cases_speed:cold"),
        Case("speed_streams", "cases_speed:streams"),
        Case("speed_queue", "cases_speed:queue"),
        Case("store_calls", "cases_store:store_calls"),
    )


def smoke_cases() -> tuple[Case, ...]:
    """The one tiny case CI runs (< 30 s): ours vs B at 256 px, few repetitions."""
    return (Case("smoke", "cases_engine:smoke"),)


def select(only: list[str] | None, smoke: bool) -> list[Case]:
    """Cases to run: the smoke case, or all, or those named (exact name or prefix)."""
    pool = smoke_cases() if smoke else all_cases()
    if not only:
        return list(pool)
    known = all_cases() + smoke_cases()
    chosen = [c for c in known if any(c.name == o or c.name.startswith(o + "_") for o in only)]
    missing = [o for o in only if not any(c.name == o or c.name.startswith(o + "_") for c in known)]
    if missing:
        names = ", ".join(c.name for c in known)
        raise SystemExit(f"unknown case(s) {', '.join(missing)}; known: {names}")
    return chosen
