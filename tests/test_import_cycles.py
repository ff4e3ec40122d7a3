"""No import cycles among the project's own modules (nst/, bot/, webhook_app.py).

Every import counts, also one inside a function ("imported here to avoid a cycle" is
still a cycle: the two modules cannot be understood apart). Relative imports are
resolved; `from pkg import name` counts as an import of `pkg.name` when that is a
module, else of `pkg`. A package's ``__init__`` is the module ``pkg``.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("nst", "bot")
SCRIPTS = ("webhook_app.py",)


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Module name → file, for every module of the project."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    for script in SCRIPTS:
        found[script[:-3]] = root / script
    return found


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    """The project modules that module `name` (at `path`) imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    out: set[str] = set()

    def nearest(target: str) -> None:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            out.add(target)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                nearest(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                full = f"{source}.{alias.name}"
                nearest(full if full in modules else source)
    return out


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    files = module_files(root)
    names = set(files)
    return {name: imports_of(name, path, names) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_sees_cycles_through_function_level_and_relative_imports(
        tmp_path: Path) -> None:
    pkg = tmp_path / "bot"
    (pkg / "handlers").mkdir(parents=True)
    (tmp_path / "nst").mkdir()
    (tmp_path / "nst" / "__init__.py").write_text("")
    (tmp_path / "webhook_app.py").write_text("import bot.app\n")
    (pkg / "__init__.py").write_text("")
    (pkg / "app.py").write_text("from bot.handlers import render\n")
    (pkg / "handlers" / "__init__.py").write_text("")
    (pkg / "handlers" / "render.py").write_text(
        "def later():\n    from ..clips import x\n")
    (pkg / "clips.py").write_text("from .handlers.render import later\nx = 1\n")
    graph = import_graph(tmp_path)
    assert graph["webhook_app"] == {"bot.app"}
    assert graph["bot.app"] == {"bot.handlers.render"}
    assert cycles(graph) == [["bot.clips", "bot.handlers.render"]]


def test_the_project_has_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 50 and "bot.handlers.buttons" in graph and "webhook_app" in graph
    assert cycles(graph) == []
