"""Flux semantics on hand-written fixtures (tests/fixtures) and small inline objects."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from clusters.status.normalize import normalize, strip_managed_fields
from clusters.status.record import DependencyRef
from clusters.status.vocabulary import Status, Sync
from tests.status import load_fixture

KS = "kustomize.toolkit.fluxcd.io"
HR = "helm.toolkit.fluxcd.io"
SRC = "source.toolkit.fluxcd.io"


def kustomization(status: Any = None, **spec: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": f"{KS}/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "flux-system", "generation": 1},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": "flux-system"}, **spec},
    }
    if status is not None:
        obj["status"] = status
    return obj


def cond(ctype: str, status: str, reason: str = "", message: str = "") -> dict[str, str]:
    return {
        "type": ctype,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2025-01-01T00:00:00Z",
    }


# -- the kstatus order ---------------------------------------------------------------------------


def test_suspended_kustomization_keeps_ready_message() -> None:
    record = normalize(load_fixture("kustomization-suspended.yaml"))
    assert record.status is Status.SUSPENDED
    assert record.suspended is True
    assert record.reason == "Suspended"
    assert record.message == "Applied revision: main@sha1:4f1c7d6a2b9e0c3d5e7f8a1b2c3d4e5f6a7b8c9d"
    # Suspension beats the generation check (generation 4, observed 3 in the fixture).
    assert record.sync is Sync.SYNCED
    assert record.target_namespaces == ["podinfo"]
    assert record.uid == "0b8f3c52-6a4d-4a8e-9b6e-1f0c2b1d7e11"
    assert record.resource_version == "81234"


def test_suspended_helmrelease() -> None:
    record = normalize(load_fixture("helmrelease-suspended.yaml"))
    assert record.status is Status.SUSPENDED
    assert record.suspended is True
    assert record.message.startswith("Helm upgrade succeeded for release monitoring/monitoring.v3")
    assert record.sync is Sync.SYNCED
    assert record.applied_revision == "69.2.0-bb.1"
    assert record.attempted_revision == "69.2.0-bb.1"
    assert record.target_namespaces == ["monitoring"]  # targetNamespace, not bigbang
    assert record.source == {
        "kind": "GitRepository",
        "name": "monitoring",
        "namespace": "bigbang",
        "chart": "./chart",
    }
    assert record.dependencies == [
        DependencyRef("source", "GitRepository", "bigbang", "monitoring", SRC),
        DependencyRef("helmchart", "HelmChart", "bigbang", "bigbang-monitoring", SRC),
        DependencyRef("dependsOn", "HelmRelease", "bigbang", "prometheus-operator-crds", HR),
        DependencyRef("parent", "HelmRelease", "bigbang", "bigbang", HR),
    ]


def test_dependency_not_ready_is_progressing() -> None:
    record = normalize(load_fixture("kustomization-dependency-not-ready.yaml"))
    assert record.status is Status.PROGRESSING
    assert record.reason == "DependencyNotReady"
    assert record.message == "dependency 'flux-system/infrastructure' is not ready"
    assert record.last_transition_time == "2025-05-10T09:00:00Z"
    assert record.target_namespaces == ["apps"]
    assert [d for d in record.dependencies if d.relation == "dependsOn"] == [
        DependencyRef("dependsOn", "Kustomization", "flux-system", "infrastructure", KS),
        DependencyRef("dependsOn", "Kustomization", "cert-manager", "cert-manager", KS),
    ]


def test_dependency_not_ready_while_retrying_is_still_waiting() -> None:
    obj = kustomization(
        {
            "conditions": [
                cond("Reconciling", "True", "ProgressingWithRetry", "retrying"),
                cond("Ready", "False", "DependencyNotReady", "dependency 'a/b' is not ready"),
            ]
        }
    )
    record = normalize(obj)
    assert (record.status, record.reason) == (Status.PROGRESSING, "DependencyNotReady")


def test_progressing_with_retry_and_ready_false_is_degraded() -> None:
    obj = kustomization(
        {
            "conditions": [
                cond("Reconciling", "True", "ProgressingWithRetry", "Fetching manifests"),
                cond("Ready", "False", "BuildFailed", "kustomize build failed: boom"),
            ]
        }
    )
    record = normalize(obj)
    assert (record.status, record.reason) == (Status.DEGRADED, "BuildFailed")
    assert record.message == "kustomize build failed: boom"


def test_reconciling_without_failure_is_progressing() -> None:
    obj = kustomization(
        {
            "conditions": [
                cond("Reconciling", "True", "Progressing", "Reconciliation in progress"),
                cond("Ready", "Unknown", "Progressing", "Reconciliation in progress"),
            ]
        }
    )
    record = normalize(obj)
    assert (record.status, record.reason) == (Status.PROGRESSING, "Progressing")


def test_generation_not_observed_is_never_healthy() -> None:
    record = normalize(load_fixture("kustomization-generation-not-observed.yaml"))
    assert record.status is Status.PROGRESSING
    assert record.reason == "LatestGenerationNotObserved"
    assert "generation 5" in record.message and "last status: Applied revision" in record.message


def test_generation_check_needs_both_numbers() -> None:
    # status.observedGeneration -1 with no metadata.generation: nothing to compare.
    obj = kustomization({"observedGeneration": -1, "conditions": [cond("Ready", "True", "Ok")]})
    del obj["metadata"]["generation"]
    assert normalize(obj).status is Status.HEALTHY


@pytest.mark.parametrize(
    ("ready_generation", "ready_status", "expected"),
    [
        # kustomize-controller failed before applying: status.observedGeneration stays -1, but
        # Ready was written for generation 1, so the failure is current (the real API server
        # always sets metadata.generation, unlike a sample written by hand).
        (1, "False", Status.DEGRADED),
        (1, "True", Status.HEALTHY),
        # Ready describes an older generation: not observed yet, whatever it says.
        (0, "True", Status.PROGRESSING),
        (None, "False", Status.PROGRESSING),
    ],
)
def test_readys_own_observed_generation_decides_when_status_lags(
    ready_generation: int | None, ready_status: str, expected: Status
) -> None:
    ready = cond("Ready", ready_status, "ArtifactFailed", 'GitRepository "podinfo" not found')
    if ready_generation is not None:
        ready["observedGeneration"] = ready_generation
    record = normalize(kustomization({"observedGeneration": -1, "conditions": [ready]}))
    assert record.status is expected


def test_being_deleted_is_terminating_even_when_suspended() -> None:
    record = normalize(load_fixture("kustomization-terminating.yaml"))
    assert (record.status, record.reason) == (Status.PROGRESSING, "Terminating")
    assert record.last_transition_time == "2025-06-01T12:00:00Z"
    suspended = load_fixture("kustomization-terminating.yaml")
    suspended["spec"]["suspend"] = True
    assert normalize(suspended).reason == "Terminating"


def test_stalled_beats_reconciling_and_keeps_readys_reason_in_message() -> None:
    obj = kustomization(
        {
            "conditions": [
                cond("Stalled", "True", "HealthCheckFailed", "health check failed after 5m"),
                cond("Reconciling", "True", "ProgressingWithRetry", "retrying"),
                cond("Ready", "False", "HealthCheckFailed", "Deployment/apps/web not ready"),
            ]
        }
    )
    record = normalize(obj)
    assert (record.status, record.reason) == (Status.DEGRADED, "HealthCheckFailed")
    assert record.message == "health check failed after 5m; Deployment/apps/web not ready"


@pytest.mark.parametrize(
    ("ready", "expected"),
    [
        (cond("Ready", "True", "ReconciliationSucceeded"), Status.HEALTHY),
        (cond("Ready", "False", "HealthCheckFailed"), Status.DEGRADED),
        (cond("Ready", "Unknown", "Progressing"), Status.PROGRESSING),
    ],
)
def test_ready_condition(ready: dict[str, str], expected: Status) -> None:
    assert normalize(kustomization({"conditions": [ready]})).status is expected


@pytest.mark.parametrize("status", [None, {}, {"conditions": []}, {"observedGeneration": 1}])
def test_no_ready_condition_is_unknown_not_reconciled(status: Any) -> None:
    record = normalize(kustomization(status))
    assert (record.status, record.reason) == (Status.UNKNOWN, "NotReconciled")


def test_last_reconcile_time_prefers_last_handled_reconcile_at() -> None:
    ready = cond("Ready", "True", "Ok")
    assert normalize(kustomization({"conditions": [ready]})).last_reconcile_time == (
        "2025-01-01T00:00:00Z"
    )
    handled = {"conditions": [ready], "lastHandledReconcileAt": "2025-02-02T02:02:02.5Z"}
    assert normalize(kustomization(handled)).last_reconcile_time == "2025-02-02T02:02:02.5Z"


# -- Kustomization sync and inventory ------------------------------------------------------------


@pytest.mark.parametrize(
    ("applied", "attempted", "expected"),
    [
        ("main@sha1:aaa", "main@sha1:aaa", Sync.SYNCED),
        ("main@sha1:aaa", "main@sha1:bbb", Sync.OUT_OF_SYNC),
        ("main/aaa", "main@sha1:aaa", Sync.OUT_OF_SYNC),  # strings are compared as written
        ("", "main@sha1:bbb", Sync.UNKNOWN),
        ("main@sha1:aaa", "", Sync.UNKNOWN),
    ],
)
def test_kustomization_sync(applied: str, attempted: str, expected: Sync) -> None:
    status = {"conditions": [cond("Ready", "True", "Ok")]}
    if applied:
        status["lastAppliedRevision"] = applied
    if attempted:
        status["lastAttemptedRevision"] = attempted
    record = normalize(kustomization(status))
    assert record.sync is expected
    assert (record.applied_revision, record.attempted_revision) == (applied, attempted)


def test_inventory_with_rbac_names() -> None:
    record = normalize(load_fixture("kustomization-rbac-inventory.yaml"))
    assert record.status is Status.HEALTHY
    assert [(r.namespace, r.kind, r.name) for r in record.managed] == [
        ("", "ClusterRole", "system:controller:foo"),
        ("", "ClusterRole", "flux-system:reconciler"),
        ("", "ClusterRoleBinding", "flux-system:reconciler"),
        ("kube-system", "RoleBinding", "system:leader-locking-foo"),
        ("team-a", "Secret", "reader"),
    ]
    # Cluster-scoped entries deploy into no namespace.
    assert record.target_namespaces == ["kube-system", "team-a"]


def test_kustomization_target_namespace_plus_inventory() -> None:
    status = {
        "conditions": [cond("Ready", "True", "Ok")],
        "inventory": {"entries": [{"id": "other_x__ConfigMap", "v": "v1"}]},
    }
    record = normalize(kustomization(status, targetNamespace="apps"))
    assert record.target_namespaces == ["apps", "other"]


# -- HelmRelease ---------------------------------------------------------------------------------


def test_helmrelease_v2beta1_rolled_back_upgrade_is_out_of_sync() -> None:
    record = normalize(load_fixture("helmrelease-v2beta1-upgrade-failed.yaml"))
    assert (record.group, record.version) == (HR, "v2beta1")
    assert (record.status, record.sync, record.reason) == (
        Status.DEGRADED,
        Sync.OUT_OF_SYNC,
        "UpgradeFailed",
    )
    assert (record.applied_revision, record.attempted_revision) == ("6.5.3", "6.5.4")
    assert record.details["failures"] == 2
    assert record.details["upgradeFailures"] == 1
    assert record.target_namespaces == ["apps"]


def test_helmrelease_v2beta1_ready_is_synced() -> None:
    record = normalize(load_fixture("helmrelease-v2beta1-ready.yaml"))
    assert (record.status, record.sync) == (Status.HEALTHY, Sync.SYNCED)
    assert record.applied_revision == record.attempted_revision == "6.5.4"


def test_helmrelease_v2_failed_upgrade_with_history() -> None:
    record = normalize(load_fixture("helmrelease-upgrade-failed-history.yaml"))
    assert (record.status, record.sync, record.reason) == (
        Status.DEGRADED,
        Sync.OUT_OF_SYNC,
        "RetriesExceeded",
    )
    assert (record.applied_revision, record.attempted_revision) == ("6.5.4", "6.5.5")
    # storageNamespace (helm-storage) only holds release secrets: not a target.
    assert record.target_namespaces == ["apps"]
    assert len(record.managed) == 3
    details = record.details
    assert (details["failures"], details["installFailures"], details["upgradeFailures"]) == (
        1,
        0,
        1,
    )
    assert details["lastAttemptedReleaseAction"] == "upgrade"
    assert details["storageNamespace"] == "helm-storage"
    assert [(h["version"], h["chartVersion"], h["status"]) for h in details["history"]] == [
        (3, "6.5.5", "failed"),
        (2, "6.5.4", "deployed"),
    ]


def test_helmrelease_remediated_same_chart_version_is_out_of_sync() -> None:
    obj = load_fixture("helmrelease-suspended.yaml")
    obj["spec"].pop("suspend")
    obj["status"]["conditions"] = [
        cond("Reconciling", "True", "ProgressingWithRetry", "rolled back"),
        cond("Ready", "False", "RollbackSucceeded", "Helm rollback succeeded"),
        cond("Released", "False", "UpgradeFailed", "values rejected by webhook"),
        cond("Remediated", "True", "RollbackSucceeded", "Helm rollback succeeded"),
    ]
    record = normalize(obj)
    # Same chart version attempted and running: only the conditions tell the upgrade failed.
    assert record.applied_revision == record.attempted_revision == "69.2.0-bb.1"
    assert (record.status, record.sync) == (Status.DEGRADED, Sync.OUT_OF_SYNC)
    # What failed comes first; the remediation second.
    assert record.reason == "UpgradeFailed"
    assert record.message == "values rejected by webhook; remediation: Helm rollback succeeded"


def test_helmrelease_config_digest_mismatch_is_out_of_sync() -> None:
    obj = load_fixture("helmrelease-suspended.yaml")
    obj["spec"].pop("suspend")
    obj["status"]["conditions"] = [cond("Ready", "Unknown", "Progressing", "upgrading")]
    obj["status"]["lastAttemptedConfigDigest"] = "sha256:" + "f" * 64
    assert normalize(obj).sync is Sync.OUT_OF_SYNC


def test_helmrelease_chart_ref_source() -> None:
    obj = {
        "apiVersion": f"{HR}/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": "apps"},
        "spec": {"chartRef": {"kind": "OCIRepository", "name": "podinfo", "namespace": "oci"}},
        "status": {"conditions": [cond("Ready", "True", "InstallSucceeded")]},
    }
    record = normalize(obj)
    assert record.source == {"kind": "OCIRepository", "name": "podinfo", "namespace": "oci"}
    assert record.dependencies == [DependencyRef("source", "OCIRepository", "oci", "podinfo", SRC)]
    assert record.target_namespaces == ["apps"]


# -- statusless notification kinds ---------------------------------------------------------------


def test_alert_is_healthy_by_existence() -> None:
    record = normalize(load_fixture("alert-exists.yaml"))
    assert (record.status, record.sync, record.reason) == (
        Status.HEALTHY,
        Sync.NOT_APPLICABLE,
        "Exists",
    )
    assert record.message == "Alert has no status; it exists and is not suspended"
    assert record.source == {"kind": "Provider", "name": "grafana", "namespace": "monitoring"}
    assert record.target_namespaces == []


def test_suspended_provider_and_no_secret_address() -> None:
    record = normalize(load_fixture("provider-suspended.yaml"))
    assert (record.status, record.sync) == (Status.SUSPENDED, Sync.NOT_APPLICABLE)
    assert record.source == {"type": "slack"}
    assert "hooks" not in str(record.to_dict())


# -- identity, unknown kinds, helpers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_version", "kind", "tool"),
    [
        ("apps/v1", "Deployment", ""),
        ("v1", "ConfigMap", ""),
        ("fluxcd.controlplane.io/v1", "FluxInstance", ""),
        (f"{KS}/v1", "Kustomisation", "flux"),
        ("argoproj.io/v1alpha1", "Rollout", "argocd"),
    ],
)
def test_unknown_kind(api_version: str, kind: str, tool: str) -> None:
    record = normalize({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}})
    assert (record.status, record.reason) == (Status.UNKNOWN, "UnknownKind")
    assert record.message == f"Tidewatch does not know how to read {kind}"
    assert record.tool == tool


def test_strip_managed_fields_returns_a_copy() -> None:
    raw = kustomization()
    raw["metadata"]["managedFields"] = [{"manager": "kubectl"}]
    original = copy.deepcopy(raw)
    stripped = strip_managed_fields(raw)
    assert "managedFields" not in stripped["metadata"]
    assert stripped["metadata"]["name"] == "apps"
    assert raw == original
    assert strip_managed_fields({"kind": "X"}) == {"kind": "X"}


# -- malformed input: never raises, always Unknown/Malformed ------------------------------------


def broken(mutate) -> dict[str, Any]:
    obj = kustomization(
        {
            "observedGeneration": 1,
            "conditions": [cond("Ready", "True", "Ok", "fine")],
            "lastAppliedRevision": "main@sha1:aaa",
            "lastAttemptedRevision": "main@sha1:aaa",
            "inventory": {"entries": [{"id": "default_podinfo__Service", "v": "v1"}]},
        },
        dependsOn=[{"name": "infra"}],
    )
    mutate(obj)
    return obj


def _walk(obj: Any, path: str) -> tuple[Any, Any]:
    """(container, key) for a dotted path; numeric parts index lists."""
    *parents, last = path.split(".")
    for part in parents:
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj, int(last) if isinstance(obj, list) else last


def _set(path: str, value: Any):
    def mutate(obj: dict[str, Any]) -> None:
        container, key = _walk(obj, path)
        container[key] = value

    return mutate


def _delete(path: str):
    def mutate(obj: dict[str, Any]) -> None:
        container, key = _walk(obj, path)
        del container[key]

    return mutate


MALFORMED_FLUX: list[tuple[str, Any, str]] = [
    # (case, raw object, a word the message must contain)
    ("none", None, "expected an object"),
    ("a list", [kustomization()], "expected an object"),
    ("a string", "kind: Kustomization", "expected an object"),
    ("no metadata", broken(_delete("metadata")), "metadata"),
    ("metadata a list", broken(_set("metadata", ["apps"])), "metadata"),
    ("no name", broken(_delete("metadata.name")), "metadata.name is missing"),
    ("no apiVersion", broken(_delete("apiVersion")), "apiVersion is missing"),
    ("kind a number", broken(_set("kind", 7)), "kind"),
    ("status a string", broken(_set("status", "Ready")), "status: expected an object"),
    ("conditions a dict", broken(_set("status.conditions", {"Ready": "True"})), "conditions"),
    ("condition an int", broken(_set("status.conditions.0", 3)), "conditions[0]"),
    ("condition null", broken(_set("status.conditions.0", None)), "got null"),
    ("condition without type", broken(_delete("status.conditions.0.type")), "type is missing"),
    ("condition status Maybe", broken(_set("status.conditions.0.status", "Maybe")), "Maybe"),
    ("entries a string", broken(_set("status.inventory.entries", "x")), "entries"),
    ("inventory id garbage", broken(_set("status.inventory.entries.0.id", "nonsense")), "nonsense"),
    (
        "inventory id 5 fields",
        broken(_set("status.inventory.entries.0.id", "a_b_c_d_e")),
        "too many fields",
    ),
    ("suspend a string", broken(_set("spec.suspend", "yes")), "spec.suspend"),
    ("generation a string", broken(_set("metadata.generation", "3")), "metadata.generation"),
    ("sourceRef a string", broken(_set("spec.sourceRef", "flux-system")), "spec.sourceRef"),
    ("dependsOn a dict", broken(_set("spec.dependsOn", {"name": "infra"})), "spec.dependsOn"),
    ("labels a list", broken(_set("metadata.labels", ["a"])), "metadata.labels"),
    ("revision a number", broken(_set("status.lastAppliedRevision", 3)), "lastAppliedRevision"),
]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [(raw, needle) for _, raw, needle in MALFORMED_FLUX],
    ids=[case for case, _, _ in MALFORMED_FLUX],
)
def test_malformed_flux_object(raw: Any, needle: str) -> None:
    record = normalize(raw)
    assert (record.status, record.reason) == (Status.UNKNOWN, "Malformed")
    assert needle in record.message
    assert record.details["problems"]


def test_malformed_helmrelease_shapes() -> None:
    obj = load_fixture("helmrelease-upgrade-failed-history.yaml")
    obj["status"]["history"][1] = "deployed"
    obj["status"]["helmChart"] = "no-slash"
    record = normalize(obj)
    assert (record.status, record.reason) == (Status.UNKNOWN, "Malformed")
    assert "status.history[1]: expected an object, got str" in record.details["problems"]
    assert any("status.helmChart" in p for p in record.details["problems"])
    # What could be read is kept.
    assert len(record.managed) == 3


class _Exploding(dict):
    def get(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom")


def test_safety_net_turns_bugs_into_malformed_records() -> None:
    record = normalize(_Exploding(kind="Kustomization"))
    assert (record.status, record.reason) == (Status.UNKNOWN, "Malformed")
    assert "RuntimeError: boom" in record.message
