"""Discovery: which of the wanted kinds the cluster serves, at which version.

Uses legacy discovery (/api, /apis, /apis/<group>/<version>), which every API server answers.
A group that is not served makes its kinds "not installed", which is not an error.
"""

from __future__ import annotations

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
                resources = get_json(api, path, limits=limits).get("resources") or []
            except KubeError as exc:
                if exc.status == 404:
                    continue  # a version listed by /apis but gone: try the next one
                for spec in specs:
                    errors.setdefault(spec, exc)
                continue
            for spec in specs:
                if spec in served:
                    continue  # an earlier (preferred) version already serves it
                found = _find_kind(resources, spec.kind)
                if found:
                    served[spec] = ServedKind(spec, version, found["name"], found["namespaced"])
                    errors.pop(spec, None)
    return served, errors


def _group_versions(api: k8s.ApiClient, limits: Limits) -> dict[str, list[str]]:
    """group → versions, preferred version first."""
    document = get_json(api, "/apis", limits=limits)
    result: dict[str, list[str]] = {}
    for group in document.get("groups") or []:
        if not isinstance(group, dict) or not group.get("name"):
            continue
        versions = [v.get("version") for v in group.get("versions") or [] if isinstance(v, dict)]
        preferred = (group.get("preferredVersion") or {}).get("version")
        ordered = [preferred] if preferred else []
        ordered += [v for v in versions if v and v != preferred]
        result[group["name"]] = ordered
    return result


def _find_kind(resources: list[Any], kind: str) -> dict[str, Any] | None:
    for resource in resources:
        if not isinstance(resource, dict):
            continue
        # "<plural>/status" and other subresources carry the same kind.
        if resource.get("kind") == kind and "/" not in str(resource.get("name", "")):
            return {"name": resource["name"], "namespaced": bool(resource.get("namespaced"))}
    return None
