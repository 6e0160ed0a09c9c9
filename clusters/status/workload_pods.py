"""The controllers' Pods and their metrics, summed per workload (pure).

A Pod is matched to its Deployment through its controlling ReplicaSet, without listing
ReplicaSets: the Deployment controller names a ReplicaSet ``<deployment>-<pod-template-hash>``
and puts the same hash on its Pods' ``pod-template-hash`` label (the name minus its last dash
part when the label is missing). A StatefulSet owns its Pods directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from clusters.status.quantity import cpu_millicores, memory_bytes

WorkloadKey = tuple[str, str, str]  # kind, namespace, name
PodKey = tuple[str, str]  # namespace, name
# Pods that ended stay listed (evicted, completed) but no longer run: not counted.
TERMINAL_PHASES = ("Succeeded", "Failed")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def owner_workload(pod: Mapping[str, Any]) -> WorkloadKey | None:
    """The Deployment or StatefulSet that owns ``pod``, or None (a bare Pod, a Job's ...)."""
    metadata = _dict(pod.get("metadata"))
    namespace = str(metadata.get("namespace") or "")
    for ref in _list(metadata.get("ownerReferences")):
        ref = _dict(ref)
        if ref.get("controller") is not True or not isinstance(ref.get("name"), str):
            continue
        name, kind = ref["name"], ref.get("kind")
        if kind == "StatefulSet":
            return ("StatefulSet", namespace, name)
        if kind == "ReplicaSet":
            pod_hash = _dict(metadata.get("labels")).get("pod-template-hash")
            if isinstance(pod_hash, str) and pod_hash and name.endswith(f"-{pod_hash}"):
                return ("Deployment", namespace, name[: -len(pod_hash) - 1])
            if "-" in name:
                return ("Deployment", namespace, name.rsplit("-", 1)[0])
        return None
    return None


def pod_restarts(pod: Mapping[str, Any]) -> int:
    """Container restarts of ``pod``, init containers included, as kubectl's RESTARTS."""
    status = _dict(pod.get("status"))
    total = 0
    for key in ("initContainerStatuses", "containerStatuses"):
        for container in _list(status.get(key)):
            count = _dict(container).get("restartCount")
            if isinstance(count, int) and count > 0:
                total += count
    return total


def is_running(pod: Mapping[str, Any]) -> bool:
    return _dict(pod.get("status")).get("phase") not in TERMINAL_PHASES


def pod_key(obj: Mapping[str, Any]) -> PodKey:
    metadata = _dict(obj.get("metadata"))
    return (str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))


def pod_usage(metrics: Mapping[str, Any]) -> tuple[int, int] | None:
    """(CPU millicores, memory bytes) summed over a PodMetrics' containers; None when a
    container's usage is missing or not a quantity (nothing is guessed)."""
    cpu = memory = 0
    containers = _list(metrics.get("containers"))
    if not containers:
        return None
    for container in containers:
        usage = _dict(_dict(container).get("usage"))
        try:
            cpu += cpu_millicores(usage["cpu"])
            memory += memory_bytes(usage["memory"])
        except (KeyError, ValueError):
            return None
    return cpu, memory


@dataclass
class PodFigures:
    """What the listed Pods say about one workload."""

    pods: list[PodKey] = field(default_factory=list)
    restarts: int = 0


def pod_figures(pods: Iterable[Mapping[str, Any]]) -> dict[WorkloadKey, PodFigures]:
    """Running Pods and their restarts per owning workload."""
    figures: dict[WorkloadKey, PodFigures] = {}
    for pod in pods:
        owner = owner_workload(pod)
        if owner is None or not is_running(pod):
            continue
        entry = figures.setdefault(owner, PodFigures())
        entry.pods.append(pod_key(pod))
        entry.restarts += pod_restarts(pod)
    return figures


@dataclass(frozen=True)
class Usage:
    usage: dict[str, int] | None  # {"cpuMillicores": ..., "memoryBytes": ...}
    missing: int  # pods without a usable PodMetrics


def workload_usage(pods: Iterable[PodKey], metrics: Mapping[PodKey, tuple[int, int]]) -> Usage:
    """The usage of a workload's Pods summed: None unless every Pod is measured (a sum of some
    would read as the whole). No Pods: it uses nothing."""
    cpu = memory = missing = 0
    for key in pods:
        measured = metrics.get(key)
        if measured is None:
            missing += 1
            continue
        cpu, memory = cpu + measured[0], memory + measured[1]
    if missing:
        return Usage(None, missing)
    return Usage({"cpuMillicores": cpu, "memoryBytes": memory}, 0)


def metrics_by_pod(items: Iterable[Mapping[str, Any]]) -> dict[PodKey, tuple[int, int]]:
    measured = {}
    for item in items:
        usage = pod_usage(item)
        if usage is not None:
            measured[pod_key(item)] = usage
    return measured
