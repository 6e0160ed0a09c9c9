"""Names and namespaces no route could reverse, served by a demo cluster.

Free text as far as the CRDs are concerned: an Argo CD ``spec.destination.namespace`` ("string"),
a Flux ``spec.targetNamespace`` (1-63 characters, no pattern), an Application's
``status.resources[].namespace``. Object names and namespaces are validated by a real API
server, but not by a non-conforming one (the demo cluster stores what it is given): "/", dot
segments, "%", "?", "#", newlines.
"""

from __future__ import annotations

from typing import Any

NOW = "2026-11-26T10:00:00Z"

# Destination namespaces (each one becomes a namespace row with a page of its own).
DESTINATIONS = (
    "team\nb",
    "a/b",
    "..",
    ".",
    "100%",
    "%2F%00x",
    "q?x=1#frag",
    "sp ace",
    "ñ/名",
    "back\\slash",
    "+plus",
    "\r\n",
)
# (namespace, name) of Applications a non-conforming server lists.
NAMES = (
    ("argocd", "slash/app"),
    ("argocd", ".."),
    ("argocd", "."),
    ("argocd", "100%"),
    ("argocd", "q?x#y"),
    ("argocd", "nl\nname"),
    ("team/x", "app"),
    ("..", "dots"),
)
FLUX_TARGET = "flux\ntarget"
RESOURCE_NAMESPACE = "res\nns"
LONG_DESTINATION = "l" * 250  # a link longer than a small TIDEWATCH_MAX_LINK_LENGTH


def hostile_name_objects() -> list[dict[str, Any]]:
    objects = [
        application("argocd", f"dest-{i}", destination)
        for i, destination in enumerate(DESTINATIONS)
    ]
    # All of them claim one ConfigMap: a violation whose object keys ("Kind/namespace/name") have
    # a "/" in the namespace or name, which the ownership page must still link right.
    objects += [
        application(namespace, name, "demo-apps", resource="shared") for namespace, name in NAMES
    ]
    objects.append(application("argocd", "long-destination", LONG_DESTINATION))
    resources = application("argocd", "resource-namespace", "demo-apps")
    resources["status"]["resources"][0]["namespace"] = RESOURCE_NAMESPACE
    objects.append(resources)
    objects.append(kustomization("flux-target", FLUX_TARGET))
    return objects


def application(namespace: str, name: str, destination: str, resource: str = "") -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": namespace, "generation": 1},
        "spec": {
            "project": "default",
            "destination": {"server": "https://kubernetes.default.svc", "namespace": destination},
            "source": {"repoURL": "https://git.example.com/apps.git", "path": "apps"},
        },
        "status": {
            "health": {"status": "Healthy"},
            "sync": {"status": "Synced", "revision": "abc123"},
            "resources": [
                {
                    "kind": "ConfigMap",
                    "name": resource or f"cm-{name.encode().hex()}",
                    "namespace": destination,
                    "version": "v1",
                    "status": "Synced",
                }
            ],
            "reconciledAt": NOW,
        },
    }


def kustomization(name: str, target: str) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system", "generation": 1},
        "spec": {
            "interval": "10m",
            "path": "./apps",
            "prune": True,
            "targetNamespace": target,
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        },
        "status": {
            "observedGeneration": 1,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "ReconciliationSucceeded",
                    "message": "Applied revision: main@sha1:abc",
                    "lastTransitionTime": NOW,
                    "observedGeneration": 1,
                }
            ],
            "inventory": {"entries": [{"id": f"{target}_cm__ConfigMap", "v": "v1"}]},
        },
    }
