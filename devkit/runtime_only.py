"""A process that imports only what App Engine installs (bench/ and tests/ use it).

App Engine builds an instance from requirements.txt alone; this machine also has the test
and bench tools installed, and some of them are imported when present (httpx imports its
command-line extras — rich, pygments — and httpcore imports trio if it finds it). A
new-instance figure measured with them loaded measures this machine, not the deployment.
``hiding_env`` gives a child process a ``sitecustomize`` that makes every top-level module
of the installed distributions outside requirements.txt's dependency closure unimportable
(ModuleNotFoundError, as on App Engine); the server's own code and the standard library
are untouched. It also shows requirements.txt is complete: a missing runtime dependency
fails the server.
"""
from __future__ import annotations

import importlib.metadata as metadata
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")

SITECUSTOMIZE = '''"""Written by devkit/runtime_only.py: only requirements.txt's closure is importable."""
import sys

HIDDEN = {hidden!r}


class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in HIDDEN:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
'''


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_closure(requirements: Path = REPO / "requirements.txt") -> set[str]:
    """Canonical names of the distributions requirements.txt installs (extras not followed)."""
    todo = [m.group(0) for line in requirements.read_text().splitlines()
            if (m := _NAME.match(line.strip())) and not line.lstrip().startswith(("#", "-"))]
    seen: set[str] = set()
    while todo:
        name = _canonical(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        todo += [m.group(0) for r in requires if "extra ==" not in r and (m := _NAME.match(r))]
    return seen


def hidden_modules(requirements: Path = REPO / "requirements.txt") -> set[str]:
    """Top-level modules that only distributions outside the closure provide."""
    keep = runtime_closure(requirements)
    providers = metadata.packages_distributions()
    return {module for module, dists in providers.items()
            if not any(_canonical(d) in keep for d in dists)
            and not module.startswith("_distutils_hack")}


def hiding_env(scratch: Path, base_pythonpath: str) -> dict[str, str]:
    """PYTHONPATH for a child that sees only the runtime's distributions."""
    folder = scratch / "runtime-only"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        SITECUSTOMIZE.format(hidden=sorted(hidden_modules())))
    return {"PYTHONPATH": ":".join(p for p in (str(folder), base_pythonpath) if p)}


__all__ = ["hiding_env", "hidden_modules", "runtime_closure"]
