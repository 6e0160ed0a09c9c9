"""The object page's "who owns it and why" sentence: the object's tool against the declared
owner of every namespace it deploys into, plus the ownership violations that name it."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from clusters.models import GitOpsObject, NamespaceRollup, Violation

TOOL_NAMES = {"flux": "Flux", "argocd": "Argo CD"}


@dataclass
class ObjectOwnership:
    sentence: str
    violations: list[Violation] = field(default_factory=list)


def object_ownership(obj: GitOpsObject) -> ObjectOwnership:
    """Two queries: the declared owners of its namespaces, and the violations naming it."""
    namespaces = [obj.namespace, *obj.target_namespaces]
    owners = dict(
        NamespaceRollup.objects.filter(cluster=obj.cluster, namespace__in=namespaces).values_list(
            "namespace", "declared_owner"
        )
    )
    key = f"{obj.kind}/{obj.namespace}/{obj.name}"
    # The text match narrows in SQL (a cluster may hold 100,000 violations); the list check
    # is exact. Bounded to a page of rows: the header shows codes, not every violation.
    candidates = Violation.objects.filter(cluster=obj.cluster, object_keys__icontains=key)
    rows = settings.TIDEWATCH_PAGE_ROWS
    violations = [v for v in candidates[:rows] if key in v.object_keys]
    return ObjectOwnership(
        ownership_sentence(obj.tool, obj.namespace, obj.target_namespaces, owners), violations
    )


def ownership_sentence(tool: str, home: str, targets: list[str], owners: dict[str, str]) -> str:
    """One sentence, e.g. "Argo CD deploys this into portfolio (declared for Argo CD) and
    istio-system (declared for Flux: crosses the boundary)."."""
    name = TOOL_NAMES.get(tool, tool)

    def declared(namespace: str) -> str:
        owner = owners.get(namespace, "")
        if not owner:
            return f"{namespace} (no declared owner)"
        if owner != tool:
            return (
                f"{namespace} (declared for {TOOL_NAMES.get(owner, owner)}: crosses the boundary)"
            )
        return f"{namespace} (declared for {TOOL_NAMES.get(owner, owner)})"

    if not targets:
        where = declared(home)
        return f"A {name} object that deploys nothing itself; it lives in {where}."
    parts = [declared(ns) for ns in targets]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    fine = all(owners.get(ns) == tool for ns in targets)
    verdict = " — as the ownership boundaries expect." if fine else "."
    return f"{name} deploys this into {listed}{verdict}"
