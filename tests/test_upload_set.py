"""What `gcloud app deploy` uploads: everything the app needs, nothing it must not ship.

The upload set is computed the way gcloud does: `gcloud meta list-files-for-upload` when the
CLI is installed (it is on the development machines and in CI), otherwise the same
gitignore-style rules of `.gcloudignore` applied with `pathspec`. A test checks that the two
agree wherever both can run, and the last test serves a painting from a copy of exactly the
uploaded files, with NST_MODEL_DIR unset as app.yaml leaves it.
"""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pathspec
import pytest

from nst.models import SPECS
from tests.conftest import REPO
from devkit.fake_telegram import FakeTelegram
from devkit.runtime_only import hiding_env
from tests.http_harness import ready, start_gunicorn
from tests.webhook_harness import ask_for_painting, assert_one_painting

GCLOUD = shutil.which("gcloud")
LOCAL_PACKAGES = ("bot", "nst", "webhook_app")
MUST_STAY_HOME = ("secrets.yaml", "tests/", "bench/", "devkit/", "data/", ".ci/", "docs/")


def repo_files(root: Path = REPO) -> list[str]:
    """The files of the checkout gcloud would look at: tracked ones and untracked, not ignored."""
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                         cwd=root, capture_output=True, text=True, check=True).stdout
    return sorted(f for f in out.splitlines() if (root / f).is_file())


def upload_set_by_rules(root: Path = REPO, files: list[str] | None = None) -> set[str]:
    """.gcloudignore applied to `files` with a gitignore-compatible matcher."""
    spec = pathspec.GitIgnoreSpec.from_lines((root / ".gcloudignore").read_text().splitlines())
    return {f for f in (repo_files(root) if files is None else files) if not spec.match_file(f)}


def upload_set_by_gcloud(root: Path = REPO) -> set[str]:
    out = subprocess.run([GCLOUD, "meta", "list-files-for-upload", str(root)], cwd=root,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def upload_set(root: Path = REPO) -> set[str]:
    return upload_set_by_gcloud(root) if GCLOUD else upload_set_by_rules(root)


@pytest.fixture(scope="module")
def uploaded() -> set[str]:
    return upload_set()


def imported_modules(entry: str = "webhook_app.py") -> set[str]:
    """Every project module reachable from `entry` through import statements anywhere in a
    module (lazy imports inside functions too) or named by a dotted string (registries that
    import by name), as repository-relative file paths."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        module = path[:-3].replace("/", ".").removesuffix(".__init__")
        package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
        for node in ast.walk(ast.parse((REPO / path).read_text(), path)):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.fullmatch(r"(bot|nst)(\.\w+)+", node.value):
                names = [node.value]   # importlib.import_module("nst.backends.x") in a registry
            for name in names:
                if name.split(".")[0] in LOCAL_PACKAGES:
                    todo.extend(_module_files(name))
    return seen


def _module_files(name: str) -> list[str]:
    """The files that importing `name` executes: its package __init__s and the module."""
    parts = name.split(".")
    files = [f"{'/'.join(parts[:i])}/__init__.py" for i in range(1, len(parts) + 1)]
    files.append(f"{'/'.join(parts)}.py")
    return [f for f in files if (REPO / f).is_file()]


def test_import_walk_finds_lazy_imports() -> None:
    modules = imported_modules()
    # bot.app imports the handlers; the engine's backends are imported by name, on demand.
    assert {"webhook_app.py", "bot/app.py", "nst/engine.py", "nst/backends/openvino.py",
            "nst/backends/lite.py"} <= modules


def test_every_module_the_app_imports_is_uploaded(uploaded: set[str]) -> None:
    missing = sorted(imported_modules() - uploaded)
    assert not missing, f"imported by webhook_app but not uploaded: {missing}"


def test_models_presets_and_deploy_files_are_uploaded(uploaded: set[str]) -> None:
    needed = {f"nst/data/models/{name}" for name, spec in SPECS.items() if spec.required}
    styles = REPO / "nst" / "data" / "styles"
    needed |= {f"nst/data/styles/{p.name}" for p in styles.glob("*.jpg")} | {"nst/data/styles/manifest.json"}
    needed.add("nst/data/styles/vectors.npz")   # the presets' style codes: no compute at start
    needed |= {"requirements.txt", "app.yaml", "cron.yaml", "webhook_app.py"}
    assert len([f for f in needed if f.endswith(".jpg")]) >= 18
    assert not sorted(needed - uploaded), sorted(needed - uploaded)


def test_runtime_package_data_is_uploaded(uploaded: set[str]) -> None:
    """Whatever the app packages keep beside their code (models, presets, catalogs) ships."""
    runtime = {f for f in repo_files() if f.split("/")[0] in ("bot", "nst")
               and not f.endswith(".md") and "__pycache__" not in f}
    assert not sorted(runtime - uploaded), sorted(runtime - uploaded)


def test_secrets_tests_bench_and_caches_stay_home(uploaded: set[str]) -> None:
    leaked = sorted(f for f in uploaded
                    if f.startswith(MUST_STAY_HOME) or "__pycache__" in f or f.endswith(".pyc")
                    or f.endswith((".sqlite3", ".log")) or f.startswith("pyproject"))
    assert not leaked, leaked


def test_old_unanchored_rules_would_drop_the_models(tmp_path: Path) -> None:
    """The matcher sees what gcloud saw in the field: `data/` drops nst/data/ too."""
    (tmp_path / ".gcloudignore").write_text("data/\n")
    kept = upload_set_by_rules(tmp_path, ["nst/data/models/a.tflite", "data/bot.sqlite3", "app.yaml"])
    assert kept == {"app.yaml"}
    (tmp_path / ".gcloudignore").write_text("/data/\n")
    kept = upload_set_by_rules(tmp_path, ["nst/data/models/a.tflite", "data/bot.sqlite3", "app.yaml"])
    assert kept == {"nst/data/models/a.tflite", "app.yaml"}


@pytest.mark.skipif(GCLOUD is None, reason="the gcloud CLI is not installed")
def test_rules_agree_with_gcloud(tmp_path: Path) -> None:
    """The fallback matcher and gcloud compute the same set, with secrets and state lying around."""
    root = tmp_path / "checkout"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(REPO), str(root)], check=True)
    for extra in ("secrets.yaml", "data/bot.sqlite3", "nst/__pycache__/x.cpython-311.pyc",
                  "bench/out/r.json", "tests/data/x.jpg", "debug.log"):
        (root / extra).parent.mkdir(parents=True, exist_ok=True)
        (root / extra).write_text("x")
    shutil.copy(REPO / ".gcloudignore", root / ".gcloudignore")
    by_gcloud = upload_set_by_gcloud(root)
    everything = {str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and ".git/" not in f"{p.relative_to(root)}/"}
    assert by_gcloud == upload_set_by_rules(root, sorted(everything))
    assert "secrets.yaml" not in by_gcloud and "nst/data/models/" + next(iter(SPECS)) in by_gcloud


def test_the_runtime_only_env_hides_what_app_engine_would_not_install(tmp_path: Path) -> None:
    env = {**os.environ, **hiding_env(tmp_path, str(REPO))}
    code = ("import telegram, flask, openvino, google.cloud.storage, webhook_app\n"
            "for dev in ('pytest', 'hypothesis', 'mypy', 'playwright'):\n"
            "    try:\n"
            "        __import__(dev)\n"
            "    except ModuleNotFoundError:\n"
            "        continue\n"
            "    raise SystemExit(dev + ' importable')\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:] + done.stdout


@pytest.mark.slow
def test_uploaded_copy_paints_a_photo(tmp_path: Path, uploaded: set[str], fake: FakeTelegram) -> None:
    """Copy exactly the upload set to an empty folder and run app.yaml's entrypoint there,
    able to import only what requirements.txt installs (as on App Engine)."""
    app_dir = tmp_path / "app"
    for rel in uploaded:
        (app_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, app_dir / rel)
    # The copy's own packages (and so its own vendored models) are the ones imported.
    where = subprocess.run([sys.executable, "-c", "import nst.config as c; print(c.BUILTIN_MODELS)"],
                           cwd=app_dir, env={**os.environ, "PYTHONPATH": str(app_dir)},
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where) == app_dir / "nst" / "data" / "models"
    node = start_gunicorn(fake.env(), f"sqlite:///{tmp_path / 'bot.sqlite3'}", tmp_path,
                          app_dir=app_dir, **hiding_env(tmp_path, str(app_dir)))
    try:
        ready(node)
        assert node.post(ask_for_painting(node.post, fake, 61)) == (200, "done")
        assert_one_painting(fake, 61)
    finally:
        node.stop()
