"""Discovery: which of the wanted kinds the cluster serves, at which version.

Uses legacy discovery (/api, /apis, /apis/<group>/<version>), which every API server answers.
A group that is not served makes its kinds "not installed", which is not an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from kubernetes import client as k8s

from clusters.collect.kinds import KindSpec, ServedKind
from clusters.kube import DEFAULT_LIMITS, KubeError, Limits, get_json


def discover(
    api: k8s.ApiClient, wanted: Iterable[KindSpec], limits: Limits = DEFAULT_LIMITS
) -> tuple[dict[KindSpec, ServedKind], dict[KindSpec, KubeError]]:
    """Return (served kinds, per-kind discovery errors). Kinds in neither are not installed.

    Raises KubeError when the cluster cannot be asked at all (unreachable, 401 ...).
    """
    wanted = list(wanted)
    served: dict[KindSpec, ServedKind] = {}
    errors: dict[KindSpec, KubeError] = {}
    also: dict[KindSpec, list[str]] = {}  # every version serving the kind, preferred first

    by_group: dict[str, list[KindSpec]] = {}
    for spec in wanted:
        by_group.setdefault(spec.group, []).append(spec)

    group_versions = _group_versions(api, limits)  # raises: nothing works without it
    if "" in by_group:
        group_versions[""] = ["v1"]

    for group, specs in by_group.items():
        versions = group_versions.get(group)
        if not versions:
            continue
        for version in versions:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                resources = _resources(get_json(api, path, limits=limits), path)
            except KubeError as exc:
                if exc.status == 404:
                    continue  # a version listed by /apis but gone: try the next one
                for spec in specs:
                    errors.setdefault(spec, exc)
                continue
            for spec in specs:
                found = _find_kind(resources, spec.kind)
                if not found:
                    continue
                also[spec] = [*also.get(spec, []), version]
                if spec in served:
                    continue  # an earlier (preferred) version already serves it
                served[spec] = ServedKind(spec, version, found["name"], found["namespaced"])
                errors.pop(spec, None)
    return {
        spec: dataclasses.replace(kind, versions=tuple(also.get(spec, [kind.version])))
        for spec, kind in served.items()
    }, errors


def _group_versions(api: k8s.ApiClient, limits: Limits) -> dict[str, list[str]]:
    """group → versions, preferred version first."""
    return group_versions(get_json(api, "/apis", limits=limits))


def group_versions(document: dict[str, Any]) -> dict[str, list[str]]:
    """group → versions, preferred version first, from an APIGroupList.

    A conforming server never sends anything else, but a proxy or a broken aggregated API can:
    an unusable group entry is left out (its kinds are then not served); a document that is
    not an APIGroupList at all raises KubeError, so the poll fails with that reason.
    """
    groups = document.get("groups")
    if groups is None:
        groups = []
    if not isinstance(groups, list):
        raise KubeError(
            "InvalidResponse",
            f"/apis returned a discovery document whose 'groups' is a "
            f"{type(groups).__name__}, not a list",
        )
    result: dict[str, list[str]] = {}
    for group in groups:
        if not isinstance(group, dict) or not isinstance(group.get("name"), str):
            continue
        listed = group.get("versions")
        versions = [
            v["version"]
            for v in (listed if isinstance(listed, list) else [])
            if isinstance(v, dict) and isinstance(v.get("version"), str) and v["version"]
        ]
        preferred = group.get("preferredVersion")
        # A preferredVersion that is not {"version": "..."} says nothing: use the listed order.
        preferred = preferred.get("version") if isinstance(preferred, dict) else None
        ordered = [preferred] if isinstance(preferred, str) and preferred else []
        ordered += [v for v in versions if v not in ordered]
        if ordered:
            result[group["name"]] = ordered
    return result


def _resources(document: dict[str, Any], path: str) -> list[Any]:
    resources = document.get("resources")
    if resources is None:
        return []
    if not isinstance(resources, list):
        raise KubeError(
            "InvalidResponse",
            f"{path} returned a discovery document whose 'resources' is a "
            f"{type(resources).__name__}, not a list",
        )
    return resources


def _find_kind(resources: list[Any], kind: str) -> dict[str, Any] | None:
    for resource in resources:
        if not isinstance(resource, dict):
            continue
        name = resource.get("name")
        # "<plural>/status" and other subresources carry the same kind; a name that is not a
        # plain string cannot be put in a URL.
        if resource.get("kind") == kind and isinstance(name, str) and name and "/" not in name:
            return {"name": name, "namespaced": resource.get("namespaced") is True}
    return None
