"""clusters.yaml → Cluster rows.

The file names where credentials live (kubeconfig path + context, or in-cluster); it never holds
credentials, and neither does the database. A broken entry is reported on that cluster and does
not stop the others.

    clusters:
      - name: prod-eks
        kubeconfig: ~/.kube/config      # default; relative paths are relative to this file
        context: arn:aws:eks:...:cluster/prod
        poll_interval: 30               # seconds, default TIDEWATCH_POLL_INTERVAL
        argocd:                         # optional: argocd-server (docs/argocd-server.md)
          url: https://argocd.example.mil
          tokenFile: /var/run/secrets/argocd/token   # or tokenEnv: ARGOCD_TOKEN
      - name: self
        in_cluster: true
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from clusters.argocd_server.settings import ArgoConfigError, ArgoServer, parse_argocd
from clusters.kube import ClusterSpec, kubeconfig_problem

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$")
KNOWN_KEYS = {
    "name",
    "kubeconfig",
    "context",
    "in_cluster",
    "poll_interval",
    "ownership",
    "argocd",
}
MIN_POLL_INTERVAL = 5


class ConfigFileError(Exception):
    """The file as a whole cannot be used."""


@dataclass(frozen=True)
class ClusterEntry:
    spec: ClusterSpec
    poll_interval: int
    error: str = ""  # non-empty: this entry is broken, say why
    ownership: str = ""  # path of the ownership boundaries file (issue: ownership)
    argocd: ArgoServer | None = None  # argocd-server to read Applications' details from


def column_limit(field: str) -> int:
    """The longest value the Cluster column ``field`` holds: PostgreSQL rejects a longer one
    (DataError) where SQLite would keep it, so the parser checks against the model itself."""
    from clusters.models import Cluster  # the parser is importable before the app registry

    limit = Cluster._meta.get_field(field).max_length
    assert limit is not None, field
    return limit


def load_entries(
    path: str | Path, default_interval: int, max_interval: int | None = None
) -> list[ClusterEntry]:
    """One entry per item of the file's ``clusters`` list, broken ones included (with why).

    Names are unique in the result: the first valid entry of a name wins; any other entry
    with that name is reported under a placeholder name (``entry-<n>``) so it can neither
    overwrite the winner nor be lost."""
    if max_interval is None:
        from django.conf import settings

        max_interval = settings.TIDEWATCH_MAX_POLL_INTERVAL
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
    raw_entries = document.get("clusters") or []
    parsed = [
        _entry(raw, index, path.parent, default_interval, max_interval)
        for index, raw in enumerate(raw_entries)
    ]
    return _unique(parsed, default_interval)


def _unique(parsed: list[ClusterEntry], default_interval: int) -> list[ClusterEntry]:
    winner: dict[str, int] = {}  # name -> index of the first valid entry using it
    for index, entry in enumerate(parsed):
        if not entry.error:
            winner.setdefault(entry.spec.name, index)
    taken = set(winner)
    result = []
    for index, entry in enumerate(parsed):
        name = entry.spec.name
        if winner.get(name) == index:
            result.append(entry)
            continue
        if name in winner:
            error = (
                f"entry {index + 1}: duplicate cluster name {name!r}; "
                f"entry {winner[name] + 1} is the one polled"
            )
            if entry.error:
                error += f" (and this entry is broken: {entry.error})"
        elif name in taken:
            error = f"entry {index + 1}: duplicate cluster name {name!r}: {entry.error}"
        else:
            taken.add(name)
            result.append(entry)
            continue
        placeholder = _placeholder(index, taken)
        taken.add(placeholder)
        result.append(ClusterEntry(ClusterSpec(name=placeholder), default_interval, error))
    return result


def _placeholder(index: int, taken: set[str]) -> str:
    name, suffix = f"entry-{index + 1}", 1
    while name in taken:
        suffix += 1
        name = f"entry-{index + 1}-{suffix}"
    return name


def _entry(
    raw: Any, index: int, base: Path, default_interval: int, max_interval: int
) -> ClusterEntry:
    if not isinstance(raw, dict):
        return _broken(f"entry-{index + 1}", f"entry {index + 1} is not a mapping")
    name = raw.get("name")
    name = name if isinstance(name, str) else ""
    name_limit = column_limit("name")
    if len(name) > name_limit:
        return _broken(
            f"entry-{index + 1}",
            f"entry {index + 1}: name {name[:40]!r}… is {len(name)} characters, "
            f"longer than the {name_limit} a cluster name may have",
        )
    if not NAME_RE.match(name):
        return _broken(
            name if name and len(name) < 90 else f"entry-{index + 1}",
            f"entry {index + 1}: name {name!r} must be lower-case letters, digits and '-'",
        )
    unknown = sorted(str(key) for key in set(raw) - KNOWN_KEYS)
    if unknown:
        return _broken(name, f"unknown keys {', '.join(unknown)}"[:500])
    interval = raw.get("poll_interval", default_interval)
    if (
        not isinstance(interval, int)
        or isinstance(interval, bool)
        or not MIN_POLL_INTERVAL <= interval <= max_interval
    ):
        return _broken(
            name,
            f"poll_interval must be a whole number of seconds from {MIN_POLL_INTERVAL} to "
            f"{max_interval} (TIDEWATCH_MAX_POLL_INTERVAL), got {str(interval)[:40]!r}",
        )
    in_cluster = raw.get("in_cluster", False)
    if not isinstance(in_cluster, bool):
        return _broken(name, "in_cluster must be true or false")
    texts = {key: raw.get(key) for key in ("kubeconfig", "context", "ownership")}
    for key, value in texts.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float, type(None))):
            return _broken(name, f"{key} must be a string, got {type(value).__name__}")
        texts[key] = "" if value is None else str(value)  # YAML reads `context: 2024` as a number
    kubeconfig = texts["kubeconfig"]
    if kubeconfig and not in_cluster:
        expanded = Path(kubeconfig).expanduser()
        kubeconfig = str(expanded if expanded.is_absolute() else (base / expanded))
    ownership = texts["ownership"]
    if ownership and not Path(ownership).expanduser().is_absolute():
        ownership = str(base / ownership)
    context = texts["context"]
    for key, value in (
        ("kubeconfig", kubeconfig),
        ("context", context),
        ("ownership", ownership),
    ):
        limit = column_limit("boundaries_file" if key == "ownership" else key)
        if "\x00" in value:  # no path or context has one, and PostgreSQL text cannot hold it
            return _broken(name, f"{key} contains a NUL character")
        if len(value) > limit:
            return _broken(
                name,
                f"{key} is {len(value)} characters, longer than the {limit} Tidewatch stores",
            )
    if kubeconfig and not in_cluster:
        problem = kubeconfig_problem(Path(kubeconfig))
        # A missing file may appear before the next poll (which says so); a directory will not.
        if problem and "does not exist" not in problem:
            return _broken(name, problem)
    argocd = None
    if raw.get("argocd") is not None:
        try:
            argocd = parse_argocd(raw["argocd"], base)
        except ArgoConfigError as exc:
            return _broken(name, str(exc))
    spec = ClusterSpec(
        name=name,
        kubeconfig="" if in_cluster else kubeconfig,
        context=context,
        in_cluster=in_cluster,
    )
    return ClusterEntry(spec, interval, "", ownership, argocd)


def _broken(name: str, error: str) -> ClusterEntry:
    return ClusterEntry(ClusterSpec(name=name), 30, error)
