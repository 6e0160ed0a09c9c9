"""Flux kinds the cluster serves only at deprecated versions: an upgrade blocker (pure).

Current Flux (2.9) serves one version per kind; every older one was removed from its CRD in a
later release (shared/reference/crds/VERSIONS.md). A cluster whose discovery offers a kind only
at older versions runs old controllers and CRDs: its objects need migrating to the current
version before Flux can be upgraded past the release that removed what it serves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clusters.collect.flux import HELM, IMAGE, KUSTOMIZE, NOTIFICATION, SOURCE
from clusters.collect.kinds import KindSpec, ServedKind

_SOURCES = {"v1beta1": "2.7", "v1beta2": "2.8"}
_NOTIFICATIONS = {"v1beta1": "2.7", "v1beta2": "2.9"}
# (group, kind) → (the version current Flux and Tidewatch want, {older version: the Flux
# release that removed it}).
WANTED: dict[tuple[str, str], tuple[str, dict[str, str]]] = {
    (HELM, "HelmRelease"): ("v2", {"v2beta1": "2.7", "v2beta2": "2.8"}),
    (KUSTOMIZE, "Kustomization"): ("v1", {"v1beta1": "2.7", "v1beta2": "2.8"}),
    (SOURCE, "GitRepository"): ("v1", _SOURCES),
    (SOURCE, "HelmRepository"): ("v1", _SOURCES),
    (SOURCE, "HelmChart"): ("v1", _SOURCES),
    (SOURCE, "Bucket"): ("v1", _SOURCES),
    (SOURCE, "OCIRepository"): ("v1", {"v1beta2": "2.8"}),
    (NOTIFICATION, "Alert"): ("v1beta3", _NOTIFICATIONS),
    (NOTIFICATION, "Provider"): ("v1beta3", _NOTIFICATIONS),
    (NOTIFICATION, "Receiver"): ("v1", _NOTIFICATIONS),
    (IMAGE, "ImageRepository"): ("v1", {"v1beta1": "2.7", "v1beta2": "2.9"}),
    (IMAGE, "ImagePolicy"): ("v1", {"v1beta1": "2.7", "v1beta2": "2.9"}),
    (IMAGE, "ImageUpdateAutomation"): ("v1", {"v1beta1": "2.7", "v1beta2": "2.9"}),
}


def deprecated_apis(served: Mapping[KindSpec, ServedKind]) -> list[dict[str, Any]]:
    """One entry per known Flux kind served without its wanted version:
    ``{"group", "kind", "served": [versions, preferred first], "wanted": "v2",
    "removedIn": "Flux 2.8"}`` (the release that no longer serves the preferred one; "" when
    not known). Sorted by group and kind."""
    found = []
    for spec, kind in served.items():
        entry = WANTED.get((spec.group, spec.kind))
        if entry is None:
            continue
        wanted, removed = entry
        versions = list(kind.versions or (kind.version,))
        if wanted in versions:
            continue
        release = removed.get(versions[0], "")
        found.append(
            {
                "group": spec.group,
                "kind": spec.kind,
                "served": versions,
                "wanted": wanted,
                "removedIn": f"Flux {release}" if release else "",
            }
        )
    return sorted(found, key=lambda e: (e["group"], e["kind"]))
