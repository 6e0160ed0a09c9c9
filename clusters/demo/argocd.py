"""The demo's argocd-server: the two read endpoints Tidewatch uses, under ``/argocd-server``
on the demo cluster's own port (as an argocd-server run with ``--rootpath /argocd-server``)::

    GET /argocd-server/api/v1/applications/{name}/resource-tree?appNamespace=argocd
    GET /argocd-server/api/v1/applications/{name}/managed-resources?appNamespace=argocd

Bearer token auth (``DemoCluster(argocd_token=...)``); anything else gets 401 with argocd-server's
error JSON (``{"error", "code": 16, "message", "details"}``). The answers are computed from the
demo store on each request, so the timeline's episodes show in them: every resource an
Application's ``status.resources`` lists becomes a tree node (Deployments with a ReplicaSet and
its Pods, health messages as Argo CD's health checks word them) and a ResourceDiff whose states
are JSON strings; a resource the Application reports OutOfSync is drifted (``DRIFT``: the
data-platform incident's ingest-worker runs 4 replicas of 0.31.2 where Git says 3 of 0.32.0),
and Secrets are masked the way argocd-server masks them.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from clusters.demo.scenario import GROUP_VERSIONS, tracking_id

PREFIX = "/argocd-server"
UNAUTHENTICATED = 16  # gRPC codes, as argocd-server's gateway reports them
NOT_FOUND = 5
MASK = "++++++++"  # argocd-server's mask for Secret values

Obj = dict[str, Any]
Lookup = Callable[[str, str, str, str], Obj | None]  # group, kind, namespace, name -> live object


def error_body(code: int, message: str) -> Obj:
    return {"error": message, "code": code, "message": message, "details": []}


def is_argocd_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def answer(path: str, query: dict[str, str], lookup: Lookup) -> tuple[int, Obj]:
    """(HTTP status, JSON body) for an authenticated GET under PREFIX."""
    parts = [unquote(p) for p in path[len(PREFIX) :].split("/") if p]
    if len(parts) != 5 or parts[:3] != ["api", "v1", "applications"]:
        return 404, error_body(NOT_FOUND, f"no such endpoint {path}")
    name, what = parts[3], parts[4]
    namespace = query.get("appNamespace") or "argocd"
    app = lookup("argoproj.io", "Application", namespace, name)
    if app is None:
        return 404, error_body(NOT_FOUND, f'applications.argoproj.io "{name}" not found')
    if what == "resource-tree":
        return 200, resource_tree(app, lookup)
    if what == "managed-resources":
        return 200, managed_resources(app, lookup)
    return 404, error_body(NOT_FOUND, f"no such endpoint {path}")


# --- what the Application manages ----------------------------------------------------------------


def _entries(app: Obj) -> list[Obj]:
    return [r for r in (app.get("status") or {}).get("resources") or [] if isinstance(r, dict)]


def _digest(*parts: str) -> str:
    return hashlib.sha1("/".join(parts).encode()).hexdigest()


def _uid(*parts: str) -> str:
    h = _digest("uid", *parts)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def live_object(app: Obj, entry: Obj, lookup: Lookup) -> Obj:
    """The live object: the demo store's when it serves the kind, else a plausible one."""
    group, kind = entry.get("group", ""), entry["kind"]
    namespace, name = entry.get("namespace", ""), entry["name"]
    stored = lookup(group, kind, namespace, name)
    if stored is not None:
        return copy.deepcopy(stored)
    app_name = app["metadata"]["name"]
    version = entry.get("version") or GROUP_VERSIONS.get(group, "v1")
    metadata: Obj = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata.update(
        uid=_uid(group, kind, namespace, name),
        resourceVersion=str(int(_digest(kind, name)[:6], 16)),
        creationTimestamp=app["metadata"].get("creationTimestamp"),
        labels={"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": app_name},
        annotations={
            "argocd.argoproj.io/tracking-id": tracking_id(app_name, group, kind, namespace, name)
        },
    )
    obj: Obj = {
        "apiVersion": f"{group}/{version}" if group else version,
        "kind": kind,
        "metadata": metadata,
    }
    obj.update(_BODIES.get(kind, lambda n: {"spec": {}})(name))
    return obj


_BODIES: dict[str, Callable[[str], Obj]] = {
    "ConfigMap": lambda n: {"data": {"BATCH_SIZE": "500", "LOG_LEVEL": "info"}},
    "Secret": lambda n: {"type": "Opaque", "data": {"password": "c2VjcmV0", "username": "YXBw"}},
    "ServiceAccount": lambda n: {},
    "Service": lambda n: {
        "spec": {
            "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
            "selector": {"app.kubernetes.io/name": n},
            "type": "ClusterIP",
        }
    },
    "CronJob": lambda n: {
        "spec": {
            "schedule": "0 2 * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure"}}}},
        }
    },
}


def _without_bookkeeping(obj: Obj) -> Obj:
    out = {k: v for k, v in obj.items() if k != "status"}
    metadata = {
        k: v
        for k, v in (obj.get("metadata") or {}).items()
        if k not in ("managedFields", "resourceVersion", "uid", "generation", "creationTimestamp")
    }
    out["metadata"] = metadata
    return out


def _drift_ingest_worker(target: Obj) -> None:
    # Someone scaled it by hand and Git moved on to a new image: both show in the diff.
    target.setdefault("spec", {})["replicas"] = 3
    for container in target["spec"].get("template", {}).get("spec", {}).get("containers", []):
        image = str(container.get("image", ""))
        if image.endswith(":0.31.2"):
            container["image"] = image.removesuffix("0.31.2") + "0.32.0"


def _drift_pipeline_config(target: Obj) -> None:
    target.setdefault("data", {})["BATCH_SIZE"] = "1000"
    target["data"]["COMPACTION"] = "enabled"


def _drift_generic(target: Obj) -> None:
    annotations = target.setdefault("metadata", {}).setdefault("annotations", {})
    annotations["demo.tidewatch.io/git-revision"] = "next"


DRIFT: dict[tuple[str, str, str], Callable[[Obj], None]] = {
    ("Deployment", "data-platform", "ingest-worker"): _drift_ingest_worker,
    ("ConfigMap", "data-platform", "pipeline-config"): _drift_pipeline_config,
}


def _mask(obj: Obj) -> Obj:
    if obj.get("kind") == "Secret":
        obj = copy.deepcopy(obj)
        obj["data"] = dict.fromkeys(obj.get("data") or {}, MASK)
    return obj


def managed_resources(app: Obj, lookup: Lookup) -> Obj:
    """A ManagedResourcesResponse: one ResourceDiff per managed resource."""
    items = []
    for entry in _entries(app):
        kind, namespace, name = entry["kind"], entry.get("namespace", ""), entry["name"]
        live = live_object(app, entry, lookup)
        normalized = dict(live)
        normalized["metadata"] = {k: v for k, v in live["metadata"].items() if k != "managedFields"}
        target = copy.deepcopy(_without_bookkeeping(live))
        predicted = copy.deepcopy(normalized)
        modified = entry.get("status") == "OutOfSync"
        if modified:
            DRIFT.get((kind, namespace, name), _drift_generic)(target)
            # Applying the target to the live object: what the object would be after a sync.
            for key, value in target.items():
                if key == "metadata":
                    predicted["metadata"] = {**predicted["metadata"], **value}
                else:
                    predicted[key] = copy.deepcopy(value)
        item: Obj = {}
        if entry.get("group"):
            item["group"] = entry["group"]
        item["kind"] = kind
        if namespace:
            item["namespace"] = namespace
        item["name"] = name
        item["targetState"] = json.dumps(_mask(target))
        item["liveState"] = json.dumps(_mask(live))
        item["normalizedLiveState"] = json.dumps(_mask(normalized))
        item["predictedLiveState"] = json.dumps(_mask(predicted))
        item["resourceVersion"] = str(live["metadata"].get("resourceVersion", ""))
        if modified:
            item["modified"] = True
        items.append(item)
    return {"items": items}


# --- resource-tree -------------------------------------------------------------------------------

# Kinds Argo CD has a health check for; the others' nodes carry no health.
_HEALTH_CHECKED = {
    "Deployment",
    "StatefulSet",
    "Service",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "CronJob",
    "Application",
    "VirtualService",
}


def _ref(obj: Obj, group: str) -> Obj:
    ref: Obj = {}
    if group:
        ref["group"] = group
    ref["kind"] = obj["kind"]
    if obj["metadata"].get("namespace"):
        ref["namespace"] = obj["metadata"]["namespace"]
    ref["name"] = obj["metadata"]["name"]
    ref["uid"] = obj["metadata"]["uid"]
    return ref


def _deployment_health(live: Obj) -> Obj:
    spec, status = live.get("spec") or {}, live.get("status") or {}
    wanted = int(spec.get("replicas", 1))
    available = int(status.get("availableReplicas", 0))
    updated = int(status.get("updatedReplicas", 0))
    if updated < wanted:
        return {
            "status": "Progressing",
            "message": f"Waiting for rollout to finish: {updated} out of {wanted} new replicas "
            "have been updated...",
        }
    if available < wanted:
        return {
            "status": "Progressing",
            "message": f"Waiting for rollout to finish: {available} of {wanted} updated "
            "replicas are available...",
        }
    return {"status": "Healthy"}


def _health(app: Obj, entry: Obj, live: Obj) -> Obj | None:
    if isinstance(entry.get("health"), dict):  # persisted (the pre-3.0 layout)
        return dict(entry["health"])
    kind = entry["kind"]
    if kind not in _HEALTH_CHECKED:
        return None
    if kind in ("Deployment", "StatefulSet"):
        return _deployment_health(live)
    if kind == "Application":
        health = (live.get("status") or {}).get("health") or {}
        return {"status": health.get("status", "Unknown")}
    return {"status": "Healthy"}


def _workload_children(live: Obj, rv: str) -> list[Obj]:
    """The ReplicaSet and Pods under a Deployment, as Argo CD's cache links them."""
    meta, spec, status = live["metadata"], live.get("spec") or {}, live.get("status") or {}
    namespace, name = meta.get("namespace", ""), meta["name"]
    containers = (spec.get("template") or {}).get("spec", {}).get("containers") or []
    images = [str(c.get("image")) for c in containers if c.get("image")]
    revision = (meta.get("annotations") or {}).get("deployment.kubernetes.io/revision", "1")
    rs_name = f"{name}-{_digest(*images)[:10]}"
    rs_uid = _uid("ReplicaSet", namespace, rs_name)
    wanted = int(spec.get("replicas", 1))
    ready = int(status.get("readyReplicas", 0))
    rs = {
        "version": "v1",
        "kind": "ReplicaSet",
        "namespace": namespace,
        "name": rs_name,
        "uid": rs_uid,
        "group": "apps",
        "parentRefs": [_ref(live, "apps")],
        "info": [{"name": "Revision", "value": f"Rev:{revision}"}],
        "resourceVersion": rv,
        "health": {"status": "Healthy"}
        if ready >= wanted
        else {
            "status": "Progressing",
            "message": f"Waiting for rollout to finish: {ready} of {wanted} replicas are ready",
        },
        "createdAt": meta.get("creationTimestamp"),
    }
    rs_ref = {"group": "apps", "kind": "ReplicaSet", "namespace": namespace, "name": rs_name,
              "uid": rs_uid}  # fmt: skip
    nodes = [rs]
    for index in range(wanted):
        pod_name = f"{rs_name}-{_digest(rs_name, str(index))[:5]}"
        running = index < ready
        container = containers[0].get("name", "main") if containers else "main"
        nodes.append(
            {
                "version": "v1",
                "kind": "Pod",
                "namespace": namespace,
                "name": pod_name,
                "uid": _uid("Pod", namespace, pod_name),
                "parentRefs": [rs_ref],
                "info": [
                    {
                        "name": "Status Reason",
                        "value": "Running" if running else "CrashLoopBackOff",
                    },
                    {"name": "Node", "value": f"worker-{index % 3 + 1}"},
                    {"name": "Containers", "value": "1/1" if running else "0/1"},
                    *([] if running else [{"name": "Restart Count", "value": "7"}]),
                ],
                "resourceVersion": rv,
                "images": images,
                "health": {"status": "Healthy"}
                if running
                else {
                    "status": "Degraded",
                    "message": f"back-off 5m0s restarting failed container={container} "
                    f"pod={pod_name}",
                },
                "createdAt": meta.get("creationTimestamp"),
            }
        )
    return nodes


def resource_tree(app: Obj, lookup: Lookup) -> Obj:
    """An ApplicationTree: the managed resources' nodes and their live children."""
    nodes = []
    for entry in _entries(app):
        group = entry.get("group", "")
        live = live_object(app, entry, lookup)
        meta = live["metadata"]
        rv = str(meta.get("resourceVersion", ""))
        node: Obj = {
            "version": entry.get("version") or GROUP_VERSIONS.get(group, "v1"),
            "kind": entry["kind"],
            "namespace": entry.get("namespace", ""),
            "name": entry["name"],
            "uid": meta.get("uid") or _uid(group, entry["kind"], entry["name"]),
        }
        if group:
            node["group"] = group
        node["resourceVersion"] = rv
        health = _health(app, entry, live)
        if health is not None:
            node["health"] = health
        node["createdAt"] = meta.get("creationTimestamp")
        if entry["kind"] == "Deployment":
            containers = (live.get("spec") or {}).get("template", {}).get("spec", {})
            images = [c.get("image") for c in containers.get("containers") or []]
            node["images"] = [i for i in images if i]
        nodes.append(node)
        if entry["kind"] == "Deployment" and isinstance(live.get("spec"), dict):
            nodes.extend(_workload_children(live, rv))
    return {"nodes": nodes}
