"""docs/DEPLOY.md against the real tools: every gcloud command it shows exists, with the
flags it uses (checked offline with `gcloud … --help`), and the steps a deploy needs are there."""
from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from functools import cache

import pytest

from tests.conftest import REPO

DOC = REPO / "docs" / "DEPLOY.md"
GCLOUD = shutil.which("gcloud")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
WORD = re.compile(r"[a-z][a-z0-9-]*\Z")


def doc_commands(text: str) -> list[str]:
    """Every `gcloud …` / `gsutil …` command line: in shell blocks (continuations joined),
    inside $(…), and in inline code spans."""
    commands: list[str] = []
    for block in re.findall(r"```(?:sh|bash)\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            commands += re.findall(r"\$\(((?:gcloud|gsutil) .*)\)", line)
            if line.startswith(("gcloud ", "gsutil ")):
                commands.append(line)
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    commands += [c for c in re.findall(r"`([^`\n]+)`", prose) if c.startswith(("gcloud ", "gsutil "))]
    return commands


@cache
def help_text(path: tuple[str, ...]) -> str | None:
    """`gcloud PATH --help` as plain text, or None when PATH is not a command."""
    proc = subprocess.run([GCLOUD, *path, "--help"], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin:" + str(shutil.which("gcloud")).rsplit("/", 1)[0],
                               "CLOUDSDK_CORE_DISABLE_PROMPTS": "1", "HOME": "/tmp", "TERM": "dumb"})
    if proc.returncode != 0:
        return None
    return ANSI.sub("", proc.stdout)


def command_help(tokens: list[str]) -> tuple[tuple[str, ...], str]:
    """The longest prefix of lower-case words that gcloud knows as a command, and its help."""
    words = []
    for tok in tokens[1:]:
        if not WORD.match(tok):
            break
        words.append(tok)
    leftover = 0
    while words:
        text = help_text(tuple(words))
        # A positional argument taken for a group member makes gcloud fail: try shorter,
        # but only a command that takes positional arguments may leave words over.
        if text is not None and f"gcloud {' '.join(words)}" in text.replace("\n", " "):
            if leftover and "POSITIONAL ARGUMENTS" not in text:
                break
            return tuple(words), text
        words.pop()
        leftover += 1
    raise AssertionError(f"not a gcloud command: {' '.join(tokens)}")


def test_doc_names_the_commands_a_deploy_needs() -> None:
    text = DOC.read_text()
    commands = doc_commands(text)
    joined = "\n".join(commands)
    for needed in ("gcloud app create --region=$APP_REGION", "--location=$BUCKET_LOCATION",
                   "--clear-soft-delete", "--lifecycle-file=", "gcloud app deploy app.yaml cron.yaml",
                   "defaultHostname", "gcloud meta list-files-for-upload",
                   "gcloud tasks queues create updates --location=$TASKS_LOCATION",
                   "--max-attempts=", "--min-backoff=", "--max-backoff=",
                   "--max-concurrent-dispatches=", "roles/cloudtasks.enqueuer",
                   "cloudtasks.googleapis.com"):
        assert needed in joined, needed
    assert "/setinline" in text
    assert "appspot.com/" not in text.replace("@appspot.gserviceaccount.com", ""), "guessed host"
    assert "Optional" not in text.split("## 2.")[0], "the lifecycle rule is a required step"
    assert not re.search(r"BOT_WORKERS=2|~\s?700 MB", text), "stale figures: app.yaml/bench hold them"
    assert len(commands) >= 15


def test_the_queue_is_sized_to_the_instances_app_yaml_allows() -> None:
    """max concurrent dispatches = max_instances x (max_concurrent_requests - 2): tasks never
    take the request slots Telegram's webhook calls need."""
    import yaml

    scaling = yaml.safe_load((REPO / "app.yaml").read_text())["automatic_scaling"]
    expected = scaling["max_instances"] * (scaling["max_concurrent_requests"] - 2)
    create = next(c for c in doc_commands(DOC.read_text()) if c.startswith("gcloud tasks queues create"))
    assert f"--max-concurrent-dispatches={expected}" in create
    queue = yaml.safe_load((REPO / "app.yaml").read_text())["env_variables"]["BOT_TASKS_QUEUE"]
    assert queue.endswith("/queues/updates") and "/locations/" in queue


@pytest.mark.skipif(GCLOUD is None, reason="the gcloud CLI is not installed")
def test_every_gcloud_command_and_flag_in_the_doc_exists() -> None:
    problems = []
    for line in doc_commands(DOC.read_text()):
        tokens = shlex.split(line.replace("$(", "").replace("$", ""), comments=False)
        assert tokens[0] == "gcloud", f"gsutil is deprecated, use gcloud storage: {line}"
        path, text = command_help(tokens)
        flat = " ".join(text.split())
        for tok in tokens[1 + len(path):]:
            if tok.startswith("-"):
                flag = tok.split("=")[0]
                if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", flat):
                    problems.append(f"{line}: gcloud {' '.join(path)} has no {flag}")
    assert not problems, problems


@pytest.mark.skipif(GCLOUD is None, reason="the gcloud CLI is not installed")
def test_the_checker_catches_a_typo() -> None:
    path, text = command_help(["gcloud", "storage", "buckets", "update", "gs://b", "--clear-soft-delete"])
    assert path == ("storage", "buckets", "update")
    assert "--clear-soft-delete" in text and "--clear-soft-deletes " not in text
    with pytest.raises(AssertionError):
        command_help(["gcloud", "storage", "bucketz", "update"])
