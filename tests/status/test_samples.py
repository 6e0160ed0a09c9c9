"""Every reference sample, with its expected reading written out by hand.

The expectations come from reading each file (see /work/shared/reference/samples/SOURCES.md),
not from running the normalizer: a change in behaviour has to change this table on purpose.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from clusters.status.normalize import normalize
from clusters.status.record import DependencyRef, ObjectRecord
from clusters.status.vocabulary import Status, Sync

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "samples"

# Status-only fragments carry no apiVersion/kind/metadata: wrap them into the kind they belong to.
WRAPPERS = {
    "argocd_application_status_fragment_health_apptree.yaml": (
        "argoproj.io/v1alpha1",
        "Application",
    ),
    "argocd_application_status_fragment_health_persisted.yaml": (
        "argoproj.io/v1alpha1",
        "Application",
    ),
    "flux_kustomization_status_fragment_history.yaml": (
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
    ),
}

H, P, D, U, S = (
    Status.HEALTHY,
    Status.PROGRESSING,
    Status.DEGRADED,
    Status.UNKNOWN,
    Status.SUSPENDED,
)
SYNCED, OOS, SUNK, NA = Sync.SYNCED, Sync.OUT_OF_SYNC, Sync.UNKNOWN, Sync.NOT_APPLICABLE

A40, B40, C40 = "a" * 40, "b" * 40, "c" * 40


@dataclass
class Expect:
    status: Status
    sync: Sync
    reason: str
    # Key facts: record attribute -> value; "managed_count" and "deps" are shorthands.
    facts: dict[str, Any] = field(default_factory=dict)


EXPECTED: dict[str, Expect] = {
    # -- Argo CD Application --------------------------------------------------------------------
    "argocd_application_multisource_operation_succeeded.yaml": Expect(
        # No status.health / status.sync at all: Argo CD has not reported them.
        U,
        SUNK,
        "NotReconciled",
        {
            "revisions": [A40, B40, C40],
            "applied_revision": f"{A40}, {B40}, {C40}",
            "target_namespaces": ["dummy-namespace"],
            "source_count": 3,
        },
    ),
    "argocd_application_outofsync_degraded_warnings.yaml": Expect(
        D,
        OOS,
        "OrphanedResourceWarning",
        {"target_namespaces": ["dummy-namespace"], "condition_count": 3},
    ),
    "argocd_application_progressing_operation_running.yaml": Expect(
        P, OOS, "OperationRunning", {"operation_phase": "Running"}
    ),
    # OutOfSync with drifted resources listed: the headline names them (reason OutOfSync).
    "argocd_application_status_fragment_health_apptree.yaml": Expect(
        H,
        OOS,
        "OutOfSync",
        {"managed_health": [None], "managed_sync": ["OutOfSync"], "target_namespaces": ["foo"]},
    ),
    "argocd_application_status_fragment_health_persisted.yaml": Expect(
        H, OOS, "OutOfSync", {"managed_health": ["Healthy"], "target_namespaces": ["foo"]}
    ),
    "argocd_application_synced_healthy_with_history.yaml": Expect(
        H,
        SYNCED,
        "Healthy",
        {
            # Synced: the compared revision is what runs ("rev1" in this anonymised capture);
            # the last sync operation's resolved revision is the attempted one.
            "applied_revision": "rev1",
            "attempted_revision": "ea8759964626a583667a2bfd08f334ec2070040a",
            "target_namespaces": ["test-lla"],
            "managed_count": 2,
            "last_reconcile_time": "2024-03-05T07:33:04Z",
            "deps": [DependencyRef("parent", "ApplicationSet", "argo-cd", "velero", "argoproj.io")],
        },
    ),
    # -- Argo CD ApplicationSet -----------------------------------------------------------------
    "argocd_applicationset_create_application_error.yaml": Expect(
        # ResourcesUpToDate=False without ErrorOccurred: the spec says Unknown, with its reason.
        U,
        NA,
        "CreateApplicationError",
        {"target_namespaces": ["default"]},
    ),
    "argocd_applicationset_generator_error.yaml": Expect(
        D, NA, "ApplicationGenerationFromParamsError", {"target_namespaces": ["default"]}
    ),
    "argocd_applicationset_healthy_with_resources.yaml": Expect(
        H,
        NA,
        "ApplicationSetUpToDate",
        {
            # destination namespace '{{.path.basename}}' is templated: no target namespace.
            "target_namespaces": [],
            "deps": [
                DependencyRef("child", "Application", "argocd", "test-app1", "argoproj.io"),
                DependencyRef("child", "Application", "argocd", "test-app2", "argoproj.io"),
            ],
        },
    ),
    "argocd_applicationset_progressive_sync_rollout.yaml": Expect(
        P, NA, "ApplicationSetModified", {"target_namespaces": ["default"]}
    ),
    # -- Flux sources ---------------------------------------------------------------------------
    "flux_bucket_operation_failed.yaml": Expect(
        D, NA, "BucketOperationFailed", {"applied_revision": ""}
    ),
    "flux_bucket_suspended_ready.yaml": Expect(
        S,
        NA,
        "Suspended",
        {
            "suspended": True,
            "applied_revision": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "message": "stored artifact for revision "
            "'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'",
            "last_reconcile_time": "2022-07-15T11:46:15.484144053Z",
        },
    ),
    "flux_gitrepository_auth_failed_fetchfailed.yaml": Expect(D, NA, "GitOperationFailed"),
    "flux_gitrepository_ready.yaml": Expect(
        H,
        NA,
        "GitOperationSucceed",
        {"applied_revision": "main@sha1:696f056df216eea4f9401adbee0ff744d4df390f"},
    ),
    "flux_gitrepository_ready_legacy_revision_format.yaml": Expect(
        H,
        NA,
        "Succeeded",
        {
            "applied_revision": "main/1ab71eff7d482a6c5e4ee20b8032a1b4f3bbd23d",
            "target_namespaces": [],
        },
    ),
    "flux_gitrepository_reconciling_unknown.yaml": Expect(P, NA, "Progressing"),
    "flux_helmchart_ready_legacy.yaml": Expect(
        H,
        NA,
        "ChartPullSucceeded",
        {
            "applied_revision": "2.2.0",
            "deps": [
                DependencyRef(
                    "source",
                    "HelmRepository",
                    "metadata",
                    "helmrepository",
                    "source.toolkit.fluxcd.io",
                )
            ],
        },
    ),
    "flux_helmchart_source_unavailable.yaml": Expect(D, NA, "SourceUnavailable"),
    "flux_helmrepository_index_fetch_failed.yaml": Expect(D, NA, "Failed"),
    "flux_ocirepository_pull_denied.yaml": Expect(
        # Reconciling=True reason Progressing (not ...WithRetry): a new attempt is running.
        P,
        NA,
        "Progressing",
        {"message_contains": "DENIED"},
    ),
    "flux_ocirepository_ready_legacy.yaml": Expect(
        H,
        NA,
        "Succeeded",
        {"applied_revision": "84dd766945aa73a62682f2411274dc738eb7547f8d6ae55e8bf84820f20c006d"},
    ),
    # -- Flux HelmRelease -----------------------------------------------------------------------
    "flux_helmrelease_history_superseded_deployed.yaml": Expect(
        # No conditions at all. History is listed oldest-first here; version 2 is the newest.
        U,
        SUNK,
        "NotReconciled",
        {
            "applied_revision": "6.1.0",
            "target_namespaces": ["flux-system"],
            "deps": [
                DependencyRef(
                    "source", "OCIRepository", "flux-system", "podinfo", "source.toolkit.fluxcd.io"
                )
            ],
        },
    ),
    "flux_helmrelease_install_succeeded_ready.yaml": Expect(
        H, SYNCED, "InstallSucceeded", {"target_namespaces": ["default"]}
    ),
    "flux_helmrelease_reconciling_legacy_v2beta1.yaml": Expect(
        P,
        SUNK,
        "Progressing",
        {
            "attempted_revision": "4.0.0",
            "applied_revision": "",
            "target_namespaces": ["weave-gitops"],
            "deps": [
                DependencyRef(
                    "source",
                    "HelmRepository",
                    "flux-system",
                    "ww-gitops",
                    "source.toolkit.fluxcd.io",
                ),
                DependencyRef(
                    "helmchart",
                    "HelmChart",
                    "flux-system",
                    "flux-system-ww-gitops",
                    "source.toolkit.fluxcd.io",
                ),
            ],
        },
    ),
    "flux_helmrelease_stalled_retries_exceeded_test_failed.yaml": Expect(
        D,
        SYNCED,
        "RetriesExceeded",
        {
            "applied_revision": "6.5.3",
            "target_namespaces": ["default"],
            "message_contains": "Helm test failed",
        },
    ),
    "flux_helmrelease_status_fragment_history.yaml": Expect(
        U,
        SUNK,
        "NotReconciled",
        {"applied_revision": "6.6.1+0cc9a8446c95", "target_namespaces": ["podinfo"]},
    ),
    "flux_helmrelease_status_fragment_inventory.yaml": Expect(
        U, SUNK, "NotReconciled", {"managed_count": 3, "target_namespaces": ["default"]}
    ),
    "flux_helmrelease_upgrade_failed_rollback_remediated.yaml": Expect(
        # Reconciling=ProgressingWithRetry + Ready=False: failing and retrying. Rolled back to
        # the same chart version, so only Remediated=True tells it is out of sync. The headline
        # leads with what failed (Released=False), not with "rollback succeeded".
        D,
        OOS,
        "UpgradeFailed",
        {"target_namespaces": ["default"]},
    ),
    "flux_helmrelease_upgrade_in_progress.yaml": Expect(P, SUNK, "Progressing"),
    # -- Flux image automation ------------------------------------------------------------------
    "flux_imagepolicy_dependency_not_ready.yaml": Expect(
        P,
        NA,
        "DependencyNotReady",
        {
            "deps": [
                DependencyRef(
                    "source",
                    "ImageRepository",
                    "argocd",
                    "podinfo-faulty",
                    "image.toolkit.fluxcd.io",
                )
            ]
        },
    ),
    "flux_imagerepository_scan_failed.yaml": Expect(D, NA, "ReadOperationFailed"),
    "flux_imageupdateautomation_failed.yaml": Expect(
        D,
        NA,
        "ReconciliationFailed",
        {
            "deps": [
                DependencyRef(
                    "source", "GitRepository", "default", "podinfo", "source.toolkit.fluxcd.io"
                )
            ]
        },
    ),
    # -- Flux Kustomization ---------------------------------------------------------------------
    "flux_kustomization_artifact_failed_source_not_found.yaml": Expect(
        D, SUNK, "ArtifactFailed", {"target_namespaces": ["default"]}
    ),
    "flux_kustomization_path_not_found_reconciling.yaml": Expect(
        D,
        SYNCED,
        "ArtifactFailed",
        {
            "applied_revision": "master/67e2c98a60dc92283531412a9e604dd4bae005a9",
            "attempted_revision": "master/67e2c98a60dc92283531412a9e604dd4bae005a9",
            "target_namespaces": ["flux-system"],
        },
    ),
    "flux_kustomization_ready_inventory_dependson.yaml": Expect(
        H,
        SYNCED,
        "ReconciliationSucceeded",
        {
            "managed_count": 3,
            "target_namespaces": ["webapp"],
            "deps": [
                DependencyRef(
                    "source", "GitRepository", "default", "webapp", "source.toolkit.fluxcd.io"
                ),
                DependencyRef(
                    "dependsOn", "Kustomization", "default", "common", "kustomize.toolkit.fluxcd.io"
                ),
                DependencyRef(
                    "parent",
                    "Kustomization",
                    "flux-system",
                    "kustomization-testdata",
                    "kustomize.toolkit.fluxcd.io",
                ),
            ],
        },
    ),
    "flux_kustomization_ready_inventory_flux_objects.yaml": Expect(
        # No lastApplied/lastAttemptedRevision in this fixture: sync cannot be told.
        H,
        SUNK,
        "ReconciliationSucceeded",
        {"managed_count": 7, "target_namespaces": ["flux-system"]},
    ),
    "flux_kustomization_status_fragment_history.yaml": Expect(
        U,
        SUNK,
        "NotReconciled",
        {"history_revision": "v1.0.1@sha1:450796ddb2ab6724ee1cc32a4be56da032d1cca0"},
    ),
    # -- Flux notification ----------------------------------------------------------------------
    "flux_receiver_token_not_found.yaml": Expect(D, NA, "TokenNotFound"),
}


def load_sample(name: str) -> dict[str, Any]:
    raw = yaml.safe_load((SAMPLES / name).read_text())
    if name in WRAPPERS:
        api_version, kind = WRAPPERS[name]
        raw = {
            "apiVersion": api_version,
            "kind": kind,
            "metadata": {"name": "fragment", "namespace": "fragments"},
            **raw,
        }
    return raw


def sample_names() -> list[str]:
    return sorted(path.name for path in SAMPLES.glob("*.yaml"))


def test_every_sample_has_an_expectation() -> None:
    assert sample_names(), f"no samples found in {SAMPLES}"
    assert set(sample_names()) == set(EXPECTED)


@pytest.mark.parametrize("name", sample_names())
def test_sample(name: str) -> None:
    record = normalize(load_sample(name))
    expect = EXPECTED[name]
    assert (record.status, record.sync, record.reason) == (
        expect.status,
        expect.sync,
        expect.reason,
    ), record.message
    for fact, value in expect.facts.items():
        if fact == "message_contains":
            assert value in record.message
        else:
            assert actual_fact(record, fact) == value, fact
    # Tool and identity come through for every sample.
    assert record.tool == ("argocd" if name.startswith("argocd") else "flux")
    assert record.name


@pytest.mark.parametrize("name", sample_names())
def test_sample_record_is_json_serialisable(name: str) -> None:
    json.dumps(normalize(load_sample(name)).to_dict())


def actual_fact(record: ObjectRecord, fact: str) -> Any:
    shorthands = {
        "managed_count": lambda: len(record.managed),
        "managed_health": lambda: [ref.health for ref in record.managed],
        "managed_sync": lambda: [ref.sync for ref in record.managed],
        "deps": lambda: record.dependencies,
        "condition_count": lambda: len(record.conditions),
        "source_count": lambda: len(record.source.get("sources", [])),
        "operation_phase": lambda: record.details["operationState"]["phase"],
        "history_revision": lambda: record.details["history"][0]["revision"],
    }
    if fact in shorthands:
        return shorthands[fact]()
    return getattr(record, fact)


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.yaml")), ids=lambda p: p.name)
def test_own_fixture_is_readable_and_json_serialisable(path: Path) -> None:
    record = normalize(yaml.safe_load(path.read_text()))
    assert record.reason not in ("Malformed", "UnknownKind"), record.message
    # Fixture names are <kind>-<state>.yaml.
    assert path.name.split("-")[0] == record.kind.lower()
    json.dumps(record.to_dict())
