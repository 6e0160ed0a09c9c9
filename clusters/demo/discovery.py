"""What the demo cluster serves: resource definitions and the legacy discovery documents.

Custom resources come from the bundled CRD files (``crds.py``); the few built-ins the dashboard
reads (namespaces, core events, configmaps, services, pods, deployments, statefulsets,
clusterroles) are declared here with the verbs, short names and subresources a v1.33 API server
reports for them, and metrics-server's metrics.k8s.io/v1beta1 as its APIService registers it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from clusters.demo.crds import load_crds

CRD_VERBS = ("delete", "deletecollection", "get", "list", "patch", "create", "update", "watch")
BUILTIN_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUBRESOURCE_VERBS = {"status": ("get", "patch", "update"), "scale": ("get", "patch", "update")}

# Built-in groups in /apis come first, in kube-aggregator's GroupPriorityMinimum order (as in the
# captured discovery_apis_grouplist.json); CRD groups follow. Only groups served here appear.
BUILTIN_GROUP_ORDER = (
    "apiregistration.k8s.io",
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "flowcontrol.apiserver.k8s.io",
)

KUBERNETES_VERSION = {
    "major": "1",
    "minor": "33",
    "emulationMajor": "1",
    "emulationMinor": "33",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "32",
    # RKE2 is what Big Bang clusters usually run on; Flux 2.9 needs Kubernetes >= 1.32.
    "gitVersion": "v1.33.4+rke2r1",
    "gitCommit": "74cdb426ff2aff5df3e4b7bbb8a0a8a5a6b7c1d2",
    "gitTreeState": "clean",
    "buildDate": "2025-08-14T09:12:43Z",
    "goVersion": "go1.24.5 X:boringcrypto",
    "compiler": "gc",
    "platform": "linux/amd64",
}


@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = BUILTIN_VERBS
    subresources: tuple[str, ...] = ()
    # Served from a CRD: unstructured semantics (list items carry apiVersion/kind, keys sorted,
    # unknown fields pruned, only metadata.name/namespace field selectors).
    custom: bool = False
    # Built-ins like Namespace and Event have no metadata.generation.
    tracks_generation: bool = True
    # Served by metrics-server through the aggregator (metrics.k8s.io): read-only, computed
    # from the Pods at each request, never stored.
    metrics: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``plural.group`` as the API server names a resource in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def status_subresource(self) -> bool:
        return "status" in self.subresources

    def storage_version_hash(self) -> str:
        # Same derivation as k8s.io/apiserver/pkg/endpoints/discovery.StorageVersionHash.
        digest = hashlib.sha256(f"{self.group}/{self.version}/{self.kind}".encode()).digest()
        return base64.b64encode(digest[:8]).decode()


BUILTIN_RESOURCES: tuple[Resource, ...] = (
    Resource(
        "",
        "v1",
        "Namespace",
        "namespaces",
        "namespace",
        namespaced=False,
        short_names=("ns",),
        verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        subresources=("status",),
        tracks_generation=False,
    ),
    Resource(
        "",
        "v1",
        "Event",
        "events",
        "event",
        namespaced=True,
        short_names=("ev",),
        tracks_generation=False,
    ),
    Resource(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        "configmap",
        namespaced=True,
        short_names=("cm",),
        tracks_generation=False,
    ),
    Resource(
        "",
        "v1",
        "Service",
        "services",
        "service",
        namespaced=True,
        short_names=("svc",),
        categories=("all",),
        subresources=("status",),
        tracks_generation=False,
    ),
    Resource(
        "",
        "v1",
        "Pod",
        "pods",
        "pod",
        namespaced=True,
        short_names=("po",),
        categories=("all",),
        subresources=("status",),
        tracks_generation=False,
    ),
    Resource(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        "deployment",
        namespaced=True,
        short_names=("deploy",),
        categories=("all",),
        subresources=("status", "scale"),
    ),
    Resource(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        "statefulset",
        namespaced=True,
        short_names=("sts",),
        categories=("all",),
        subresources=("status", "scale"),
    ),
    Resource(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        "clusterrole",
        namespaced=False,
        tracks_generation=False,
    ),
)


# metrics-server's APIService (metrics.k8s.io/v1beta1, groupPriorityMinimum 100): its
# resources carry no singular name, short names or storageVersionHash, and only get/list.
METRICS_GROUP = "metrics.k8s.io"
METRICS_RESOURCES: tuple[Resource, ...] = (
    Resource(
        METRICS_GROUP,
        "v1beta1",
        "NodeMetrics",
        "nodes",
        "",
        namespaced=False,
        verbs=("get", "list"),
        tracks_generation=False,
        metrics=True,
    ),
    Resource(
        METRICS_GROUP,
        "v1beta1",
        "PodMetrics",
        "pods",
        "",
        namespaced=True,
        verbs=("get", "list"),
        tracks_generation=False,
        metrics=True,
    ),
)


def custom_resources() -> tuple[Resource, ...]:
    return tuple(
        Resource(
            crd.group,
            crd.version,
            crd.kind,
            crd.plural,
            crd.singular,
            namespaced=crd.namespaced,
            short_names=crd.short_names,
            categories=crd.categories,
            verbs=CRD_VERBS,
            subresources=("status",) if crd.status_subresource else (),
            custom=True,
        )
        for crd in load_crds()
    )


_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version order: GA > beta > alpha, then by number (v1 > v1beta3 > v1alpha1)."""
    m = _VERSION_RE.match(version)
    if not m:
        return (-1, 0, 0)
    stability = {"alpha": 0, "beta": 1, None: 2}[m.group(2)]
    return (stability, int(m.group(1)), int(m.group(3) or 0))


def _matches_exclusion(resource: Resource, excluded: set[str]) -> bool:
    if resource.group in excluded:
        return True
    names = {resource.kind.lower(), resource.plural}
    return any(
        "/" in entry
        and entry.split("/", 1)[0] == resource.group
        and entry.split("/", 1)[1].lower() in names
        for entry in excluded
    )


class Discovery:
    """The set of served resources and the discovery documents describing them.

    ``not_installed`` takes API groups (``image.toolkit.fluxcd.io``) or ``group/Kind`` (or
    ``group/plural``) entries; those resources vanish from discovery and their paths answer 404
    with the plain body, as when the CRD is absent.
    """

    def __init__(
        self, resources: Iterable[Resource] | None = None, not_installed: Iterable[str] = ()
    ) -> None:
        excluded = set(not_installed)
        pool = (
            resources
            if resources is not None
            else BUILTIN_RESOURCES + custom_resources() + METRICS_RESOURCES
        )
        self.resources: tuple[Resource, ...] = tuple(
            r for r in pool if not _matches_exclusion(r, excluded)
        )
        self._by_path = {(r.group, r.version, r.plural): r for r in self.resources}
        self._by_kind: dict[tuple[str, str], Resource] = {}
        for r in sorted(self.resources, key=lambda r: version_priority(r.version)):
            self._by_kind[(r.group, r.kind)] = r  # highest priority version wins
        self._versions: dict[str, list[str]] = {}
        # A built-in group is one served by the API server itself; the dots in a name do not
        # tell (rbac.authorization.k8s.io is built in, a CRD group always has a dot).
        self._builtin_groups = {
            r.group for r in self.resources if not r.custom and not r.metrics and r.group
        }
        # Aggregated APIs with a low priority (metrics-server's 100) come after the CRD groups.
        self._aggregated_groups = {r.group for r in self.resources if r.metrics}
        for r in self.resources:
            versions = self._versions.setdefault(r.group, [])
            if r.version not in versions:
                versions.append(r.version)
        for versions in self._versions.values():
            versions.sort(key=version_priority, reverse=True)

    # --- lookups ---------------------------------------------------------------------------------

    def find(self, group: str, version: str, plural: str) -> Resource | None:
        return self._by_path.get((group, version, plural))

    def for_object(self, obj: dict[str, Any]) -> Resource | None:
        group, _, version = obj.get("apiVersion", "").rpartition("/")
        for r in self.resources:
            if r.group == group and r.version == version and r.kind == obj.get("kind"):
                return r
        return None

    def resolve(self, group: str, name: str) -> Resource | None:
        """A resource of ``group`` by plural, kind, singular or short name (any case)."""
        wanted = name.lower()
        for r in sorted(self.resources, key=lambda r: version_priority(r.version), reverse=True):
            if r.group != group:
                continue
            if wanted in (r.plural, r.singular, r.kind.lower(), *r.short_names):
                return r
        return None

    def has_group(self, group: str) -> bool:
        return group in self._versions

    def has_group_version(self, group: str, version: str) -> bool:
        return version in self._versions.get(group, ())

    # --- documents -------------------------------------------------------------------------------

    def api_versions(self, server_address: str) -> dict[str, Any]:
        """GET /api"""
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
            ],
        }

    def _group_entry(self, group: str) -> dict[str, Any]:
        versions = self._versions[group]
        return {
            "name": group,
            "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in versions],
            "preferredVersion": {"groupVersion": f"{group}/{versions[0]}", "version": versions[0]},
        }

    def group_list(self) -> dict[str, Any]:
        """GET /apis: built-in groups first, then CRD groups, as the API server orders them."""
        known = {g: i for i, g in enumerate(BUILTIN_GROUP_ORDER)}
        builtin = sorted(self._builtin_groups, key=lambda g: (known.get(g, len(known)), g))
        custom = sorted(
            g
            for g in self._versions
            if g and g not in self._builtin_groups and g not in self._aggregated_groups
        )
        aggregated = sorted(self._aggregated_groups)
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [self._group_entry(g) for g in builtin + custom + aggregated],
        }

    def group(self, group: str) -> dict[str, Any] | None:
        """GET /apis/<group>"""
        if not group or group not in self._versions:
            return None
        return {"kind": "APIGroup", "apiVersion": "v1", **self._group_entry(group)}

    def resource_list(self, group: str, version: str) -> dict[str, Any] | None:
        """GET /api/v1 or /apis/<group>/<version>"""
        if not self.has_group_version(group, version):
            return None
        entries: list[dict[str, Any]] = []
        for r in sorted(self.resources, key=lambda r: r.plural):
            if r.group != group or r.version != version:
                continue
            entry: dict[str, Any] = {
                "name": r.plural,
                "singularName": r.singular,
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": list(r.verbs),
            }
            if r.short_names:
                entry["shortNames"] = list(r.short_names)
            if r.categories:
                entry["categories"] = list(r.categories)
            if not r.metrics:
                entry["storageVersionHash"] = r.storage_version_hash()
            entries.append(entry)
            for sub in r.subresources:
                sub_entry: dict[str, Any] = {
                    "name": f"{r.plural}/{sub}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": list(SUBRESOURCE_VERBS[sub]),
                }
                if sub == "scale":
                    sub_entry.update(group="autoscaling", version="v1", kind="Scale")
                entries.append(sub_entry)
        if not group:  # the core list (/api/v1) carries no apiVersion on a real server
            return {"kind": "APIResourceList", "groupVersion": version, "resources": entries}
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": f"{group}/{version}",
            "resources": entries,
        }
