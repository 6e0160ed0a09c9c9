"""One pass over a cluster: discover, then list every wanted kind. Raw dicts out, no Django."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubernetes import client as k8s

from clusters.collect.argo import ARGO_KINDS
from clusters.collect.core import NAMESPACES
from clusters.collect.discovery import discover
from clusters.collect.flux import FLUX_KINDS
from clusters.collect.kinds import KindSpec, ServedKind
from clusters.kube import DEFAULT_TIMEOUTS, KubeError, Timeouts, list_all

GITOPS_KINDS: tuple[KindSpec, ...] = FLUX_KINDS + ARGO_KINDS

OK = "ok"
NOT_INSTALLED = "not_installed"
ERROR = "error"


@dataclass
class KindResult:
    spec: KindSpec
    state: str  # OK, NOT_INSTALLED or ERROR
    served: ServedKind | None = None
    items: list[dict[str, Any]] = field(default_factory=list)
    error: KubeError | None = None


@dataclass
class Snapshot:
    server: str
    kinds: list[KindResult]
    namespaces: KindResult


def collect_cluster(
    api: k8s.ApiClient,
    *,
    kinds: tuple[KindSpec, ...] = GITOPS_KINDS,
    page_size: int = 500,
    timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> Snapshot:
    """List every wanted kind. Raises KubeError only when discovery itself fails (the cluster
    cannot be asked at all); a failure listing one kind is recorded on that kind."""
    wanted = (*kinds, NAMESPACES)
    served, errors = discover(api, wanted, timeouts)
    results = {spec: _list_kind(api, spec, served, errors, page_size, timeouts) for spec in wanted}
    return Snapshot(
        server=str(api.configuration.host),
        kinds=[results[spec] for spec in kinds],
        namespaces=results[NAMESPACES],
    )


def _list_kind(
    api: k8s.ApiClient,
    spec: KindSpec,
    served: dict[KindSpec, ServedKind],
    errors: dict[KindSpec, KubeError],
    page_size: int,
    timeouts: Timeouts,
) -> KindResult:
    if spec in errors:
        return KindResult(spec, ERROR, error=errors[spec])
    kind = served.get(spec)
    if kind is None:
        return KindResult(spec, NOT_INSTALLED)
    try:
        items = list_all(api, kind.list_path(), page_size=page_size, timeouts=timeouts)
    except KubeError as exc:
        return KindResult(spec, ERROR, served=kind, error=exc)
    for item in items:
        # Lists of built-in kinds omit apiVersion/kind on each item.
        item.setdefault("apiVersion", kind.api_version)
        item.setdefault("kind", spec.kind)
    return KindResult(spec, OK, served=kind, items=items)
