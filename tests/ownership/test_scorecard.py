"""The ADR-003 scorecard, row by row."""

from __future__ import annotations

import json

import pytest

from clusters.ownership.inputs import Monitor, Workload
from clusters.ownership.scorecard import FAIL, PASS, UNKNOWN, build_scorecard
from tests.ownership import World

FLUX = ("source-controller", "kustomize-controller", "helm-controller", "notification-controller")
ARGO = ("argocd-server", "argocd-repo-server")


def healthy_world() -> World:
    """Both tools installed, ready, each deploying only into its own namespaces."""
    world = World()
    world.ks("flux-system", "flux-system", *(f"apps/Deployment flux-system/{n}" for n in FLUX))
    world.hr(
        "argocd",
        "argocd",
        *(f"apps/Deployment argocd/{n}" for n in ARGO),
        "apps/StatefulSet argocd/argocd-application-controller",
    )
    world.app("portfolio", "portfolio", "apps/Deployment portfolio/api")
    for name in FLUX:
        world.workload("flux-system", name, labels={"app": name})
    for name in ARGO:
        world.workload("argocd", name, labels={"app.kubernetes.io/part-of": "argocd"})
    world.workload(
        "argocd",
        "argocd-application-controller",
        kind="StatefulSet",
        labels={"app.kubernetes.io/part-of": "argocd"},
    )
    return world


FLUX_PODMONITOR = Monitor(
    "PodMonitor",
    "flux-system",
    "flux-system",
    match_expressions=[{"key": "app", "operator": "In", "values": list(FLUX)}],
)
ARGO_SERVICEMONITOR = Monitor(
    "ServiceMonitor",
    "monitoring",
    "argocd",
    namespace_selector={"matchNames": ["argocd"]},
    match_labels={"app.kubernetes.io/part-of": "argocd"},
)


def states(world: World, **kw) -> dict[str, str]:
    card = build_scorecard(world.analyse(), world.workloads, **kw)
    return {row.id: row.state for row in card.rows}


def test_all_pass() -> None:
    world = healthy_world()
    card = build_scorecard(
        world.analyse(),
        world.workloads,
        [FLUX_PODMONITOR, ARGO_SERVICEMONITOR],
        monitoring_installed=True,
    )
    assert [(r.id, r.state) for r in card.rows] == [
        ("flux-controllers", PASS),
        ("argocd-controllers", PASS),
        ("no-conflicts", PASS),
        ("shared-resources", PASS),
        ("platform-namespaces", PASS),
        ("application-namespaces", PASS),
        ("prometheus-monitoring", PASS),
    ]
    assert (card.passed, card.failed, card.unknown) == (7, 0, 0)
    data = json.loads(json.dumps(card.to_dict()))
    assert data["total"] == 7
    assert card.row("flux-controllers").evidence == (  # type: ignore[union-attr]
        "All 4 Flux controllers in flux-system are ready: source-controller, "
        "kustomize-controller, helm-controller, notification-controller."
    )


def test_controller_not_ready_or_missing() -> None:
    world = healthy_world()
    world.workloads = [w for w in world.workloads if w.name != "helm-controller"]
    server = next(w for w in world.workloads if w.name == "argocd-server")
    server.ready, server.desired = 1, 2
    card = build_scorecard(world.analyse(), world.workloads)
    flux, argo = card.row("flux-controllers"), card.row("argocd-controllers")
    assert flux is not None and argo is not None
    assert (flux.state, flux.evidence) == (
        FAIL,
        "Flux controllers missing from flux-system: helm-controller.",
    )
    assert (argo.state, argo.evidence) == (
        FAIL,
        "Argo CD controllers not ready: argocd-server (1/2 ready).",
    )


def flux_labels(component: str) -> dict[str, str]:
    """What ``flux install`` puts on every controller Deployment."""
    return {
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/instance": "flux-system",
        "app.kubernetes.io/part-of": "flux",
        "app.kubernetes.io/version": "v2.7.3",
        "control-plane": "controller",
    }


def argo_labels(component: str) -> dict[str, str]:
    """What Argo CD's manifests (and its Helm chart) put on every workload."""
    return {
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/name": f"argocd-{component}",
        "app.kubernetes.io/part-of": "argocd",
    }


@pytest.mark.parametrize(
    ("namespace", "name", "kind", "labels", "row"),
    [
        (
            "flux-system",
            "image-reflector-controller",
            "Deployment",
            {"app": "image-reflector-controller"},
            "flux",
        ),
        ("flux-system", "image-automation-controller", "Deployment", flux_labels("x"), "flux"),
        # Flux's install labels, without part-of (an older or trimmed install)
        (
            "flux-system",
            "source-watcher",
            "Deployment",
            {"app.kubernetes.io/instance": "flux-system", "app.kubernetes.io/version": "v2.7.3"},
            "flux",
        ),
        ("argocd", "argocd-applicationset-controller", "Deployment", {}, "argocd"),
        (
            "argocd",
            "argocd-notifications-controller",
            "Deployment",
            argo_labels("notifications-controller"),
            "argocd",
        ),
        ("argocd", "argocd-dex-server", "Deployment", argo_labels("dex-server"), "argocd"),
        ("argocd", "argocd-redis", "StatefulSet", argo_labels("redis"), "argocd"),
        # part-of finds a controller outside the install namespace too
        ("gitops", "argocd-redis-ha", "StatefulSet", argo_labels("redis"), "argocd"),
    ],
)
def test_optional_controllers_are_discovered_and_checked(namespace, name, kind, labels, row):
    world = healthy_world()
    world.workload(namespace, name, kind=kind, ready=0, desired=1, labels=labels)
    card = build_scorecard(world.analyse(), world.workloads)
    found = card.row(f"{row}-controllers")
    assert found is not None
    assert (found.state, found.evidence.endswith(f"not ready: {name} (0/1 ready).")) == (FAIL, True)
    other = card.row("argocd-controllers" if row == "flux" else "flux-controllers")
    assert other is not None and other.state == PASS


@pytest.mark.parametrize(
    ("namespace", "name", "labels"),
    [
        ("flux-system", "weave-gitops", {"app.kubernetes.io/part-of": "weave-gitops"}),
        ("flux-system", "some-operator", {"app": "some-operator"}),
        ("portfolio", "argocd-lookalike", {}),  # outside the install namespace, no labels
        ("argocd", "sidecar-cache", {}),
    ],
)
def test_other_workloads_are_not_taken_for_controllers(namespace, name, labels):
    world = healthy_world()
    world.workload(namespace, name, ready=0, desired=1, labels=labels)
    assert set(states(world).values()) == {PASS, UNKNOWN}


def test_the_whole_real_install_is_checked_and_named() -> None:
    world = World()
    for component in (
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
        "image-reflector-controller",
        "image-automation-controller",
    ):
        world.workload("flux-system", component, labels=flux_labels(component))
    for component in ("server", "repo-server", "applicationset-controller", "redis", "dex-server"):
        world.workload("argocd", f"argocd-{component}", labels=argo_labels(component))
    world.workload(
        "argocd",
        "argocd-application-controller",
        kind="StatefulSet",
        labels=argo_labels("application-controller"),
    )
    card = build_scorecard(world.analyse(), world.workloads)
    assert card.row("flux-controllers").evidence == (  # type: ignore[union-attr]
        "All 6 Flux controllers in flux-system are ready: source-controller, "
        "kustomize-controller, helm-controller, notification-controller, "
        "image-reflector-controller, image-automation-controller."
    )
    assert card.row("argocd-controllers").evidence == (  # type: ignore[union-attr]
        "All 6 Argo CD controllers in argocd are ready: argocd-server, argocd-repo-server, "
        "argocd-application-controller, argocd-applicationset-controller, argocd-dex-server, "
        "argocd-redis."
    )
    # A required component is required whatever else runs.
    world.workloads = [w for w in world.workloads if w.name != "argocd-repo-server"]
    argo = build_scorecard(world.analyse(), world.workloads).row("argocd-controllers")
    assert argo is not None
    assert (argo.state, argo.evidence) == (
        FAIL,
        "Argo CD controllers missing from argocd: argocd-repo-server.",
    )


def test_redis_needs_no_monitor_but_every_other_controller_does() -> None:
    world = healthy_world()
    world.workload("argocd", "argocd-redis", labels=argo_labels("redis"))
    world.workload(
        "flux-system", "image-reflector-controller", labels={"app": "image-reflector-controller"}
    )
    row = build_scorecard(
        world.analyse(), world.workloads, [FLUX_PODMONITOR, ARGO_SERVICEMONITOR], True
    ).row("prometheus-monitoring")
    assert row is not None
    # The Flux PodMonitor selects the four it lists by name, not the image-reflector.
    assert (row.state, row.evidence) == (
        FAIL,
        "No ServiceMonitor or PodMonitor selects image-reflector-controller.",
    )


SHARED_CASES = [
    ("nothing shared", [], PASS, "Every cluster-scoped resource"),
    (
        "Argo CD manages a ClusterRole",
        [("app", "spark", "data", "rbac.authorization.k8s.io/ClusterRole spark")],
        FAIL,
        "Found 1 cluster-scoped resource managed by Argo CD "
        "(ClusterRole spark by Application argocd/spark).",
    ),
    (
        "Flux manages a CRD",
        [("ks", "flux-system", "crds", "apiextensions.k8s.io/CustomResourceDefinition a.b")],
        PASS,
        "",
    ),
    (
        "two Kustomizations claim one ConfigMap",
        [
            ("ks", "flux-system", "one", "ConfigMap gitlab/settings"),
            ("ks", "flux-system", "two", "ConfigMap gitlab/settings"),
        ],
        FAIL,
        "Found 1 resource claimed twice by one tool (ConfigMap gitlab/settings by "
        "Kustomization flux-system/one and Kustomization flux-system/two).",
    ),
]


@pytest.mark.parametrize(
    ("additions", "state", "evidence"),
    [c[1:] for c in SHARED_CASES],
    ids=[c[0] for c in SHARED_CASES],
)
def test_shared_resources_row_counts_tw003_and_tw005(additions, state, evidence) -> None:
    world = healthy_world()
    for how, first, second, resource in additions:
        if how == "app":
            world.app(first, second, resource)
        else:
            world.ks(first, second, resource)
    row = build_scorecard(world.analyse(), world.workloads).row("shared-resources")
    assert row is not None
    assert row.title == "Shared resources (CRDs, cluster-level configs) managed by Flux"
    assert row.state == state
    assert evidence in row.evidence


def test_scaled_to_zero_is_not_ready() -> None:
    assert not Workload("Deployment", "x", "y", ready=0, desired=0).is_ready


def test_conflicts_fail_on_contested_and_cross_boundary() -> None:
    world = healthy_world()
    world.hr("monitoring", "monitoring", "ConfigMap monitoring/dash")
    world.app("shop", "portfolio", "ConfigMap monitoring/dash", "apps/Deployment istio-system/x")
    row = build_scorecard(world.analyse(), world.workloads).row("no-conflicts")
    assert row is not None
    assert (row.state, row.evidence) == (
        FAIL,
        "Found 1 resource claimed by both tools and 1 cross-boundary deployment (istio-system).",
    )


def test_platform_namespaces_fail_on_degraded_flux_object_or_intruder() -> None:
    world = healthy_world()
    world.hr("gitlab", "gitlab", "apps/Deployment gitlab/web", status="Degraded")
    world.app("shop", "portfolio", "apps/Deployment istio-system/x")
    card = build_scorecard(world.analyse(), world.workloads)
    row = card.row("platform-namespaces")
    assert row is not None and row.state == FAIL
    # The HelmRelease lives in bigbang too: the row names both namespaces.
    assert row.evidence == (
        "3 of 5 platform namespaces fall short: bigbang has Degraded HelmRelease bigbang/gitlab; "
        "gitlab has Degraded HelmRelease bigbang/gitlab; istio-system is also deployed by Argo CD."
    )
    assert card.row("application-namespaces").state == PASS  # type: ignore[union-attr]


def test_application_namespaces_fail_when_flux_deploys_there() -> None:
    world = healthy_world()
    world.ks("flux-system", "apps", "ConfigMap portfolio/x")
    assert states(world)["application-namespaces"] == FAIL


def test_no_objects_in_declared_namespaces_is_unknown() -> None:
    world = World()
    assert states(world)["application-namespaces"] == UNKNOWN


def test_workloads_not_collected() -> None:
    world = healthy_world()
    card = build_scorecard(world.analyse(), None, monitoring_installed=True)
    assert {r.id: r.state for r in card.rows}["flux-controllers"] == UNKNOWN
    assert {r.id: r.state for r in card.rows}["prometheus-monitoring"] == UNKNOWN


MONITORING_CASES = [
    ("CRDs not installed", False, [], UNKNOWN, "are not installed"),
    ("not checked", None, [], UNKNOWN, "did not check"),
    ("no monitors", True, [], FAIL, "No ServiceMonitor or PodMonitor selects source-controller"),
    ("only Flux monitored", True, [FLUX_PODMONITOR], FAIL, "selects argocd-server"),
    (
        "monitor in the wrong namespace",
        True,
        [
            FLUX_PODMONITOR,
            Monitor(
                "ServiceMonitor",
                "monitoring",
                "argocd",
                match_labels=ARGO_SERVICEMONITOR.match_labels,
            ),
        ],
        FAIL,
        "argocd-server",
    ),
    (
        "any-namespace selector",
        True,
        [
            FLUX_PODMONITOR,
            Monitor(
                "ServiceMonitor",
                "monitoring",
                "argocd",
                namespace_selector={"any": True},
                match_labels={"app.kubernetes.io/part-of": "argocd"},
            ),
        ],
        PASS,
        "Every Flux and Argo CD controller",
    ),
    ("both monitored", True, [FLUX_PODMONITOR, ARGO_SERVICEMONITOR], PASS, "Every"),
]


@pytest.mark.parametrize(
    ("installed", "monitors", "state", "evidence"),
    [c[1:] for c in MONITORING_CASES],
    ids=[c[0] for c in MONITORING_CASES],
)
def test_monitoring(
    installed: bool | None, monitors: list[Monitor], state: str, evidence: str
) -> None:
    world = healthy_world()
    row = build_scorecard(world.analyse(), world.workloads, monitors, installed).row(
        "prometheus-monitoring"
    )
    assert row is not None
    assert row.state == state
    assert evidence in row.evidence


def test_monitor_from_manifest() -> None:
    monitor = Monitor.from_manifest(
        {
            "kind": "PodMonitor",
            "metadata": {"name": "flux-system", "namespace": "flux-system"},
            "spec": {
                "namespaceSelector": {"matchNames": ["flux-system"]},
                "selector": {
                    "matchExpressions": [
                        {"key": "app", "operator": "In", "values": ["helm-controller"]}
                    ]
                },
            },
        }
    )
    assert monitor.selects(
        Workload("Deployment", "flux-system", "h", labels={"app": "helm-controller"})
    )
    assert not monitor.selects(Workload("Deployment", "flux-system", "s", labels={"app": "other"}))
    assert not monitor.selects(
        Workload("Deployment", "elsewhere", "h", labels={"app": "helm-controller"})
    )


def test_controller_rows_carry_the_controllers_views_warnings_without_failing() -> None:
    """Restarts, deprecated-only APIs and memory over budget are said in the evidence (from
    clusters/ownership/controller_health); only missing or unready controllers fail."""
    from clusters.ownership import controller_health

    world = healthy_world()
    helm = next(w for w in world.workloads if w.name == "helm-controller")
    helm.restarts = 12
    for w in world.workloads:
        if w.namespace == "argocd":
            w.usage = {"cpuMillicores": 50, "memoryBytes": 300 * 1024 * 1024}
    report = world.analyse()
    assessed = controller_health.assess(
        report.boundaries,
        world.workloads,
        [
            {
                "group": "helm.toolkit.fluxcd.io",
                "kind": "HelmRelease",
                "served": ["v2beta1"],
                "wanted": "v2",
            }
        ],
    )
    card = build_scorecard(report, world.workloads, assessed=assessed)
    flux, argo = card.row("flux-controllers"), card.row("argocd-controllers")
    assert flux is not None and argo is not None
    assert flux.state == PASS and flux.evidence == (
        "All 4 Flux controllers in flux-system are ready: source-controller, "
        "kustomize-controller, helm-controller, notification-controller. "
        "flux-system/helm-controller's containers restarted 12 times since their pods started: "
        "look at its logs and last termination reason. "
        "HelmRelease is served only at helm.toolkit.fluxcd.io/v2beta1, not v2: upgrade blocker."
    )
    assert argo.state == PASS
    assert argo.evidence.endswith(
        "Argo CD's controllers use 900 MiB of memory, over the ADR's 500 MiB budget."
    )
    helm.ready = 0
    failing = build_scorecard(report, world.workloads).row("flux-controllers")
    assert failing is not None and failing.state == FAIL
    assert failing.evidence.startswith("Flux controllers not ready: helm-controller (0/1 ready).")
    assert "restarted 12 times" in failing.evidence
