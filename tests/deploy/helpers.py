"""What the deploy files are checked against: the code's real entry points and settings."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


@cache
def settings_env_names() -> frozenset[str]:
    """Every environment variable dashboard/settings.py reads (env_* helpers, os.environ)."""
    source = (ROOT / "dashboard" / "settings.py").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|list|secret)\(\s*"([A-Z0-9_]+)"', source))
    names |= set(re.findall(r'"([A-Z0-9_]+)" in os\.environ', source))
    # env_secret also reads NAME_FILE (mounted secrets).
    secrets = re.findall(r'env_secret\(\s*"([A-Z0-9_]+)"', source)
    return frozenset(names | {f"{name}_FILE" for name in secrets})


def load_yaml_documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def kustomize_resources(directory: Path) -> list[dict[str, Any]]:
    """The objects of a Kustomization's resources (recursively; generators not expanded)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    objects: list[dict[str, Any]] = []
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        if target.is_dir():
            objects += kustomize_resources(target)
        else:
            objects += load_yaml_documents(target)
    return objects


def generated_configmaps(directory: Path) -> dict[str, dict[str, str]]:
    """configMapGenerator entries of a Kustomization (and its bases) as name → data."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    maps: dict[str, dict[str, str]] = {}
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        if target.is_dir():
            maps.update(generated_configmaps(target))
    for generator in kustomization.get("configMapGenerator", []):
        data = dict(maps.get(generator["name"], {})) if generator.get("behavior") == "merge" else {}
        for literal in generator.get("literals", []):
            key, _, value = literal.partition("=")
            data[key] = value
        for item in generator.get("files", []):
            key, _, source = item.rpartition("=") if "=" in item else ("", "", item)
            data[key or Path(source).name] = (directory / source).read_text()
        maps[generator["name"]] = data
    return maps


def run_python(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


# --- PromQL -------------------------------------------------------------------------------------

KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}
FUNCTIONS = {
    "abs", "absent", "avg", "avg_over_time", "ceil", "changes", "clamp_min", "count",
    "count_over_time", "delta", "deriv", "floor", "histogram_quantile", "increase", "irate",
    "label_join", "label_replace", "last_over_time", "max", "max_over_time", "min",
    "min_over_time", "quantile", "rate", "resets", "round", "scalar", "sort", "sort_desc",
    "stddev", "sum", "sum_over_time", "time", "timestamp", "topk", "bottomk", "vector",
    "present_over_time", "absent_over_time", "label_values",
}  # fmt: skip


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression (or a Grafana label_values()) refers to."""
    text = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(
        r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text
    )  # grouping label lists
    text = re.sub(r"\blabel_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)", r"\1", text)
    names = set()
    for match in re.finditer(r"(?<![\w$.])([a-zA-Z_:][\w:]*)(\s*\()?", text):
        word, call = match.group(1), match.group(2)
        if call:
            assert word in FUNCTIONS, f"unknown function {word} in {expr}"
            continue
        if word.lower() in KEYWORDS or re.fullmatch(r"\d+[smhdwy]", word):
            continue
        names.add(word)
    return names


def consumed_queues(command: list[str]) -> set[str]:
    """The queues a `celery worker` command consumes (Celery's default queue when none given)."""
    for flag in ("--queues", "-Q"):
        if flag in command:
            return set(command[command.index(flag) + 1].split(","))
    return {"celery"}


def routed_queues(app: Any) -> set[str]:
    """Every queue a task of ``app`` can be sent to: the default one and the routed ones."""
    routes = app.conf.task_routes or {}
    return {app.conf.task_default_queue} | {route["queue"] for route in routes.values()}
