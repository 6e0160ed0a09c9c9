"""Builders for ownership tests: a small cluster described in a few readable lines.

Resources are written ``"[group/]Kind [namespace/]name"``: ``"apps/Deployment web/api"``,
``"ConfigMap monitoring/dash"``, ``"rbac.authorization.k8s.io/ClusterRole admin"`` (no namespace:
cluster-scoped).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from clusters.ownership.analysis import OwnershipReport, analyse
from clusters.ownership.boundaries import Boundaries
from clusters.ownership.inputs import Claim, GitOpsObject, Workload, object_key
from clusters.status.record import Condition, DependencyRef

FLUX_GROUPS = {
    "Kustomization": "kustomize.toolkit.fluxcd.io",
    "HelmRelease": "helm.toolkit.fluxcd.io",
    "GitRepository": "source.toolkit.fluxcd.io",
    "HelmChart": "source.toolkit.fluxcd.io",
}


def parse_resource(text: str) -> tuple[str, str, str, str]:
    """ "apps/Deployment web/api" -> ("apps", "Deployment", "web", "api")."""
    group_kind, ref = text.split()
    group, _, kind = group_kind.rpartition("/")
    namespace, _, name = ref.rpartition("/")
    return group, kind, namespace, name


def dep(relation: str, key: str) -> DependencyRef:
    kind, namespace, name = key.split("/")
    return DependencyRef(relation, kind, namespace, name, FLUX_GROUPS.get(kind, "argoproj.io"))


@dataclass
class World:
    objects: list[GitOpsObject] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)

    def add(
        self,
        tool: str,
        kind: str,
        namespace: str,
        name: str,
        *resources: str,
        targets: tuple[str, ...] | None = None,
        group: str = "",
        status: str = "Healthy",
        deps: tuple[DependencyRef, ...] = (),
        labels: dict[str, str] | None = None,
        conditions: tuple[Condition, ...] = (),
    ) -> str:
        key = object_key(kind, namespace, name)
        parsed = [parse_resource(r) for r in resources]
        for g, k, ns, n in parsed:
            self.claims.append(Claim(key, g, k, ns, n, sync="Synced"))
        if targets is None:
            # What the normalizers do: where the claims land (home namespace as a fallback).
            targets = tuple(sorted({ns for _, _, ns, _ in parsed if ns})) or (namespace,)
        self.objects.append(
            GitOpsObject(
                tool=tool,
                group=group or FLUX_GROUPS.get(kind, "argoproj.io"),
                kind=kind,
                namespace=namespace,
                name=name,
                status=status,
                target_namespaces=list(targets),
                dependencies=list(deps),
                labels=dict(labels or {}),
                conditions=list(conditions),
            )
        )
        return key

    def ks(self, namespace: str, name: str, *resources: str, **kw) -> str:
        return self.add("flux", "Kustomization", namespace, name, *resources, **kw)

    def hr(self, name: str, target: str, *resources: str, **kw) -> str:
        """A Big Bang style HelmRelease: lives in bigbang, deploys into ``target``."""
        kw.setdefault("targets", (target,))
        return self.add("flux", "HelmRelease", "bigbang", name, *resources, **kw)

    def app(self, name: str, destination: str, *resources: str, **kw) -> str:
        """An Argo CD Application in argocd: targets its destination plus its resources."""
        namespaces = {destination} | {parse_resource(r)[2] for r in resources}
        kw.setdefault("targets", tuple(sorted(ns for ns in namespaces if ns)))
        return self.add("argocd", "Application", "argocd", name, *resources, **kw)

    def workload(
        self,
        namespace: str,
        name: str,
        *,
        kind: str = "Deployment",
        ready: int = 1,
        desired: int = 1,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> Workload:
        w = Workload(
            kind,
            namespace,
            name,
            labels=dict(labels or {}),
            annotations=dict(annotations or {}),
            ready=ready,
            desired=desired,
        )
        self.workloads.append(w)
        return w

    def analyse(
        self, boundaries: Boundaries | None = None, workloads: bool = True, **kw
    ) -> OwnershipReport:
        return analyse(
            self.objects,
            self.claims,
            boundaries=boundaries,
            workloads=self.workloads if workloads else None,
            namespaces=self.namespaces,
            **kw,
        )

    def argocd_by_flux(self) -> World:
        """Argo CD installed the ADR way (Flux HelmRelease bigbang/argocd), so TW004/TW007 stay
        quiet in tests about other rules."""
        self.hr("argocd", "argocd", "apps/Deployment argocd/argocd-server")
        self.workload("argocd", "argocd-server")
        return self
