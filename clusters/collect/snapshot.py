"""One pass over a cluster: discover, then list every wanted kind. Raw dicts out, no Django."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client as k8s

from clusters.collect.argo import ARGO_KINDS
from clusters.collect.core import (
    CONTROLLER_NAMESPACES,
    CONTROLLER_SELECTOR,
    EVENTS,
    MONITOR_KINDS,
    NAMESPACES,
    POD_METRICS,
    PODS,
    WORKLOAD_KINDS,
)
from clusters.collect.discovery import discover
from clusters.collect.flux import FLUX_KINDS
from clusters.collect.kinds import KindSpec, ServedKind
from clusters.collect.readahead import read_ahead
from clusters.kube import DEFAULT_LIMITS, KubeError, Limits, iter_pages, list_all

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
    # How many items the list returned; stays when a consumer releases ``items`` early.
    count: int = 0
    # Instead of ``items``: the list, page by page, fetched while the consumer iterates (GitOps
    # kinds handed to ``on_kind``). Iterating may raise KubeError.
    pages: Iterator[list[dict[str, Any]]] | None = None


@dataclass
class Snapshot:
    server: str
    kinds: list[KindResult]
    namespaces: KindResult
    workloads: list[KindResult] = field(default_factory=list)
    monitors: list[KindResult] = field(default_factory=list)
    events: KindResult | None = None
    # The controllers' Pods and their PodMetrics (None: not read for this snapshot).
    pods: KindResult | None = None
    metrics: KindResult | None = None
    # What discovery found (poll only; the watch keeps its own): deprecated-only APIs.
    served: dict[KindSpec, ServedKind] = field(default_factory=dict)
    discovery_errors: dict[KindSpec, KubeError] = field(default_factory=dict)
    # Supporting lists that may not be watched and are re-listed instead (watch mode only):
    # list name → the sentence the cluster card shows.
    polled: dict[str, str] = field(default_factory=dict)


def collect_cluster(
    api: k8s.ApiClient,
    *,
    kinds: tuple[KindSpec, ...] = GITOPS_KINDS,
    page_size: int = 500,
    limits: Limits = DEFAULT_LIMITS,
    on_kind: Callable[[KindResult], None] | None = None,
    max_events: int = 20_000,
) -> Snapshot:
    """List every wanted kind. Raises KubeError only when discovery itself fails (the cluster
    cannot be asked at all); a failure listing one kind is recorded on that kind.

    ``on_kind`` receives each GitOps kind's result with its list still to come, page by page
    (``pages``), so the caller can store each page as it arrives while the next one is read
    ahead: the peak memory is two pages, not the cluster. No database transaction is open while
    a page is fetched.

    Events are held in memory (they are stored once all are read), so there are at most
    ``max_events`` of them, over all their lists."""
    wanted = (*kinds, *SUPPORTING_KINDS)
    served, errors = discover(api, wanted, limits)

    gitops = []
    for spec in kinds:
        if on_kind is None:
            result = _list_kind(api, spec, served, errors, page_size, limits)
        else:
            result = _streamed_kind(api, spec, served, errors, page_size, limits)
            on_kind(result)
        gitops.append(result)
    supporting = collect_supporting(
        api,
        served,
        errors,
        event_kinds=[result.spec.kind for result in gitops if result.count],
        page_size=page_size,
        limits=limits,
        max_events=max_events,
    )
    return dataclasses.replace(supporting, kinds=gitops, served=served, discovery_errors=errors)


SUPPORTING_KINDS: tuple[KindSpec, ...] = (
    NAMESPACES,
    *WORKLOAD_KINDS,
    *MONITOR_KINDS,
    EVENTS,
    PODS,
    POD_METRICS,
)


def collect_supporting(
    api: k8s.ApiClient,
    served: dict[KindSpec, ServedKind],
    errors: dict[KindSpec, KubeError],
    *,
    event_kinds: list[str],
    page_size: int = 500,
    limits: Limits = DEFAULT_LIMITS,
    max_events: int = 20_000,
) -> Snapshot:
    """List what pages need besides the GitOps kinds (``kinds`` is left empty): namespaces,
    controller workloads, their Pods and PodMetrics, monitors, and the Events about objects of
    ``event_kinds``."""

    def listed(spec: KindSpec, namespaces: tuple[str, ...] = ("",)) -> KindResult:
        return _list_kind(api, spec, served, errors, page_size, limits, namespaces)

    def labelled(spec: KindSpec) -> KindResult:
        selector = [[("labelSelector", CONTROLLER_SELECTOR)]]
        return _list_kind(api, spec, served, errors, page_size, limits, queries=selector)

    # One filtered list per kind that has objects: the API server filters Events by
    # involvedObject.kind, so Tidewatch never downloads a busy cluster's every Event.
    event_filters = [[("fieldSelector", f"involvedObject.kind={kind}")] for kind in event_kinds]
    return Snapshot(
        server=str(api.configuration.host),
        kinds=[],
        namespaces=listed(NAMESPACES),
        workloads=[
            _controller_workloads(listed(spec, CONTROLLER_NAMESPACES), labelled(spec))
            for spec in WORKLOAD_KINDS
        ],
        # Where the workloads are listed, and only there: the controllers' Pods.
        pods=_controller_workloads(listed(PODS, CONTROLLER_NAMESPACES), labelled(PODS)),
        metrics=_controller_workloads(
            listed(POD_METRICS, CONTROLLER_NAMESPACES), labelled(POD_METRICS)
        ),
        monitors=[listed(spec) for spec in MONITOR_KINDS],
        events=_list_kind(
            api,
            EVENTS,
            served,
            errors,
            page_size,
            limits,
            queries=event_filters,
            max_objects=(max_events, f"TIDEWATCH_MAX_EVENTS={max_events}"),
        ),
    )


def _controller_workloads(in_namespaces: KindResult, labelled: KindResult) -> KindResult:
    """The install namespaces' workloads (or Pods, PodMetrics) plus those labelled part of a
    tool anywhere, once each. Either list failing fails the kind: a partial list would read
    as "controller gone"."""
    if in_namespaces.state != OK:
        return in_namespaces
    if labelled.state != OK:
        return labelled
    unique: dict[tuple[str, str], dict[str, Any]] = {}
    for item in in_namespaces.items + labelled.items:
        metadata = item.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}
        unique.setdefault((str(metadata.get("namespace")), str(metadata.get("name"))), item)
    items = list(unique.values())
    return dataclasses.replace(in_namespaces, items=items, count=len(items))


def _streamed_kind(
    api: k8s.ApiClient,
    spec: KindSpec,
    served: dict[KindSpec, ServedKind],
    errors: dict[KindSpec, KubeError],
    page_size: int,
    limits: Limits,
) -> KindResult:
    if spec in errors:
        return KindResult(spec, ERROR, error=errors[spec])
    kind = served.get(spec)
    if kind is None:
        return KindResult(spec, NOT_INSTALLED)
    pages = iter_pages(api, kind.list_path(), page_size=page_size, limits=limits)
    # The next page is fetched while the consumer stores this one (one page ahead).
    return KindResult(spec, OK, served=kind, pages=read_ahead(pages, name=f"list-{spec.key}"))


def _list_kind(
    api: k8s.ApiClient,
    spec: KindSpec,
    served: dict[KindSpec, ServedKind],
    errors: dict[KindSpec, KubeError],
    page_size: int,
    limits: Limits,
    namespaces: tuple[str, ...] = ("",),
    queries: list[list[tuple[str, Any]]] | None = None,
    max_objects: tuple[int, str] | None = None,
) -> KindResult:
    if spec in errors:
        return KindResult(spec, ERROR, error=errors[spec])
    kind = served.get(spec)
    if kind is None:
        return KindResult(spec, NOT_INSTALLED)
    items: list[dict[str, Any]] = []
    # One cap over all the lists of the kind: it bounds what is held in memory.
    cap, setting = max_objects or (
        limits.objects,
        f"TIDEWATCH_MAX_OBJECTS_PER_KIND={limits.objects}",
    )
    try:
        for namespace in namespaces:
            path = kind.list_path(namespace)
            for params in queries if queries is not None else [[]]:
                items.extend(
                    list_all(
                        api,
                        path,
                        page_size=page_size,
                        limits=limits,
                        params=params,
                        max_objects=cap - len(items),
                        objects_setting=setting,
                    )
                )
    except KubeError as exc:
        return KindResult(spec, ERROR, served=kind, error=exc)
    for item in items:
        # Lists of built-in kinds omit apiVersion/kind on each item.
        item.setdefault("apiVersion", kind.api_version)
        item.setdefault("kind", spec.kind)
    return KindResult(spec, OK, served=kind, items=items, count=len(items))
