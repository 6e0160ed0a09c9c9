"""The Controllers view's judgement (clusters/ownership/controller_health.py), table-driven."""

from __future__ import annotations

import pytest

from clusters.ownership import controller_health as health
from clusters.ownership import default_boundaries
from clusters.ownership.inputs import Workload

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("ghcr.io/fluxcd/source-controller:v1.6.0", "v1.6.0"),
        ("quay.io/argoproj/argocd:v3.1.8@sha256:" + "a" * 64, "v3.1.8"),
        ("registry.local:5000/fluxcd/helm-controller:v1.3.0", "v1.3.0"),
        ("registry.local:5000/fluxcd/helm-controller", ""),  # a port is not a tag
        ("quay.io/argoproj/argocd@sha256:" + "b" * 64, ""),  # digest only
        ("redis", ""),
        ("redis:7.4.5-alpine", "7.4.5-alpine"),
        ("", ""),
    ],
)
def test_image_tag(image: str, tag: str) -> None:
    assert health.image_tag(image) == tag


@pytest.mark.parametrize(
    ("labels", "images", "expected"),
    [
        (
            {"app.kubernetes.io/version": "v2.7.3"},
            ["x/source-controller:v1.6.0"],
            ("v2.7.3", "label"),
        ),
        ({}, ["quay.io/argoproj/argocd:v3.1.8"], ("v3.1.8", "image")),
        (
            {},
            [{"container": "server", "image": "quay.io/argoproj/argocd:v3.1.8"}],
            ("v3.1.8", "image"),
        ),
        ({"app.kubernetes.io/version": "  "}, ["a:1.0"], ("1.0", "image")),
        # the main container is untagged: a sidecar's tag would be another program's version
        ({}, ["dex", "quay.io/argoproj/argocd:v3.1.8"], ("", "")),
        ({}, [], ("", "")),
        ({}, [None, 3], ("", "")),
    ],
)
def test_controller_version(labels, images, expected) -> None:
    assert health.controller_version(labels, images) == expected


@pytest.mark.parametrize(
    ("item", "sentence"),
    [
        (
            {
                "group": "helm.toolkit.fluxcd.io",
                "kind": "HelmRelease",
                "served": ["v2beta1"],
                "wanted": "v2",
            },
            "HelmRelease is served only at helm.toolkit.fluxcd.io/v2beta1, not v2: "
            "upgrade blocker.",
        ),
        (
            {
                "group": "helm.toolkit.fluxcd.io",
                "kind": "HelmRelease",
                "served": ["v2beta1", "v2beta2"],
            },
            "HelmRelease is served only at helm.toolkit.fluxcd.io/v2beta1 and "
            "helm.toolkit.fluxcd.io/v2beta2: upgrade blocker.",
        ),
    ],
)
def test_deprecated_sentence(item, sentence) -> None:
    assert health.deprecated_sentence(item) == sentence


FLUX = ("source-controller", "kustomize-controller", "helm-controller", "notification-controller")


def flux(name: str, version: str = "v2.7.3", **kw) -> Workload:
    labels = {
        "app.kubernetes.io/part-of": "flux",
        "app.kubernetes.io/component": name,
        "app.kubernetes.io/instance": "flux-system",
    }
    if version:
        labels["app.kubernetes.io/version"] = version
    kw.setdefault("ready", 1)
    kw.setdefault("desired", 1)
    return Workload("Deployment", "flux-system", name, labels, images=[f"f/{name}:v1.6.0"], **kw)


def argo(component: str, memory: int | None = None, kind: str = "Deployment", **kw) -> Workload:
    labels = {"app.kubernetes.io/part-of": "argocd", "app.kubernetes.io/component": component}
    usage = None if memory is None else {"cpuMillicores": 10, "memoryBytes": memory}
    kw.setdefault("ready", 1)
    kw.setdefault("desired", 1)
    return Workload(
        kind, "argocd", f"argocd-{component}", labels, images=["q/argocd:v3.1.8"], usage=usage, **kw
    )


def install(**changes) -> list[Workload]:
    """Both tools' required controllers; ``changes`` replaces one by name (None: absent)."""
    rows = {n: flux(n) for n in FLUX}
    rows.update(
        {
            "argocd-server": argo("server", 100 * MIB),
            "argocd-repo-server": argo("repo-server", 150 * MIB),
            "argocd-application-controller": argo(
                "application-controller", 200 * MIB, "StatefulSet"
            ),
        }
    )
    rows.update(changes)
    return [w for w in rows.values() if w is not None]


def codes(assessed: health.ClusterControllers) -> list[tuple[str, str, bool]]:
    return [(f.tool, f.code, f.failing) for f in assessed.findings]


def assess(workloads, deprecated=(), **kw) -> health.ClusterControllers:
    return health.assess(default_boundaries(), workloads, deprecated, **kw)


def test_a_healthy_install_has_no_findings_and_sums_argo_memory() -> None:
    assessed = assess(install())
    assert codes(assessed) == [] and assessed.tone == "ok"
    memory = assessed.tool("argocd").memory
    assert (memory.used_bytes, memory.budget_bytes, memory.over) == (450 * MIB, 500 * MIB, False)
    assert [c.version for c in assessed.tool("flux").controllers] == ["v2.7.3"] * 4
    assert {c.version_source for c in assessed.tool("argocd").controllers} == {"image"}


@pytest.mark.parametrize(
    ("changes", "kw", "expected"),
    [
        ({"helm-controller": None}, {}, [("flux", "missing", True)]),
        ({"argocd-repo-server": argo("repo-server", ready=0)}, {}, [("argocd", "not-ready", True)]),
        (
            {"source-controller": flux("source-controller", ready=0, desired=0)},
            {},
            [("flux", "not-ready", True)],
        ),
        (
            {"helm-controller": flux("helm-controller", restarts=5)},
            {},
            [("flux", "restarts", False)],
        ),
        ({"helm-controller": flux("helm-controller", restarts=4)}, {}, []),
        ({"helm-controller": flux("helm-controller", restarts=50)}, {"restarts_warn": 0}, []),
        (
            {"helm-controller": flux("helm-controller", "v2.6.0")},
            {},
            [("flux", "version-skew", False)],
        ),
        # Flux without version labels: image tags differ per controller by design, no skew
        ({n: flux(n, "") for n in FLUX[:2]}, {}, []),
        ({"argocd-server": argo("server", 400 * MIB)}, {}, [("argocd", "memory-budget", False)]),
        ({"argocd-server": argo("server", 400 * MIB)}, {"memory_budget_mb": 1000}, []),
    ],
)
def test_findings(changes, kw, expected) -> None:
    assert codes(assess(install(**changes), **kw)) == expected


def test_sentences_say_what_and_where() -> None:
    assessed = assess(
        install(
            **{
                "helm-controller": None,
                "argocd-repo-server": argo("repo-server", 150 * MIB, ready=1, desired=2),
                "argocd-server": argo("server", 400 * MIB),
            }
        ),
        [
            {
                "group": "helm.toolkit.fluxcd.io",
                "kind": "HelmRelease",
                "served": ["v2beta1"],
                "wanted": "v2",
            }
        ],
    )
    assert [f.sentence for f in assessed.findings] == [
        "Flux is missing helm-controller from flux-system: it is required for Flux to reconcile.",
        "HelmRelease is served only at helm.toolkit.fluxcd.io/v2beta1, not v2: upgrade blocker.",
        "argocd/argocd-repo-server has 1 of 2 replicas ready.",
        "Argo CD's controllers use 750 MiB of memory, over the ADR's 500 MiB budget.",
    ]
    assert assessed.tone == "bad"


def test_memory_not_measured_is_never_guessed() -> None:
    unmeasured = argo("server")
    unmeasured.usage_reason = "metrics.k8s.io: 404 Not Found (metrics-server not installed)"
    assessed = assess(install(**{"argocd-server": unmeasured}))
    memory = assessed.tool("argocd").memory
    # Two measured (350 MiB), one not: the sum is what was measured, the rest named with why.
    assert (memory.used_bytes, memory.unmeasured) == (350 * MIB, ("argocd-server",))
    assert memory.reason.startswith("metrics.k8s.io: 404")
    none = assess(
        install(**{n: argo(n.removeprefix("argocd-")) for n in ("argocd-server",)}),
        metrics_reason="not queried",
    )
    assert none.tool("flux").memory.used_bytes is None
    assert none.tool("flux").memory.reason == "not queried"


def test_over_budget_with_some_unmeasured_says_at_least() -> None:
    rows = install(
        **{"argocd-server": argo("server", 600 * MIB), "argocd-repo-server": argo("repo-server")}
    )
    (finding,) = assess(rows).findings
    assert finding.sentence == (
        "Argo CD's controllers use 800 MiB of memory (1 not measured: at least that much), "
        "over the ADR's 500 MiB budget."
    )


def test_not_collected() -> None:
    assessed = assess(None)
    assert not assessed.collected and assessed.tone == "warn"
    assert {f.code for f in assessed.findings} == {"not-collected"}


def test_version_matrix_flags_skew_across_clusters() -> None:
    one = assess(install())
    two = assess(install(**{"source-controller": flux("source-controller", "v2.6.0")}))
    rows = {(r.tool, r.component): r for r in health.version_matrix({"a": one, "b": two})}
    assert list(rows)[:4] == [("flux", n) for n in FLUX]  # required first, in their order
    source = rows[("flux", "source-controller")]
    assert source.skew and source.cells(["a", "b", "c"]) == [["v2.7.3"], ["v2.6.0"], []]
    assert not rows[("flux", "helm-controller")].skew
    assert rows[("argocd", "server")].versions == {"a": ["v3.1.8"], "b": ["v3.1.8"]}


def test_a_version_reported_by_one_cluster_only_is_not_compared() -> None:
    unlabelled = install(
        **{
            "argocd-server": Workload(
                "Deployment", "argocd", "argocd-server", {"app.kubernetes.io/part-of": "argocd"}
            )
        }
    )
    rows = health.version_matrix({"a": assess(install()), "b": assess(unlabelled)})
    server = next(r for r in rows if r.component == "server")
    assert (server.skew, server.compared) == (False, 1)
    assert next(r for r in rows if r.component == "repo-server").compared == 2
