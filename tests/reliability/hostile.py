"""Hostile text served by a demo cluster: HTML, script, ``javascript:`` URLs and a 1 MB message,
in every field of a Flux or Argo CD object that a page may show and Kubernetes lets through.

Kubernetes validates object names, namespaces and label values (DNS labels and subdomains), so
those stay plain; annotations, condition and Event messages, URLs in specs, Argo CD destination
namespaces and the resource names in an Application's status or a Kustomization's inventory are
free text as far as the API server is concerned, and carry the payloads.
"""

from __future__ import annotations

from typing import Any

ALERT_IMG = "<img src=x onerror=alert(1)>"
CLOSE_SCRIPT = "</script><script>alert(1)</script>"
ATTRIBUTE_BREAK = '"><svg onload=alert(1)>'
SINGLE_QUOTE_BREAK = "'><script>alert(1)</script>"
JS_URL = "javascript:alert(1)"
# A silent probe: if any payload ran, this one sets a flag the test reads.
PWN = '<img src=x onerror="window.__pwned=1">'
ALL = f"{ALERT_IMG} {CLOSE_SCRIPT} {ATTRIBUTE_BREAK} {SINGLE_QUOTE_BREAK} {PWN}"

HUGE_MESSAGE_LENGTH = 1_000_000
LONG_NAMESPACE = "n" * 300  # a destination namespace no Kubernetes namespace can have
# The app the 1 MB message lives in; hostile text at both ends, filler in between.
HUGE_APP = "huge-message"

NOW = "2026-11-26T10:00:00Z"


def _ready_false(message: str, reason: str = "BuildFailed") -> list[dict[str, Any]]:
    return [
        {
            "type": "Ready",
            "status": "False",
            "reason": reason,
            "message": message,
            "lastTransitionTime": NOW,
            "observedGeneration": 1,
        }
    ]


def hostile_objects() -> list[dict[str, Any]]:
    """Objects to apply on top of the demo platform."""
    kustomization = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {
            "name": "hostile",
            "namespace": "flux-system",
            "generation": 1,
            "annotations": {"note": ALL, "link": JS_URL},
        },
        "spec": {
            "interval": "10m",
            "path": f"./{ALERT_IMG}",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "hostile-src"},
        },
        "status": {
            "observedGeneration": 1,
            "conditions": _ready_false(ALL),
            "lastAttemptedRevision": f"main@sha1:{ATTRIBUTE_BREAK}",
            "inventory": {
                "entries": [
                    {"id": f"demo-apps_{ALERT_IMG}__ConfigMap", "v": "v1"},
                    {"id": f"demo-apps_{ATTRIBUTE_BREAK}_apps_Deployment", "v": "v1"},
                ]
            },
        },
    }
    source = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {
            "name": "hostile-src",
            "namespace": "flux-system",
            "generation": 1,
            "annotations": {"note": ALL},
        },
        "spec": {
            "interval": "1m",
            "url": f"https://git.example.com/{ALERT_IMG}",
            "ref": {"branch": CLOSE_SCRIPT},
        },
        "status": {
            "observedGeneration": 1,
            "conditions": _ready_false(ALL, "GitOperationFailed"),
        },
    }
    return [
        source,
        kustomization,
        _application("hostile-app", ALERT_IMG, ALL),
        _application("hostile-slash", CLOSE_SCRIPT, PWN),
        _application(HUGE_APP, "demo-apps", _huge_message()),
        _long_names(),
        _event(kustomization, "Kustomization", ALL),
        _event(
            {"metadata": {"name": "hostile-app", "namespace": "argocd", "uid": "u-hostile-app"}},
            "Application",
            f"{CLOSE_SCRIPT} {_huge_message()}",
        ),
    ]


def _long_names() -> dict[str, Any]:
    """Names longer than any Kubernetes name (and than the store's columns) where the CR allows."""
    app = _application("long-names", LONG_NAMESPACE, "long names")
    app["status"]["resources"][0]["name"] = "r" * 300
    app["status"]["resources"][1]["namespace"] = LONG_NAMESPACE
    return app


def _huge_message() -> str:
    filler = "A" * (HUGE_MESSAGE_LENGTH - 2 * len(ALL) - 2)
    return f"{ALL} {filler} {ALL}"


def _application(name: str, destination: str, message: str) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": "argocd",
            "generation": 1,
            "annotations": {
                "note": ALL,
                "link.argocd.argoproj.io/external-link": JS_URL,
            },
        },
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": destination},
            "source": {"repoURL": JS_URL, "path": ALERT_IMG, "targetRevision": CLOSE_SCRIPT},
        },
        "status": {
            "health": {"status": "Degraded", "message": message},
            "sync": {"status": "OutOfSync", "revision": ATTRIBUTE_BREAK},
            "conditions": [
                {"type": "ComparisonError", "message": message, "lastTransitionTime": NOW}
            ],
            "resources": [
                {
                    "kind": "ConfigMap",
                    "name": ALERT_IMG,
                    "namespace": "demo-apps",
                    "version": "v1",
                    "status": "OutOfSync",
                },
                {
                    "group": "apps",
                    "kind": "Deployment",
                    "name": ATTRIBUTE_BREAK,
                    "namespace": "demo-apps",
                    "version": "v1",
                    "status": "Synced",
                },
            ],
            "operationState": {
                "phase": "Failed",
                "message": message,
                "startedAt": NOW,
                "finishedAt": NOW,
                "operation": {"sync": {"revision": ATTRIBUTE_BREAK}},
            },
            "reconciledAt": NOW,
        },
    }


def _event(involved: dict[str, Any], kind: str, message: str) -> dict[str, Any]:
    metadata = involved["metadata"]
    group = "argoproj.io/v1alpha1" if kind == "Application" else "kustomize.toolkit.fluxcd.io/v1"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{metadata['name']}.hostile",
            "namespace": metadata["namespace"],
            "uid": f"event-{metadata['name']}",
        },
        "involvedObject": {
            "apiVersion": group,
            "kind": kind,
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "uid": metadata.get("uid", ""),
        },
        "reason": ALERT_IMG,
        "message": message,
        "type": "Warning",
        "source": {"component": ATTRIBUTE_BREAK},
        "firstTimestamp": NOW,
        "lastTimestamp": NOW,
        "count": 3,
    }
