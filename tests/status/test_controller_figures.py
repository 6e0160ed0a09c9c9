"""Pure parts of the Controllers view's data: quantities, Pod → workload, usage sums, and the
Flux kinds served only at deprecated versions."""

from __future__ import annotations

import pytest

from clusters.collect.deprecated import deprecated_apis
from clusters.collect.flux import FLUX_KINDS, HELM, KUSTOMIZE, NOTIFICATION, SOURCE
from clusters.collect.kinds import KindSpec, ServedKind
from clusters.status.quantity import cpu_millicores, memory_bytes, parse_quantity
from clusters.status.workload_pods import (
    owner_workload,
    pod_restarts,
    pod_usage,
    workload_usage,
)


@pytest.mark.parametrize(
    ("text", "millicores"),
    [
        ("12345678n", 13),  # metrics-server's nanocores, rounded up as MilliValue()
        ("1000000n", 1),
        ("0", 0),
        ("5m", 5),
        ("1", 1000),
        ("0.5", 500),
        ("2500u", 3),
        ("1.5k", 1_500_000),
        ("1e3", 1_000_000),
    ],
)
def test_cpu_quantities(text, millicores):
    assert cpu_millicores(text) == millicores


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("123456Ki", 123456 * 1024),
        ("1Gi", 2**30),
        ("1.5Mi", 1_572_864),
        ("128974848", 128974848),
        ("129M", 129_000_000),
        ("1G", 10**9),
        ("12e6", 12_000_000),
        ("100m", 1),  # a tenth of a byte is still a byte
    ],
)
def test_memory_quantities(text, size):
    assert memory_bytes(text) == size


@pytest.mark.parametrize(
    "text",
    [
        *("", "Ki", "12Kb", "1.2.3", "ten", "1 Gi", "--1", None, 5),
        # Out of range: refused at once, never computed (a hostile metrics answer).
        *("1e999999999", "1e-999999999", "9" * 5000, "9" * 30 + "Ei", "1e31"),
    ],
)
def test_what_is_not_a_quantity_is_refused(text):
    with pytest.raises(ValueError):
        parse_quantity(text)


def pod(owner_kind, owner_name, *, hash_label=None, controller=True, namespace="argocd"):
    labels = {"pod-template-hash": hash_label} if hash_label else {}
    return {
        "metadata": {
            "namespace": namespace,
            "name": "p",
            "labels": labels,
            "ownerReferences": [{"kind": owner_kind, "name": owner_name, "controller": controller}],
        }
    }


@pytest.mark.parametrize(
    ("obj", "owner"),
    [
        (pod("ReplicaSet", "argocd-server-6d4f9b8c7", hash_label="6d4f9b8c7"), "argocd-server"),
        # The hash names the ReplicaSet's suffix, even when the Deployment's name has dashes.
        (pod("ReplicaSet", "a-b-c-5f7d", hash_label="5f7d"), "a-b-c"),
        (pod("ReplicaSet", "argocd-redis-77bf8d6b45"), "argocd-redis"),  # no label: the name
        (pod("StatefulSet", "argocd-application-controller"), "argocd-application-controller"),
        (pod("Job", "migrate"), None),
        (pod("ReplicaSet", "x-1", controller=False), None),
        ({"metadata": {"name": "bare"}}, None),
    ],
)
def test_a_pod_is_matched_to_its_workload(obj, owner):
    found = owner_workload(obj)
    assert (found[2] if found else None) == owner


def test_restarts_count_every_container_as_kubectl_does():
    status = {
        "initContainerStatuses": [{"restartCount": 1}],
        "containerStatuses": [{"restartCount": 3}, {"restartCount": 2}, {"restartCount": "x"}],
    }
    assert pod_restarts({"status": status}) == 6
    assert pod_restarts({}) == 0


def test_usage_is_summed_over_containers_and_unreadable_usage_is_not_guessed():
    metrics = {
        "containers": [
            {"usage": {"cpu": "2500000n", "memory": "1024Ki"}},
            {"usage": {"cpu": "1m", "memory": "1Mi"}},
        ]
    }
    assert pod_usage(metrics) == (4, 2 * 1024 * 1024)
    assert pod_usage({"containers": [{"usage": {"cpu": "1m"}}]}) is None
    assert pod_usage({"containers": [{"usage": {"cpu": "lots", "memory": "1Mi"}}]}) is None
    assert pod_usage({"containers": []}) is None


def test_a_workload_is_measured_only_when_every_pod_is():
    a, b = ("argocd", "a"), ("argocd", "b")
    measured = {a: (3, 100), b: (4, 200)}
    assert workload_usage([a, b], measured).usage == {"cpuMillicores": 7, "memoryBytes": 300}
    partial = workload_usage([a, ("argocd", "new")], measured)
    assert partial.usage is None and partial.missing == 1
    assert workload_usage([], measured).usage == {"cpuMillicores": 0, "memoryBytes": 0}


def served(group: str, kind: str, *versions: str) -> dict[KindSpec, ServedKind]:
    spec = next(s for s in FLUX_KINDS if (s.group, s.kind) == (group, kind))
    return {spec: ServedKind(spec, versions[0], kind.lower() + "s", True, versions)}


@pytest.mark.parametrize(
    ("group", "kind", "versions", "wanted", "removed"),
    [
        (HELM, "HelmRelease", ("v2beta1",), "v2", "Flux 2.7"),
        (HELM, "HelmRelease", ("v2beta2", "v2beta1"), "v2", "Flux 2.8"),
        (KUSTOMIZE, "Kustomization", ("v1beta2", "v1beta1"), "v1", "Flux 2.8"),
        (SOURCE, "GitRepository", ("v1beta2",), "v1", "Flux 2.8"),
        (SOURCE, "OCIRepository", ("v1beta2",), "v1", "Flux 2.8"),
        (NOTIFICATION, "Alert", ("v1beta2",), "v1beta3", "Flux 2.9"),
        (NOTIFICATION, "Receiver", ("v1beta2",), "v1", "Flux 2.9"),
    ],
)
def test_a_kind_served_only_at_deprecated_versions_is_flagged(
    group, kind, versions, wanted, removed
):
    assert deprecated_apis(served(group, kind, *versions)) == [
        {
            "group": group,
            "kind": kind,
            "served": list(versions),
            "wanted": wanted,
            "removedIn": removed,
        }
    ]


@pytest.mark.parametrize(
    ("group", "kind", "versions"),
    [
        (HELM, "HelmRelease", ("v2",)),
        (HELM, "HelmRelease", ("v2", "v2beta2", "v2beta1")),  # Flux 2.3-2.7: v2 is there
        (KUSTOMIZE, "Kustomization", ("v1",)),
        (NOTIFICATION, "Provider", ("v1beta3",)),  # current, though still beta
    ],
)
def test_a_kind_served_at_its_current_version_is_not_flagged(group, kind, versions):
    assert deprecated_apis(served(group, kind, *versions)) == []
