"""The demo platform, analysed end to end: exactly the four planted violations, nothing else.

Inputs are built the way the poll will build them: every GitOps object normalized, its claims
from the record, labels from the object, plus the Deployments/StatefulSets and Namespaces.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from clusters.demo.scenario import build_platform
from clusters.ownership.analysis import OwnershipReport, analyse
from clusters.ownership.boundaries import default_boundaries
from clusters.ownership.inputs import Claim, GitOpsObject, Workload, claims_from_record
from clusters.ownership.scorecard import FAIL, PASS, UNKNOWN, Scorecard, build_scorecard
from clusters.status.normalize import normalize, split_api_version, tool_for_group

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Demo:
    def __init__(self, raw: list[dict[str, Any]]) -> None:
        self.objects: list[GitOpsObject] = []
        self.claims: list[Claim] = []
        self.workloads: list[Workload] = []
        self.namespaces: list[str] = []
        for obj in raw:
            kind = obj["kind"]
            if kind == "Namespace":
                self.namespaces.append(obj["metadata"]["name"])
            elif kind in ("Deployment", "StatefulSet"):
                self.workloads.append(Workload.from_manifest(obj))
            elif tool_for_group(split_api_version(obj["apiVersion"])[0]):
                record = normalize(obj)
                labels = obj["metadata"].get("labels") or {}
                self.objects.append(GitOpsObject.from_record(record, labels=labels))
                self.claims.extend(claims_from_record(record))


@pytest.fixture(scope="module")
def demo() -> Demo:
    return Demo(build_platform(NOW))


@pytest.fixture(scope="module")
def report(demo: Demo) -> OwnershipReport:
    return analyse(
        demo.objects,
        demo.claims,
        boundaries=default_boundaries(),
        workloads=demo.workloads,
        namespaces=demo.namespaces,
    )


@pytest.fixture(scope="module")
def scorecard(report: OwnershipReport, demo: Demo) -> Scorecard:
    # The demo serves no monitoring.coreos.com CRDs.
    return build_scorecard(report, demo.workloads, monitors=[], monitoring_installed=False)


def test_exactly_the_planted_violations(report: OwnershipReport) -> None:
    found = [
        (v.code, v.namespace, v.resource.key if v.resource else None, v.objects)
        for v in report.violations
    ]
    assert found == [
        (
            "TW002",
            "monitoring",
            "/ConfigMap:monitoring/grafana-dashboard-portfolio",
            ["HelmRelease/bigbang/monitoring", "Application/argocd/portfolio"],
        ),
        (
            "TW001",
            "istio-system",
            "networking.istio.io/VirtualService:istio-system/portfolio",
            ["Application/argocd/portfolio"],
        ),
        (
            "TW003",
            "",
            "rbac.authorization.k8s.io/ClusterRole:/data-platform-spark",
            ["Application/argocd/data-platform"],
        ),
        ("TW006", "sandbox", None, ["Application/argocd/sandbox-experiments"]),
    ]


def test_explanations_name_the_objects(report: OwnershipReport) -> None:
    assert [v.explanation for v in report.violations] == [
        "ConfigMap monitoring/grafana-dashboard-portfolio is claimed by Flux "
        "(HelmRelease bigbang/monitoring) and by Argo CD (Application argocd/portfolio): "
        "the two controllers will fight over it.",
        "Application argocd/portfolio (Argo CD) deploys VirtualService istio-system/portfolio "
        "into istio-system, a namespace declared for Flux.",
        "Application argocd/data-platform (Argo CD) manages the cluster-scoped ClusterRole "
        "data-platform-spark, but cluster-scoped resources are declared for Flux.",
        "No owner is declared for namespace sandbox, yet Argo CD "
        "(Application argocd/sandbox-experiments) deploys into it.",
    ]
    assert [v.severity for v in report.violations] == ["critical", "high", "high", "medium"]


@pytest.mark.parametrize(
    ("namespace", "declared", "deployed_by", "summary"),
    [
        (
            "gitlab",
            "flux",
            ["flux"],
            "Declared for Flux; deployed by Flux (HelmRelease bigbang/gitlab).",
        ),
        (
            "istio-system",
            "flux",
            ["flux", "argocd"],
            "Declared for Flux, but Argo CD also deploys here: Application argocd/portfolio.",
        ),
        (
            "argocd",
            "flux",
            ["flux"],
            "Declared for Flux; deployed by Flux (HelmRelease bigbang/argocd); Argo CD's home, "
            "where Application argocd/platform-apps and ApplicationSet argocd/demo-apps manage "
            "Argo CD's own objects.",
        ),
        (
            "portfolio",
            "argocd",
            ["argocd"],
            "Declared for Argo CD; deployed by Argo CD (Application argocd/portfolio).",
        ),
        (
            "sandbox",
            None,
            ["argocd"],
            "No owner declared; Argo CD deploys here (Application argocd/sandbox-experiments).",
        ),
        ("kube-system", None, [], "No owner declared; no GitOps tool deploys here."),
    ],
)
def test_namespace_rows(
    report: OwnershipReport,
    namespace: str,
    declared: str | None,
    deployed_by: list[str],
    summary: str,
) -> None:
    row = report.namespace(namespace)
    assert row is not None
    assert (row.declared_owner, row.deployed_by, row.summary) == (declared, deployed_by, summary)


def test_no_false_positives(report: OwnershipReport) -> None:
    flagged = {key for v in report.violations for key in v.objects}
    # platform-apps deploys Applications into argocd; the ApplicationSet generates them there.
    assert "Application/argocd/platform-apps" not in flagged
    assert "ApplicationSet/argocd/demo-apps" not in flagged
    # Big Bang's HelmReleases live in bigbang and deploy into their package namespaces: only
    # monitoring is named, for the contested ConfigMap.
    assert sorted(k for k in flagged if k.startswith("HelmRelease/")) == [
        "HelmRelease/bigbang/monitoring"
    ]
    bigbang = report.namespace("bigbang")
    argocd = report.namespace("argocd")
    assert bigbang is not None and bigbang.violations == []
    assert argocd is not None and argocd.violations == []
    assert argocd.exists and argocd.home_of == ["argocd"]


def test_argocd_is_deployed_by_flux(report: OwnershipReport) -> None:
    assert report.by_code("TW004") == [] and report.by_code("TW007") == []
    server = report.resource("apps/Deployment:argocd/argocd-server")
    assert server is not None
    (claimant,) = server.claimed_by
    assert claimant.lineage == [
        "HelmRelease/bigbang/argocd",
        "HelmRelease/bigbang/bigbang",
        "Kustomization/bigbang/environment",
        "Kustomization/flux-system/flux-system",
        "GitRepository/flux-system/flux-system",
    ]
    chain = {link.key: link.relation for link in claimant.chain}
    assert chain["GitRepository/bigbang/bigbang"] == "source"
    assert chain["HelmChart/bigbang/bigbang-argocd"] == "helmchart"


def test_cross_tool_chain_of_an_application_resource(report: OwnershipReport) -> None:
    resource = report.resource("networking.istio.io/VirtualService:istio-system/portfolio")
    assert resource is not None
    assert resource.violations == ["TW001:istio-system:argocd"]
    (claimant,) = resource.claimed_by
    assert claimant.lineage[:3] == [
        "Application/argocd/portfolio",
        "Application/argocd/platform-apps",
        "HelmRelease/bigbang/argocd",
    ]


def test_report_serialises(report: OwnershipReport) -> None:
    data = json.loads(json.dumps(report.to_dict()))
    assert data["counts"] == {"critical": 1, "high": 2, "medium": 1, "low": 0}
    assert len(data["resources"]) == len(report.resources) > 100


def test_scorecard(scorecard: Scorecard) -> None:
    assert [(r.id, r.state) for r in scorecard.rows] == [
        ("flux-controllers", PASS),
        ("argocd-controllers", PASS),
        ("no-conflicts", FAIL),
        ("shared-resources", FAIL),
        ("platform-namespaces", FAIL),
        ("application-namespaces", PASS),
        ("prometheus-monitoring", UNKNOWN),
    ]
    assert (scorecard.passed, scorecard.failed, scorecard.unknown) == (3, 3, 1)
    shared = scorecard.row("shared-resources")
    assert shared is not None and shared.evidence == (
        "Found 1 cluster-scoped resource managed by Argo CD (ClusterRole data-platform-spark by "
        "Application argocd/data-platform)."
    )
    platform = scorecard.row("platform-namespaces")
    assert platform is not None
    assert "gitlab has Degraded HelmRelease bigbang/gitlab" in platform.evidence
    assert "istio-system is also deployed by Argo CD" in platform.evidence


def test_contested_only_keeps_what_the_poller_persists(report: OwnershipReport, demo: Demo) -> None:
    """The poller asks for contested resources only: the same violations, fewer resources."""
    lean = analyse(
        demo.objects,
        demo.claims,
        boundaries=default_boundaries(),
        workloads=demo.workloads,
        namespaces=demo.namespaces,
        contested_only=True,
    )
    assert [v.id for v in lean.violations] == [v.id for v in report.violations]
    contested = [r.key for r in report.resources if len(r.claimed_by) > 1 or r.violations]
    assert [r.key for r in lean.resources] == contested
    assert len(lean.resources) < len(report.resources)
    assert set(lean.chains) < set(report.chains)
