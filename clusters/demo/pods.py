"""The controllers' Pods and what metrics-server reports about them, for the demo cluster.

Pods as the ReplicaSet and StatefulSet controllers create them (names, ``pod-template-hash``,
controlling ownerReferences) with the status the kubelet reports; PodMetrics as metrics-server
v0.8 serves them (``metrics.k8s.io/v1beta1``: no resourceVersion, the Pod's labels, a scrape
``timestamp`` and ``window``, per-container usage in nanocores and KiB). Usage figures are those
of a Big Bang install at rest: Argo CD's Pods total about 500 MB, as the ADR states.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

Obj = dict[str, Any]

# Per workload: (CPU nanocores, memory KiB) of one Pod's main container at rest.
# Argo CD's pods add up to ~490 MiB: inside the ADR's ~500 MB budget, as a healthy install is.
USAGE: dict[str, tuple[int, int]] = {
    "source-controller": (4_212_000, 61_440),
    "kustomize-controller": (6_873_000, 92_160),
    "helm-controller": (9_145_000, 118_784),
    "notification-controller": (1_934_000, 30_720),
    "image-reflector-controller": (1_402_000, 38_912),
    "image-automation-controller": (1_118_000, 34_816),
    "argocd-server": (3_406_000, 56_320),
    "argocd-repo-server": (2_871_000, 81_920),
    "argocd-application-controller": (24_530_000, 133_120),
    "argocd-applicationset-controller": (1_264_000, 28_672),
    "argocd-redis": (2_096_000, 10_240),
    "argocd-notifications-controller": (987_000, 24_576),
    "argocd-dex-server": (512_000, 22_528),
}
DEFAULT_USAGE = (1_000_000, 16_384)
# One controller restarted: the repo-server was OOM-killed rendering a large chart.
RESTARTS: dict[str, int] = {"argocd-repo-server": 3}
NODES = ("rke2-agent-1", "rke2-agent-2", "rke2-agent-3")


def _hash(seed: str, length: int) -> str:
    # The alphabet Kubernetes uses for generated names (no vowels, no look-alikes).
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


def _uid(seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _ago(now: datetime, **delta: float) -> str:
    return (now - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def pods_for(workload: Obj, now: datetime) -> list[Obj]:
    """The running Pods of a Deployment or StatefulSet, one per desired replica."""
    meta, spec = workload["metadata"], workload.get("spec") or {}
    name, namespace = meta["name"], meta["namespace"]
    template = spec.get("template") or {}
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    containers = (template.get("spec") or {}).get("containers") or []
    replicas = spec.get("replicas", 1)
    pods = []
    for index in range(replicas):
        if workload["kind"] == "StatefulSet":
            revision = (workload.get("status") or {}).get("currentRevision", f"{name}-0")
            pod_name = f"{name}-{index}"
            pod_labels = {
                **labels,
                "apps.kubernetes.io/pod-index": str(index),
                "controller-revision-hash": revision,
                "statefulset.kubernetes.io/pod-name": pod_name,
            }
            owner = {"kind": "StatefulSet", "name": name, "uid": meta.get("uid", _uid(name))}
            generate = None
        else:
            image = containers[0]["image"] if containers else name
            pod_hash = hashlib.sha1(image.encode()).hexdigest()[:10]  # the demo's RS names
            replica_set = f"{name}-{pod_hash}"
            pod_name = f"{replica_set}-{_hash(f'{replica_set}/{index}', 5)}"
            pod_labels = {**labels, "pod-template-hash": pod_hash}
            owner = {"kind": "ReplicaSet", "name": replica_set, "uid": _uid(replica_set)}
            generate = f"{replica_set}-"
        restarts = RESTARTS.get(name, 0) if index == 0 else 0
        started = _ago(now, days=9)
        statuses = []
        for container in containers:
            status: Obj = {
                "containerID": f"containerd://{hashlib.sha256(pod_name.encode()).hexdigest()}",
                "image": container["image"],
                "imageID": f"{container['image'].rsplit(':', 1)[0]}@sha256:"
                + hashlib.sha256(container["image"].encode()).hexdigest(),
                "lastState": {},
                "name": container["name"],
                "ready": True,
                "restartCount": restarts,
                "started": True,
                "state": {"running": {"startedAt": started}},
            }
            if restarts:
                status["state"] = {"running": {"startedAt": _ago(now, hours=2)}}
                status["lastState"] = {
                    "terminated": {
                        "containerID": f"containerd://{_hash(pod_name + 'old', 12)}",
                        "exitCode": 137,
                        "finishedAt": _ago(now, hours=2),
                        "reason": "OOMKilled",
                        "startedAt": _ago(now, days=1),
                    }
                }
            statuses.append(status)
        metadata: Obj = {
            "name": pod_name,
            "namespace": namespace,
            "uid": _uid(f"{namespace}/{pod_name}"),
            "creationTimestamp": started,
            "labels": pod_labels,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    **owner,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        }
        if generate:
            metadata["generateName"] = generate
        node = NODES[(index + len(name)) % len(NODES)]
        conditions = [
            {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": started}
            for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")
        ] + [
            {
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": started,
            }
        ]
        pods.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": metadata,
                "spec": {
                    "containers": containers,
                    "nodeName": node,
                    "restartPolicy": "Always",
                    "serviceAccountName": name,
                    **({"hostname": pod_name} if workload["kind"] == "StatefulSet" else {}),
                },
                "status": {
                    "conditions": conditions,
                    "containerStatuses": statuses,
                    "hostIP": f"10.0.1.{11 + NODES.index(node)}",
                    "phase": "Running",
                    "podIP": f"10.42.{NODES.index(node)}.{10 + index + len(name) % 200}",
                    "qosClass": "Burstable",
                    "startTime": started,
                },
            }
        )
    return pods


def pod_metrics(pod: Obj, now: datetime) -> Obj | None:
    """The PodMetrics metrics-server reports for a running Pod (None for one that is not)."""
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return None
    meta = pod["metadata"]
    owner = next(iter(meta.get("ownerReferences") or []), {})
    workload = owner.get("name", meta["name"])
    if owner.get("kind") == "ReplicaSet":
        workload = workload.rsplit("-", 1)[0]
    cpu, memory = USAGE.get(workload, DEFAULT_USAGE)
    # A little jitter per Pod, as two replicas never use exactly the same.
    jitter = int(hashlib.sha256(meta["name"].encode()).hexdigest()[:4], 16) % 97
    containers = [
        {
            "name": container.get("name", ""),
            "usage": {"cpu": f"{cpu + jitter * 1000}n", "memory": f"{memory + jitter * 4}Ki"},
        }
        for container in (pod.get("spec") or {}).get("containers") or []
    ]
    scraped = now.astimezone(UTC).replace(microsecond=0) - timedelta(seconds=7)
    return {
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace", ""),
            "creationTimestamp": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "labels": dict(meta.get("labels") or {}),
        },
        "timestamp": scraped.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "window": "15.015s",
        "containers": containers,
    }
