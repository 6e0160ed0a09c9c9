"""The Kubernetes Event written on an object after an action, like Flux Operator's WebAction
event, so whatever watches the object's events (notifications, kubectl describe) sees who
did what."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

REASON = "TidewatchAction"
COMPONENT = "tidewatch"


def event_body(
    obj: dict[str, Any], message: str, now: datetime | None = None, instance: str = ""
) -> dict[str, Any]:
    """A core/v1 Event about ``obj`` (the object as the cluster returned it)."""
    meta = obj.get("metadata") or {}
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    involved = {
        "apiVersion": obj.get("apiVersion", ""),
        "kind": obj.get("kind", ""),
        "name": meta.get("name", ""),
        "namespace": meta.get("namespace", ""),
    }
    for key in ("uid", "resourceVersion"):
        if meta.get(key):
            involved[key] = meta[key]
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "generateName": f"{meta.get('name', 'object')}.",
            "namespace": meta.get("namespace", ""),
        },
        "involvedObject": involved,
        "reason": REASON,
        "message": message[:1024],
        "type": "Normal",
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": instance or socket.gethostname()[:128],
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


def write_event(api: k8s.ApiClient, body: dict[str, Any], timeout: float = 10.0) -> str:
    """Create the Event; "" on success, else why not (the action itself stands either way)."""
    try:
        k8s.CoreV1Api(api).create_namespaced_event(
            body["metadata"]["namespace"], body, _request_timeout=(min(5.0, timeout), timeout)
        )
    except ApiException as exc:
        return f"HTTP {exc.status}: {exc.reason}"
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"[:300]
    return ""
