"""clusters.yaml → Cluster rows.

The file names where credentials live (kubeconfig path + context, or in-cluster); it never holds
credentials, and neither does the database. A broken entry is reported on that cluster and does
not stop the others.

    clusters:
      - name: prod-eks
        kubeconfig: ~/.kube/config      # default; relative paths are relative to this file
        context: arn:aws:eks:...:cluster/prod
        poll_interval: 30               # seconds, default TIDEWATCH_POLL_INTERVAL
      - name: self
        in_cluster: true
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from clusters.kube import ClusterSpec

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$")
KNOWN_KEYS = {"name", "kubeconfig", "context", "in_cluster", "poll_interval", "ownership"}


class ConfigFileError(Exception):
    """The file as a whole cannot be used."""


@dataclass(frozen=True)
class ClusterEntry:
    spec: ClusterSpec
    poll_interval: int
    error: str = ""  # non-empty: this entry is broken, say why
    ownership: str = ""  # path of the ownership boundaries file (issue: ownership)


def load_entries(path: str | Path, default_interval: int) -> list[ClusterEntry]:
    path = Path(path).expanduser()
    try:
        document = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigFileError(f"cluster file {path} does not exist (TIDEWATCH_CLUSTERS)") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigFileError(f"cluster file {path} cannot be read: {exc}") from None
    if document is None:
        return []
    if not isinstance(document, dict) or not isinstance(document.get("clusters", []), list):
        raise ConfigFileError(f"cluster file {path} must be a mapping with a 'clusters' list")
    entries: list[ClusterEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(document.get("clusters") or []):
        entry = _entry(raw, index, path.parent, default_interval)
        if entry.spec.name in seen:
            entry = _broken(entry.spec.name, f"duplicate cluster name {entry.spec.name!r}")
            entry = ClusterEntry(entry.spec, default_interval, entry.error)
        seen.add(entry.spec.name)
        entries.append(entry)
    return entries


def _entry(raw: Any, index: int, base: Path, default_interval: int) -> ClusterEntry:
    if not isinstance(raw, dict):
        return _broken(f"entry-{index + 1}", f"entry {index + 1} is not a mapping")
    name = str(raw.get("name") or "")
    if not NAME_RE.match(name):
        return _broken(
            name if name and len(name) < 90 else f"entry-{index + 1}",
            f"entry {index + 1}: name {name!r} must be lower-case letters, digits and '-'",
        )
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        return _broken(name, f"unknown keys {', '.join(unknown)}")
    interval = raw.get("poll_interval", default_interval)
    if not isinstance(interval, int) or isinstance(interval, bool) or interval < 5:
        return _broken(
            name, f"poll_interval must be a whole number of seconds >= 5, got {interval!r}"
        )
    in_cluster = raw.get("in_cluster", False)
    if not isinstance(in_cluster, bool):
        return _broken(name, "in_cluster must be true or false")
    kubeconfig = str(raw.get("kubeconfig") or "")
    if kubeconfig and not in_cluster:
        expanded = Path(kubeconfig).expanduser()
        kubeconfig = str(expanded if expanded.is_absolute() else (base / expanded))
    ownership = str(raw.get("ownership") or "")
    if ownership and not Path(ownership).expanduser().is_absolute():
        ownership = str(base / ownership)
    spec = ClusterSpec(
        name=name,
        kubeconfig="" if in_cluster else kubeconfig,
        context=str(raw.get("context") or ""),
        in_cluster=in_cluster,
    )
    return ClusterEntry(spec, interval, "", ownership)


def _broken(name: str, error: str) -> ClusterEntry:
    return ClusterEntry(ClusterSpec(name=name), 30, error)
