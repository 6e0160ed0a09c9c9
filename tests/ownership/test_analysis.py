"""Each ADR-003 rule, violating and allowed, on small hand-built clusters."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from clusters.ownership.analysis import summary
from clusters.ownership.boundaries import load_boundaries
from clusters.ownership.chains import MAX_DEPTH, MAX_LINKS
from clusters.ownership.facts import Deployer
from clusters.ownership.inputs import Claim, GitOpsObject, SharedResourceWarning
from clusters.status.record import Condition
from tests.ownership import World, dep

Build = Callable[[World], object]


def codes(world: World, **kw) -> list[tuple[str, str]]:
    """(code, namespace-or-resource) of every violation, the shape the tables compare."""
    report = world.analyse(**kw)
    return sorted(
        (v.code, v.resource.key if v.resource else v.namespace) for v in report.violations
    )


# -- TW001 cross-boundary ------------------------------------------------------------------------

TW001_CASES: list[tuple[str, Build, list[tuple[str, str]]]] = [
    (
        "argo deploys a Deployment into a flux namespace",
        lambda w: w.app("shop", "shop", "apps/Deployment monitoring/exporter"),
        [("TW001", "apps/Deployment:monitoring/exporter"), ("TW006", "shop")],
    ),
    (
        "argo destination is a flux namespace, nothing synced yet",
        lambda w: w.app("shop", "istio-system"),
        [("TW001", "istio-system")],
    ),
    (
        "flux deploys into an argo namespace",
        lambda w: w.ks("flux-system", "apps", "ConfigMap portfolio/settings"),
        [("TW001", "/ConfigMap:portfolio/settings")],
    ),
    (
        "flux HelmRelease targets an argo namespace",
        lambda w: w.hr("podinfo", "demo-apps"),
        [("TW001", "demo-apps")],
    ),
    (
        "argo deploys into its own namespace: allowed",
        lambda w: w.app("portfolio", "portfolio", "apps/Deployment portfolio/api"),
        [],
    ),
    (
        "app-of-apps deploys Applications into argocd: allowed",
        lambda w: w.app(
            "root", "argocd", "argoproj.io/Application argocd/a", "argoproj.io/Application argocd/b"
        ),
        [],
    ),
    (
        "AppProjects and ApplicationSets into argocd: allowed",
        lambda w: w.app(
            "root",
            "argocd",
            "argoproj.io/AppProject argocd/team",
            "argoproj.io/ApplicationSet argocd/envs",
        ),
        [],
    ),
    (
        "argo Application pointed at argocd with nothing synced: allowed (home)",
        lambda w: w.app("root", "argocd"),
        [],
    ),
    (
        "argo deploys a Deployment into argocd: violation",
        lambda w: w.app("root", "argocd", "apps/Deployment argocd/argocd-extra"),
        [("TW001", "apps/Deployment:argocd/argocd-extra")],
    ),
    (
        "argo Rollout into argocd is a workload, not a home kind",
        lambda w: w.app("root", "argocd", "argoproj.io/Rollout argocd/canary"),
        [("TW001", "argoproj.io/Rollout:argocd/canary")],
    ),
    (
        "app-of-apps mixing Applications and a Secret into argocd",
        lambda w: w.app("root", "argocd", "argoproj.io/Application argocd/a", "Secret argocd/repo"),
        [("TW001", "/Secret:argocd/repo")],
    ),
    (
        "flux renders Argo CD's Applications into argocd: allowed (declared for flux)",
        lambda w: w.hr("argocd-apps", "argocd", "argoproj.io/Application argocd/root"),
        [],
    ),
    (
        "Big Bang HelmRelease lives in bigbang, deploys into its package namespace",
        lambda w: w.hr("istiod", "istio-system", "apps/Deployment istio-system/istiod"),
        [],
    ),
    (
        "a namespace object is cluster-scoped, not a deployment into the namespace",
        lambda w: w.ks("flux-system", "tenants", "Namespace portfolio"),
        [],
    ),
]


@pytest.mark.parametrize(
    ("build", "expected"),
    [(b, e) for _, b, e in TW001_CASES],
    ids=[c[0] for c in TW001_CASES],
)
def test_cross_boundary(build: Build, expected: list[tuple[str, str]]) -> None:
    world = World().argocd_by_flux()
    build(world)
    assert codes(world) == expected


def test_cross_boundary_is_one_violation_per_namespace_and_tool() -> None:
    world = World().argocd_by_flux()
    world.app("a", "a", "apps/Deployment monitoring/x", "Service monitoring/x")
    world.app("b", "istio-system")
    world.app("c", "c", "ConfigMap monitoring/y")
    boundaries = load_boundaries(
        "flux: {namespaces: [monitoring, istio-system, argocd]}\nargocd: {namespaces: [a, c]}"
    )
    tw001 = world.analyse(boundaries=boundaries).by_code("TW001")
    assert [v.id for v in tw001] == ["TW001:istio-system:argocd", "TW001:monitoring:argocd"]
    monitoring = tw001[1]
    assert monitoring.objects == ["Application/argocd/a", "Application/argocd/c"]
    assert monitoring.resource is None  # several resources: see .resources
    assert monitoring.resources == [
        "/ConfigMap:monitoring/y",
        "/Service:monitoring/x",
        "apps/Deployment:monitoring/x",
    ]
    assert monitoring.explanation == (
        "Argo CD deploys into monitoring, a namespace declared for Flux: "
        "Application argocd/a (2 resources), Application argocd/c (ConfigMap monitoring/y)."
    )
    assert tw001[0].explanation == (
        "Application argocd/b (Argo CD) targets istio-system, a namespace declared for Flux."
    )
    assert tw001[0].evidence == ["Application argocd/b targets namespace istio-system"]


def test_contested_resource_is_not_also_a_cross_boundary_violation() -> None:
    world = World().argocd_by_flux()
    world.hr("monitoring", "monitoring", "ConfigMap monitoring/dash")
    world.app("shop", "portfolio", "ConfigMap monitoring/dash", "apps/Deployment portfolio/api")
    assert codes(world) == [("TW002", "/ConfigMap:monitoring/dash")]


# -- TW002 contested -----------------------------------------------------------------------------


def test_contested_across_tools_is_critical() -> None:
    world = World().argocd_by_flux()
    world.hr("monitoring", "monitoring", "ConfigMap monitoring/dash")
    world.app("portfolio", "portfolio", "ConfigMap monitoring/dash")
    (violation,) = world.analyse().violations
    assert violation.code == "TW002"
    assert violation.severity == "critical"
    assert violation.namespace == "monitoring"
    assert violation.objects == ["HelmRelease/bigbang/monitoring", "Application/argocd/portfolio"]
    assert violation.explanation == (
        "ConfigMap monitoring/dash is claimed by Flux (HelmRelease bigbang/monitoring) and by "
        "Argo CD (Application argocd/portfolio): the two controllers will fight over it."
    )
    assert violation.id == "TW002:/ConfigMap:monitoring/dash"


def test_contested_and_doubled_within_argo_gives_both_codes() -> None:
    world = World().argocd_by_flux()
    world.ks("flux-system", "infra", "ConfigMap portfolio/shared")
    world.app("a", "portfolio", "ConfigMap portfolio/shared")
    world.app("b", "portfolio", "ConfigMap portfolio/shared")
    assert codes(world) == [
        ("TW002", "/ConfigMap:portfolio/shared"),
        ("TW005", "/ConfigMap:portfolio/shared"),
    ]


# -- TW003 cluster-scoped ------------------------------------------------------------------------

CLUSTER_ROLE = "rbac.authorization.k8s.io/ClusterRole spark"
TW003_CASES = [
    ("argo manages a ClusterRole", "argocd", "clusterScoped: flux", [("TW003", CLUSTER_ROLE)]),
    ("flux manages a ClusterRole", "flux", "clusterScoped: flux", []),
    ("nobody declared cluster-scoped", "argocd", "clusterScoped: null", []),
    (
        "cluster-scoped declared for argocd",
        "flux",
        "clusterScoped: argocd",
        [("TW003", CLUSTER_ROLE)],
    ),
]


@pytest.mark.parametrize(
    ("tool", "declaration", "expected"),
    [c[1:] for c in TW003_CASES],
    ids=[c[0] for c in TW003_CASES],
)
def test_cluster_scoped(tool: str, declaration: str, expected: list[tuple[str, str]]) -> None:
    world = World()
    if tool == "argocd":
        world.app("data", "data", "rbac.authorization.k8s.io/ClusterRole spark")
    else:
        world.ks("flux-system", "infra", "rbac.authorization.k8s.io/ClusterRole spark")
    boundaries = load_boundaries(
        f"{declaration}\nflux: {{namespaces: [flux-system]}}\nargocd: {{namespaces: [data]}}"
    )
    found = codes(world, boundaries=boundaries)
    # No Argo CD workloads in this world: TW007 says so; it is not what this test is about.
    assert [c for c in found if c[0] != "TW007"] == [
        (code, "rbac.authorization.k8s.io/ClusterRole:/spark") for code, _ in expected
    ]


def test_cluster_scoped_explanation_names_the_application() -> None:
    world = World().argocd_by_flux()
    world.app("data-platform", "data-platform", "rbac.authorization.k8s.io/ClusterRole spark")
    (violation,) = world.analyse().violations
    assert violation.explanation == (
        "Application argocd/data-platform (Argo CD) manages the cluster-scoped ClusterRole spark, "
        "but cluster-scoped resources are declared for Flux."
    )
    assert violation.namespace == ""
    assert violation.resource is not None and violation.resource.namespace == ""


# -- TW004 / TW007 Argo CD deployed by Flux ------------------------------------------------------

FLUX_LABELS = {
    "helm.toolkit.fluxcd.io/name": "argocd",
    "helm.toolkit.fluxcd.io/namespace": "bigbang",
}


def _argo_installed_by_hand(w: World) -> None:
    w.app("guestbook", "portfolio")
    w.workload("argocd", "argocd-server")
    w.workload("argocd", "argocd-application-controller", kind="StatefulSet")


def _argo_self_managed(w: World) -> None:
    w.app("argocd", "argocd", "apps/Deployment argocd/argocd-server")
    w.workload("argocd", "argocd-server")


def _argo_by_flux_inventory(w: World) -> None:
    w.hr("argocd", "argocd", "apps/Deployment argocd/argocd-server")
    w.workload("argocd", "argocd-server")


def _argo_by_flux_labels(w: World) -> None:
    w.app("guestbook", "portfolio")
    w.workload("argocd", "argocd-server", labels=FLUX_LABELS)


def _argo_part_of_label(w: World) -> None:
    w.app("guestbook", "portfolio")
    w.workload("argocd", "redis-ha", labels={"app.kubernetes.io/part-of": "argocd"})


def _argo_objects_no_workloads(w: World) -> None:
    w.app("guestbook", "portfolio")
    w.workload("other", "argocd-server")  # not in the install namespace


def _no_argo_at_all(w: World) -> None:
    w.ks("flux-system", "infra", "ConfigMap flux-system/x")


TW004_CASES = [
    ("installed by hand", _argo_installed_by_hand, [("TW004", "argocd")]),
    # Also TW001: an Argo CD Deployment synced into argocd crosses the boundary as well.
    (
        "Argo CD manages itself",
        _argo_self_managed,
        [("TW001", "apps/Deployment:argocd/argocd-server"), ("TW004", "argocd")],
    ),
    ("in a Flux inventory", _argo_by_flux_inventory, []),
    ("carries Flux owner labels", _argo_by_flux_labels, []),
    ("part-of=argocd label counts as Argo CD", _argo_part_of_label, [("TW004", "argocd")]),
    ("Argo CD objects, no workloads found", _argo_objects_no_workloads, [("TW007", "argocd")]),
    ("no Argo CD on the cluster", _no_argo_at_all, []),
]


@pytest.mark.parametrize(
    ("build", "expected"), [c[1:] for c in TW004_CASES], ids=[c[0] for c in TW004_CASES]
)
def test_argocd_deployed_by_flux(build: Build, expected: list[tuple[str, str]]) -> None:
    world = World()
    build(world)
    assert codes(world) == expected


def test_argocd_install_evidence_names_each_workload() -> None:
    world = World()
    _argo_self_managed(world)
    world.workload("argocd", "argocd-repo-server")
    (violation,) = world.analyse().by_code("TW004")
    assert violation.explanation == (
        "Argo CD's Deployment argocd-server and Deployment argocd-repo-server in argocd are not "
        "deployed by Flux (no Flux inventory lists them and they carry no Flux owner labels)."
    )
    assert violation.evidence == [
        "Deployment argocd/argocd-server is managed by Application argocd/argocd, not by a Flux "
        "object",
        "Deployment argocd/argocd-repo-server is listed by no GitOps object and has no Flux owner "
        "labels",
    ]
    assert violation.objects == ["Application/argocd/argocd"]


def test_workloads_not_collected_is_cannot_tell() -> None:
    world = World()
    world.app("guestbook", "portfolio")
    (violation,) = world.analyse(workloads=False).violations
    assert (violation.code, violation.severity) == ("TW007", "low")
    assert violation.explanation == (
        "Cannot tell whether Flux deploys Argo CD: workloads were not collected."
    )


def test_existing_argocd_namespace_without_argo_objects_is_cannot_tell() -> None:
    world = World()
    world.namespaces = ["argocd"]
    assert codes(world) == [("TW007", "argocd")]


# -- TW005 duplicate claims ----------------------------------------------------------------------

TW005_CASES = [
    (
        "two Kustomizations",
        lambda w: (
            w.ks("flux-system", "a", "ConfigMap monitoring/x"),
            w.ks("flux-system", "b", "ConfigMap monitoring/x"),
        ),
        "Flux",
    ),
    (
        "a Kustomization and a HelmRelease",
        lambda w: (
            w.ks("flux-system", "a", "ConfigMap monitoring/x"),
            w.hr("monitoring", "monitoring", "ConfigMap monitoring/x"),
        ),
        "Flux",
    ),
    (
        "two Applications",
        lambda w: (
            w.app("a", "portfolio", "ConfigMap portfolio/x"),
            w.app("b", "portfolio", "ConfigMap portfolio/x"),
        ),
        "Argo CD",
    ),
]


@pytest.mark.parametrize(
    ("build", "tool"), [c[1:] for c in TW005_CASES], ids=[c[0] for c in TW005_CASES]
)
def test_duplicate_claims(build: Build, tool: str) -> None:
    world = World().argocd_by_flux()
    build(world)
    (violation,) = world.analyse().violations
    assert violation.code == "TW005"
    assert f"is claimed by 2 {tool} objects" in violation.explanation
    assert len(violation.objects) == 2


def test_one_object_listing_a_resource_twice_is_not_a_duplicate() -> None:
    world = World().argocd_by_flux()
    key = world.ks("flux-system", "a", "ConfigMap monitoring/x")
    world.claims.append(world.claims[-1])
    assert key and codes(world) == []


SHARED = "ConfigMap/x is part of applications argocd/a and b"


def test_shared_resource_warning_condition_merges_into_the_claim_violation() -> None:
    world = World().argocd_by_flux()
    world.app(
        "a",
        "portfolio",
        "ConfigMap portfolio/x",
        conditions=(Condition("SharedResourceWarning", "True", message=SHARED),),
    )
    world.app("b", "portfolio", "ConfigMap portfolio/x")
    (violation,) = world.analyse().violations
    assert violation.code == "TW005"
    assert violation.evidence[-1] == f"Application argocd/a reports SharedResourceWarning: {SHARED}"


def test_shared_resource_warning_alone_still_reports() -> None:
    # b's status.resources no longer lists x (Argo CD only warns), so claims show no duplicate.
    world = World().argocd_by_flux()
    world.app("a", "portfolio", "ConfigMap portfolio/x")
    world.app("b", "portfolio")
    report = world.analyse(warnings=[SharedResourceWarning("Application/argocd/a", SHARED)])
    (violation,) = report.violations
    assert violation.code == "TW005"
    assert violation.resource is not None and violation.resource.key == "/ConfigMap:portfolio/x"
    assert violation.objects == ["Application/argocd/a", "Application/argocd/b"]


def test_unparsable_shared_resource_warning_is_kept() -> None:
    world = World().argocd_by_flux()
    world.app("a", "portfolio")
    report = world.analyse(warnings=[SharedResourceWarning("Application/argocd/a", "odd text")])
    (violation,) = report.violations
    assert (violation.code, violation.resource, violation.objects) == (
        "TW005",
        None,
        ["Application/argocd/a"],
    )
    assert violation.id == "TW005:Application/argocd/a"


# -- TW006 undeclared ----------------------------------------------------------------------------


def test_undeclared_namespace_with_deployments() -> None:
    world = World().argocd_by_flux()
    world.app("sandbox-experiments", "sandbox", "apps/Deployment sandbox/llm")
    world.namespaces = ["sandbox", "kube-system"]
    report = world.analyse()
    (violation,) = report.violations
    assert (violation.code, violation.namespace, violation.severity) == (
        "TW006",
        "sandbox",
        "medium",
    )
    assert violation.explanation == (
        "No owner is declared for namespace sandbox, yet Argo CD "
        "(Application argocd/sandbox-experiments) deploys into it."
    )
    # kube-system exists but nothing GitOps deploys there: no violation.
    kube = report.namespace("kube-system")
    assert kube is not None and kube.violations == []


def test_glob_declared_namespace_is_not_undeclared() -> None:
    world = World().argocd_by_flux()
    world.app("team", "team-blue", "apps/Deployment team-blue/api")
    boundaries = load_boundaries(
        "flux: {namespaces: [argocd]}\nargocd: {namespaces: ['team-*'], home: [argocd]}"
    )
    assert codes(world, boundaries=boundaries) == []


# -- namespaces and summaries --------------------------------------------------------------------


def _deployer(key: str, tool: str, home_only: bool = False) -> Deployer:
    kind, namespace, name = key.split("/")
    return Deployer(key, tool, kind, namespace, name, "Healthy", home_only=home_only)


GITLAB = _deployer("HelmRelease/bigbang/gitlab", "flux")
PORTFOLIO = _deployer("Application/argocd/portfolio", "argocd")
TENANTS = _deployer("Kustomization/flux-system/tenants", "flux")
SANDBOX = _deployer("Application/argocd/sandbox-experiments", "argocd")
ROOT = _deployer("Application/argocd/platform-apps", "argocd", home_only=True)

SUMMARY_CASES = [
    (
        "flux",
        [GITLAB],
        [],
        "Declared for Flux; deployed by Flux (HelmRelease bigbang/gitlab).",
    ),
    (
        "argocd",
        [PORTFOLIO, TENANTS],
        [],
        "Declared for Argo CD, but Flux also deploys here: Kustomization flux-system/tenants.",
    ),
    (
        "argocd",
        [TENANTS],
        [],
        "Declared for Argo CD, but Flux deploys here: Kustomization flux-system/tenants.",
    ),
    (
        None,
        [SANDBOX],
        [],
        "No owner declared; Argo CD deploys here (Application argocd/sandbox-experiments).",
    ),
    (
        None,
        [SANDBOX, TENANTS],
        [],
        "No owner declared; Flux and Argo CD deploy here "
        "(Application argocd/sandbox-experiments and Kustomization flux-system/tenants).",
    ),
    (None, [], [], "No owner declared; no GitOps tool deploys here."),
    ("flux", [], [], "Declared for Flux; no GitOps tool deploys here."),
    (
        "flux",
        [GITLAB, ROOT],
        ["argocd"],
        "Declared for Flux; deployed by Flux (HelmRelease bigbang/gitlab); Argo CD's home, "
        "where Application argocd/platform-apps manages Argo CD's own objects.",
    ),
]


@pytest.mark.parametrize(("declared", "deployers", "home_of", "expected"), SUMMARY_CASES)
def test_summary(
    declared: str | None, deployers: list[Deployer], home_of: list[str], expected: str
) -> None:
    assert summary(declared, deployers, home_of) == expected


def test_namespace_rows_count_targets_not_homes() -> None:
    world = World().argocd_by_flux()
    world.hr("gitlab", "gitlab", "apps/Deployment gitlab/webservice")
    world.app("root", "argocd", "argoproj.io/Application argocd/portfolio")
    world.app("portfolio", "portfolio", "apps/Deployment portfolio/api")
    world.namespaces = ["argocd", "bigbang", "gitlab", "portfolio"]
    report = world.analyse()
    bigbang = report.namespace("bigbang")
    assert bigbang is not None
    # Two HelmReleases live in bigbang; neither deploys there.
    assert (bigbang.deployed_by, bigbang.deployers) == ([], [])
    assert [r.key for r in bigbang.residents] == [
        "HelmRelease/bigbang/argocd",
        "HelmRelease/bigbang/gitlab",
    ]
    argocd = report.namespace("argocd")
    assert argocd is not None
    assert argocd.declared_owner == "flux"
    assert argocd.home_of == ["argocd"]
    assert argocd.deployed_by == ["flux"]
    assert [(d.key, d.home_only) for d in argocd.deployers] == [
        ("Application/argocd/root", True),
        ("HelmRelease/bigbang/argocd", False),
    ]
    gitlab = report.namespace("gitlab")
    assert gitlab is not None
    assert gitlab.summary == "Declared for Flux; deployed by Flux (HelmRelease bigbang/gitlab)."


def test_report_is_json_serialisable() -> None:
    world = World().argocd_by_flux()
    world.hr("monitoring", "monitoring", "ConfigMap monitoring/dash")
    world.app("portfolio", "portfolio", "ConfigMap monitoring/dash")
    data = json.loads(json.dumps(world.analyse().to_dict()))
    assert data["counts"] == {"critical": 1, "high": 0, "medium": 0, "low": 0}
    assert data["violations"][0]["id"] == "TW002:/ConfigMap:monitoring/dash"
    resource = next(r for r in data["resources"] if r["key"] == "/ConfigMap:monitoring/dash")
    assert resource["tools"] == ["flux", "argocd"]
    assert resource["violations"] == ["TW002:/ConfigMap:monitoring/dash"]
    assert set(data["chains"]) >= {"HelmRelease/bigbang/monitoring", "Application/argocd/portfolio"}


def test_objects_of_no_tool_and_dangling_claims_are_ignored() -> None:
    world = World().argocd_by_flux()
    world.add("", "Widget", "x", "y", "ConfigMap portfolio/x")
    world.claims.append(Claim("Kustomization/flux-system/gone", "", "ConfigMap", "portfolio", "x"))
    assert codes(world) == []


def test_dependency_dicts_from_the_store_are_accepted() -> None:
    row = {
        "tool": "flux",
        "group": "kustomize.toolkit.fluxcd.io",
        "kind": "Kustomization",
        "namespace": "flux-system",
        "name": "child",
        "dependencies": [
            {
                "relation": "parent",
                "kind": "Kustomization",
                "namespace": "flux-system",
                "name": "root",
                "group": "kustomize.toolkit.fluxcd.io",
            }
        ],
        "conditions": [{"type": "Ready", "status": "True"}],
    }
    obj = GitOpsObject(**row)
    assert obj.up_edges() == [dep("parent", "Kustomization/flux-system/root")]
    assert obj.conditions[0].type == "Ready"


# -- chains ---------------------------------------------------------------------------------------

ARGOCD_HR = "HelmRelease/bigbang/argocd"
BIGBANG_HR = "HelmRelease/bigbang/bigbang"
BIGBANG_LABELS = {
    "helm.toolkit.fluxcd.io/name": "bigbang",
    "helm.toolkit.fluxcd.io/namespace": "bigbang",
}


def _big_bang(w: World) -> None:
    """argocd's Deployment <- HelmRelease argocd <- HelmRelease bigbang <- GitRepository bigbang;
    the package's parent comes from its labels only."""
    w.add("flux", "GitRepository", "bigbang", "bigbang")
    w.add("flux", "GitRepository", "bigbang", "argocd")
    w.hr("bigbang", "bigbang", deps=(dep("source", "GitRepository/bigbang/bigbang"),))
    w.hr(
        "argocd",
        "argocd",
        "apps/Deployment argocd/argocd-server",
        deps=(
            dep("source", "GitRepository/bigbang/argocd"),
            dep("helmchart", "HelmChart/bigbang/bigbang-argocd"),
        ),
        labels=BIGBANG_LABELS,
    )


def _cycle(w: World) -> None:
    w.ks(
        "flux-system",
        "a",
        "ConfigMap flux-system/x",
        deps=(dep("parent", "Kustomization/flux-system/b"),),
    )
    w.ks("flux-system", "b", deps=(dep("parent", "Kustomization/flux-system/a"),))


def _self_parent(w: World) -> None:
    # The Flux bootstrap Kustomization carries owner labels naming itself.
    w.ks(
        "flux-system",
        "flux-system",
        "ConfigMap flux-system/x",
        deps=(
            dep("source", "GitRepository/flux-system/flux-system"),
            dep("parent", "Kustomization/flux-system/flux-system"),
        ),
    )
    w.add("flux", "GitRepository", "flux-system", "flux-system")


def _app_of_apps(w: World) -> None:
    w.hr("argocd", "argocd", "argoproj.io/Application argocd/root")
    w.app(
        "root",
        "argocd",
        "argoproj.io/Application argocd/shop",
        labels={
            "helm.toolkit.fluxcd.io/name": "argocd",
            "helm.toolkit.fluxcd.io/namespace": "bigbang",
        },
    )
    w.app(
        "shop",
        "portfolio",
        "apps/Deployment portfolio/api",
        deps=(dep("parent", "Application/argocd/root"),),
    )


CHAIN_CASES = [
    (
        "Big Bang package",
        _big_bang,
        "apps/Deployment:argocd/argocd-server",
        [
            (ARGOCD_HR, "claims", None, True),
            (BIGBANG_HR, "parent", ARGOCD_HR, True),
            ("HelmChart/bigbang/bigbang-argocd", "helmchart", ARGOCD_HR, False),
            ("GitRepository/bigbang/argocd", "source", ARGOCD_HR, True),
            ("GitRepository/bigbang/bigbang", "source", BIGBANG_HR, True),
        ],
        [ARGOCD_HR, BIGBANG_HR, "GitRepository/bigbang/bigbang"],
    ),
    (
        "cycle",
        _cycle,
        "/ConfigMap:flux-system/x",
        [
            ("Kustomization/flux-system/a", "claims", None, True),
            ("Kustomization/flux-system/b", "parent", "Kustomization/flux-system/a", True),
        ],
        ["Kustomization/flux-system/a", "Kustomization/flux-system/b"],
    ),
    (
        "self parent",
        _self_parent,
        "/ConfigMap:flux-system/x",
        [
            ("Kustomization/flux-system/flux-system", "claims", None, True),
            (
                "GitRepository/flux-system/flux-system",
                "source",
                "Kustomization/flux-system/flux-system",
                True,
            ),
        ],
        ["Kustomization/flux-system/flux-system", "GitRepository/flux-system/flux-system"],
    ),
    (
        "app-of-apps rendered by Flux",
        _app_of_apps,
        "apps/Deployment:portfolio/api",
        [
            ("Application/argocd/shop", "claims", None, True),
            ("Application/argocd/root", "parent", "Application/argocd/shop", True),
            (ARGOCD_HR, "parent", "Application/argocd/root", True),
        ],
        ["Application/argocd/shop", "Application/argocd/root", ARGOCD_HR],
    ),
]


@pytest.mark.parametrize(
    ("build", "resource", "chain", "lineage"),
    [c[1:] for c in CHAIN_CASES],
    ids=[c[0] for c in CHAIN_CASES],
)
def test_chains(
    build: Build,
    resource: str,
    chain: list[tuple[str, str, str | None, bool]],
    lineage: list[str],
) -> None:
    world = World()
    build(world)
    found = world.analyse().resource(resource)
    assert found is not None
    (claimant,) = found.claimed_by
    assert [(link.key, link.relation, link.below, link.present) for link in claimant.chain] == chain
    assert claimant.lineage == lineage


def test_chain_is_bounded() -> None:
    world = World()
    for i in range(100):
        world.ks(
            "flux-system", f"k{i}", deps=(dep("parent", f"Kustomization/flux-system/k{i + 1}"),)
        )
    world.claims.append(Claim("Kustomization/flux-system/k0", "", "ConfigMap", "flux-system", "x"))
    report = world.analyse()
    (claimant,) = report.resources[0].claimed_by
    assert len(claimant.chain) <= MAX_LINKS
    assert max(link.depth for link in claimant.chain) <= MAX_DEPTH
    assert len(claimant.lineage) <= MAX_DEPTH


def test_undeclared_home_namespace_only_holding_home_kinds_is_fine() -> None:
    world = World()
    world.app("root", "argocd", "argoproj.io/Application argocd/portfolio")
    world.workload("argocd", "argocd-server", labels=FLUX_LABELS)
    boundaries = load_boundaries("argocd: {home: [argocd], namespaces: [portfolio]}")
    report = world.analyse(boundaries=boundaries)
    assert report.violations == []
    argocd = report.namespace("argocd")
    assert argocd is not None
    assert argocd.summary == (
        "No owner declared; no GitOps tool deploys here; Argo CD's home, where "
        "Application argocd/root manages Argo CD's own objects."
    )


# -- resources named only by their namespace's violation: counted, a sample listed -------------


def _nothing_declared_both_tools_everywhere(world: World, resources: int) -> None:
    """The shape of a cluster where nothing is declared: both tools deploy ``resources``
    ConfigMaps each into ``shared`` (TW006), plus one ConfigMap both claim (TW002)."""
    world.ks("shared", "flux-apps", *(f"ConfigMap shared/flux-{i:03}" for i in range(resources)))
    world.app("argo-apps", "shared", *(f"ConfigMap shared/argo-{i:03}" for i in range(resources)))
    world.ks("shared", "flux-both", "ConfigMap shared/both")
    world.app("argo-both", "shared", "ConfigMap shared/both")


@pytest.mark.parametrize(
    ("sample", "listed"),
    [(None, 120), (0, 0), (5, 5), (20, 20), (500, 120)],
)
def test_namespace_wide_resources_are_counted_and_only_a_sample_listed(
    sample: int | None, listed: int
) -> None:
    world = World().argocd_by_flux()
    _nothing_declared_both_tools_everywhere(world, 60)
    report = world.analyse(contested_only=True, namespace_sample=sample)
    assert [v.code for v in report.violations if v.namespace == "shared"] == ["TW002", "TW006"]

    shared = report.namespace("shared")
    assert shared is not None
    assert (shared.violation_resources, shared.violation_resources_listed) == (120, listed)
    keys = [r.key for r in report.resources if r.namespace == "shared"]
    # The resource both tools claim is always listed, with both claims and their chains.
    assert "/ConfigMap:shared/both" in keys
    assert len(keys) == listed + 1
    both = report.resource("/ConfigMap:shared/both")
    assert both is not None and {c.tool for c in both.claimed_by} == {"flux", "argocd"}
    assert set(report.chains) == {c.key for r in report.resources for c in r.claimed_by}
    # The violation itself still names every resource it is about (the contested one too).
    (tw006,) = report.by_code("TW006")
    assert len(tw006.resources) == 121


def test_a_resource_with_a_violation_of_its_own_is_always_listed() -> None:
    # The Application's ConfigMaps are in an undeclared namespace (TW006: sampled); its
    # ClusterRole has a violation of its own (TW003): listed whatever the sample.
    world = World().argocd_by_flux()
    world.app(
        "spark",
        "data",
        *(f"ConfigMap data/c-{i}" for i in range(10)),
        "rbac.authorization.k8s.io/ClusterRole spark",
    )
    report = world.analyse(contested_only=True, namespace_sample=2)
    data = report.namespace("data")
    assert data is not None and (data.violation_resources, data.violation_resources_listed) == (
        10,
        2,
    )
    assert report.resource("rbac.authorization.k8s.io/ClusterRole:/spark") is not None
    assert len(report.resources) == 3
