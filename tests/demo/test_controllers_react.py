"""The demo's controllers answer what `flux` and Argo CD write, over HTTP through the real client.

Each test writes the request exactly as the CLI / API server does (the patch literal, its content
type) and then moves the controllers on with ``tick()``: one phase per tick, timestamps from a
pinned clock, so every intermediate state is asserted without waiting. One test runs the
controllers' own thread and follows the object with a watch, as the dashboard does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client import ApiClient

from clusters.demo.controllers import (
    FORCE_AT,
    Controllers,
    annotation_request,
    handles_reconcile_requests,
    retry_outcome,
)
from clusters.demo.crds import validator
from clusters.demo.server import DemoCluster
from clusters.demo.timeline import Timeline
from tests.demo.conftest import NOW, raw

KS = ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
HR = ("helm.toolkit.fluxcd.io", "v2", "helmreleases")
GIT = ("source.toolkit.fluxcd.io", "v1", "gitrepositories")
APP = ("argoproj.io", "v1alpha1", "applications")
MERGE = {"Content-Type": "application/merge-patch+json"}
# `flux reconcile` writes time.Now().Format(time.RFC3339Nano).
TOKEN = "2026-11-26T12:00:00.123456789Z"

Obj = dict[str, Any]


class Clock:
    """Each call is one second after the last: every write of a tick gets that tick's time."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def controllers(fresh_cluster: DemoCluster, clock: Clock) -> Controllers:
    reacting = Controllers(fresh_cluster, clock=clock)
    assert reacting.tick() == []  # the scenario as built asks for nothing
    return reacting


def patch(api: ApiClient, resource: tuple[str, str, str], ns: str, name: str, body: Any) -> Obj:
    """A merge patch, as controller-runtime's client.MergeFrom (the flux CLI) sends it."""
    group, version, plural = resource
    path = f"/apis/{group}/{version}/namespaces/{ns}/{plural}/{name}"
    status, _, data = raw(api, "PATCH", path, body=body, headers=MERGE)
    assert status == 200, data
    return json.loads(data)  # the object as patched, before any controller answered


def get(api: ApiClient, resource: tuple[str, str, str], ns: str, name: str) -> Obj:
    group, version, plural = resource
    return client.CustomObjectsApi(api).get_namespaced_custom_object(
        group, version, ns, plural, name
    )


def condition(obj: Obj, type_: str) -> tuple[str, str] | None:
    for c in obj.get("status", {}).get("conditions") or []:
        if c["type"] == type_:
            return c["status"], c.get("reason", "")  # a Pod's conditions carry none
    return None


def writer(obj: Obj, manager: str, subresource: str | None = None) -> Obj:
    (entry,) = [
        e
        for e in obj["metadata"]["managedFields"]
        if (e["manager"], e.get("subresource")) == (manager, subresource)
    ]
    return entry


def reconcile(annotations: dict[str, str]) -> Obj:
    return {"metadata": {"annotations": annotations}}


def assert_valid(obj: Obj) -> None:
    errors = list(validator(obj["apiVersion"], obj["kind"]).iter_errors(obj))
    assert errors == [], [e.message for e in errors]


# --- Flux: reconcile ----------------------------------------------------------------------------


def _one_of_each_reconcilable_kind(cluster: DemoCluster) -> list[Obj]:
    picked: dict[str, Obj] = {}
    for group, kind in cluster.store.kinds():
        for obj in cluster.store.list(group, kind)[1]:
            ready = condition(obj, "Ready")
            if handles_reconcile_requests(obj["apiVersion"], kind) and ready and ready[0] == "True":
                picked.setdefault(kind, obj)
    return list(picked.values())


def test_every_reconcilable_kind_goes_progressing_then_ready_with_the_request_handled(
    fresh_client: ApiClient, fresh_cluster: DemoCluster, clock: Clock, controllers: Controllers
) -> None:
    objects = _one_of_each_reconcilable_kind(fresh_cluster)
    kinds = {o["kind"] for o in objects}
    assert {"Kustomization", "HelmRelease", "GitRepository", "HelmRepository"} <= kinds
    assert {"HelmChart", "ImageRepository", "ImagePolicy"} <= kinds
    assert "Alert" not in kinds and "Provider" not in kinds  # v1beta3: static, no reconciler
    for obj in objects:
        group, version = obj["apiVersion"].split("/")
        plural = fresh_cluster.resolve(group, obj["kind"]).plural
        resource = (group, version, plural)
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        requested = patch(
            fresh_client, resource, ns, name, reconcile({"reconcile.fluxcd.io/requestedAt": TOKEN})
        )

        controllers.tick()
        progressing = get(fresh_client, resource, ns, name)
        assert condition(progressing, "Reconciling") == ("True", "Progressing"), obj["kind"]
        assert condition(progressing, "Ready") == ("Unknown", "Progressing")
        assert "lastHandledReconcileAt" not in progressing["status"]  # recorded at the end
        assert int(progressing["metadata"]["resourceVersion"]) > int(
            requested["metadata"]["resourceVersion"]
        )

        controllers.tick()
        ready = get(fresh_client, resource, ns, name)
        assert ready["status"]["lastHandledReconcileAt"] == TOKEN, obj["kind"]
        assert condition(ready, "Ready")[0] == "True"
        assert condition(ready, "Reconciling") is None
        assert ready["status"]["observedGeneration"] == ready["metadata"]["generation"]
        # The status write is the controller's, through the status subresource.
        entry = [e for e in ready["metadata"]["managedFields"] if e.get("subresource")]
        assert len(entry) == 1 and "f:lastHandledReconcileAt" in entry[0]["fieldsV1"]["f:status"]
        assert entry[0]["time"] == clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert_valid(ready)
    assert not controllers.busy


def test_a_kustomization_records_the_new_revision_and_history(
    fresh_client: ApiClient, controllers: Controllers
) -> None:
    before = get(fresh_client, KS, "flux-system", "cert-manager-issuers")
    assert condition(before, "Ready") == ("Unknown", "Progressing")  # the scenario's health checks
    patch(fresh_client, KS, "flux-system", "cert-manager-issuers", reconcile({
        "reconcile.fluxcd.io/requestedAt": TOKEN,
    }))  # fmt: skip
    controllers.tick()
    controllers.tick()
    after = get(fresh_client, KS, "flux-system", "cert-manager-issuers")
    source = get(fresh_client, GIT, "flux-system", "flux-system")
    revision = source["status"]["artifact"]["revision"]
    assert condition(after, "Ready") == ("True", "ReconciliationSucceeded")
    assert after["status"]["lastAppliedRevision"] == revision
    assert after["status"]["history"][0]["metadata"]["revision"] == revision
    assert writer(after, "gotk-kustomize-controller", "status")["time"] >= NOW.isoformat()[:19]


def test_a_dependency_that_is_not_ready_keeps_the_kustomization_waiting(
    fresh_client: ApiClient, controllers: Controllers
) -> None:
    certificates = ("flux-system", "platform-certificates")
    patch(fresh_client, KS, *certificates, reconcile({"reconcile.fluxcd.io/requestedAt": "1"}))
    controllers.tick()
    controllers.tick()
    waiting = get(fresh_client, KS, *certificates)
    assert condition(waiting, "Ready") == ("False", "DependencyNotReady")
    assert waiting["status"]["lastHandledReconcileAt"] == "1"

    # Reconcile the dependency, then the waiting one: both turn green (the cause was transient).
    patch(fresh_client, KS, "flux-system", "cert-manager-issuers", reconcile({
        "reconcile.fluxcd.io/requestedAt": "2",
    }))  # fmt: skip
    controllers.tick()
    controllers.tick()
    patch(fresh_client, KS, *certificates, reconcile({"reconcile.fluxcd.io/requestedAt": "3"}))
    controllers.tick()
    controllers.tick()
    assert condition(get(fresh_client, KS, *certificates), "Ready") == (
        "True",
        "ReconciliationSucceeded",
    )


def test_a_fetch_that_timed_out_goes_green_on_reconcile(
    fresh_client: ApiClient, fresh_cluster: DemoCluster, clock: Clock, controllers: Controllers
) -> None:
    timeline = Timeline(fresh_cluster, clock=clock)
    for _ in range(13):  # episodes 1-3, then the environment repo's fetch times out
        timeline.step()
    repo = ("bigbang", "environment-repo")
    failed = get(fresh_client, GIT, *repo)
    assert condition(failed, "Ready") == ("False", "GitOperationFailed")
    patch(fresh_client, GIT, *repo, reconcile({"reconcile.fluxcd.io/requestedAt": TOKEN}))
    controllers.tick()
    controllers.tick()
    healed = get(fresh_client, GIT, *repo)
    assert condition(healed, "Ready") == ("True", "Succeeded")
    assert condition(healed, "FetchFailed") is None
    assert healed["status"]["lastHandledReconcileAt"] == TOKEN
    assert_valid(healed)


# --- Flux: HelmRelease failures, --force, --reset ------------------------------------------------


def test_the_bad_values_incident_fails_again_on_reconcile(
    fresh_client: ApiClient, controllers: Controllers
) -> None:
    before = get(fresh_client, HR, "bigbang", "gitlab")
    assert before["status"]["failures"] == 1
    patch(fresh_client, HR, "bigbang", "gitlab", reconcile({
        "reconcile.fluxcd.io/requestedAt": TOKEN,
    }))  # fmt: skip
    controllers.tick()
    assert condition(get(fresh_client, HR, "bigbang", "gitlab"), "Ready") == (
        "Unknown",
        "Progressing",
    )
    controllers.tick()
    after = get(fresh_client, HR, "bigbang", "gitlab")
    assert after["status"]["lastHandledReconcileAt"] == TOKEN
    assert condition(after, "Ready") == ("False", "UpgradeFailed")
    assert "denied the request" in after["status"]["conditions"][1]["message"]
    assert after["status"]["failures"] == 2 and after["status"]["upgradeFailures"] == 2
    newest = after["status"]["history"][0]
    assert (newest["version"], newest["status"]) == (before["status"]["history"][0]["version"] + 1,
                                                     "failed")  # fmt: skip
    assert (
        "f:lastHandledReconcileAt"
        in writer(after, "helm-controller", "status")["fieldsV1"]["f:status"]
    )
    assert_valid(after)


def _failed_monitoring_upgrade(cluster: DemoCluster, clock: Clock) -> Timeline:
    timeline = Timeline(cluster, clock=clock)
    timeline.step()  # Big Bang moves monitoring to a new chart
    timeline.step()  # the upgrade fails on an immutable selector
    return timeline


def test_force_fixes_the_immutable_selector_that_a_plain_reconcile_does_not(
    fresh_client: ApiClient, fresh_cluster: DemoCluster, clock: Clock, controllers: Controllers
) -> None:
    timeline = _failed_monitoring_upgrade(fresh_cluster, clock)
    monitoring = ("bigbang", "monitoring")
    failed = get(fresh_client, HR, *monitoring)
    assert condition(failed, "Ready") == ("False", "UpgradeFailed")

    patch(fresh_client, HR, *monitoring, reconcile({"reconcile.fluxcd.io/requestedAt": "plain"}))
    controllers.tick()
    controllers.tick()
    again = get(fresh_client, HR, *monitoring)
    assert condition(again, "Ready") == ("False", "UpgradeFailed")
    assert again["status"]["upgradeFailures"] == 2

    # flux reconcile hr monitoring --force: both annotations, one value.
    patch(fresh_client, HR, *monitoring, reconcile({
        "reconcile.fluxcd.io/forceAt": TOKEN,
        "reconcile.fluxcd.io/requestedAt": TOKEN,
    }))  # fmt: skip
    controllers.tick()
    controllers.tick()
    fixed = get(fresh_client, HR, *monitoring)
    status = fixed["status"]
    assert condition(fixed, "Ready") == ("True", "UpgradeSucceeded")
    assert condition(fixed, "Released") == ("True", "UpgradeSucceeded")
    assert status["lastHandledForceAt"] == TOKEN and status["lastHandledReconcileAt"] == TOKEN
    assert "failures" not in status and "upgradeFailures" not in status
    newest = status["history"][0]
    assert (
        newest["status"] == "deployed" and newest["chartVersion"] == status["lastAttemptedRevision"]
    )
    assert newest["version"] == again["status"]["history"][0]["version"] + 1
    assert_valid(fixed)
    timeline.step()  # the scripted rollback: nothing to remediate any more
    assert get(fresh_client, HR, *monitoring)["status"] == status


def test_reset_clears_the_failure_counts_and_retries(
    fresh_client: ApiClient, controllers: Controllers
) -> None:
    gitlab = ("bigbang", "gitlab")
    for n in range(3):  # retries: 3 -> four failed upgrades exhaust them
        patch(fresh_client, HR, *gitlab, reconcile({"reconcile.fluxcd.io/requestedAt": f"r{n}"}))
        controllers.tick()
        controllers.tick()
    exhausted = get(fresh_client, HR, *gitlab)
    assert exhausted["status"]["upgradeFailures"] == 4
    history = exhausted["status"]["history"]

    patch(fresh_client, HR, *gitlab, reconcile({"reconcile.fluxcd.io/requestedAt": "stalled"}))
    controllers.tick()
    controllers.tick()
    stalled = get(fresh_client, HR, *gitlab)
    assert condition(stalled, "Stalled") == ("True", "RetriesExceeded")
    assert stalled["status"]["history"] == history  # no new attempt
    assert stalled["status"]["lastHandledReconcileAt"] == "stalled"

    # flux reconcile hr gitlab --reset
    patch(fresh_client, HR, *gitlab, reconcile({
        "reconcile.fluxcd.io/requestedAt": TOKEN,
        "reconcile.fluxcd.io/resetAt": TOKEN,
    }))  # fmt: skip
    controllers.tick()
    controllers.tick()
    reset = get(fresh_client, HR, *gitlab)
    assert reset["status"]["lastHandledResetAt"] == TOKEN
    assert condition(reset, "Stalled") is None
    # The counters started again from zero; the retry met the same policy and counts once.
    assert reset["status"]["failures"] == 1 and reset["status"]["upgradeFailures"] == 1
    assert reset["status"]["history"][0]["version"] == history[0]["version"] + 1


def test_a_force_value_other_than_requested_at_is_recorded_but_not_acted_on(
    fresh_client: ApiClient, controllers: Controllers
) -> None:
    istio = ("bigbang", "istiod")
    before = get(fresh_client, HR, *istio)
    assert condition(before, "Ready")[0] == "True"
    patch(fresh_client, HR, *istio, reconcile({
        "reconcile.fluxcd.io/forceAt": "old",
        "reconcile.fluxcd.io/requestedAt": TOKEN,
    }))  # fmt: skip
    controllers.tick()
    controllers.tick()
    after = get(fresh_client, HR, *istio)
    assert after["status"]["lastHandledForceAt"] == "old"
    assert after["status"]["history"] == before["status"]["history"]  # no forced upgrade
    assert condition(after, "Ready") == condition(before, "Ready")


# --- Flux: suspend / resume ----------------------------------------------------------------------


def test_suspend_stops_the_timeline_and_resume_reconciles(
    fresh_client: ApiClient, fresh_cluster: DemoCluster, clock: Clock, controllers: Controllers
) -> None:
    monitoring = ("bigbang", "monitoring")
    patch(fresh_client, HR, *monitoring, {"spec": {"suspend": True}})  # flux suspend hr
    controllers.tick()
    suspended = get(fresh_client, HR, *monitoring)
    assert suspended["status"]["observedGeneration"] == suspended["metadata"]["generation"]

    timeline = Timeline(fresh_cluster, clock=clock)
    for _ in range(4):  # the whole monitoring episode
        timeline.step()
    assert get(fresh_client, HR, *monitoring) == suspended

    # A request while suspended is only recorded.
    patch(fresh_client, HR, *monitoring, reconcile({"reconcile.fluxcd.io/requestedAt": TOKEN}))
    controllers.tick()
    recorded = get(fresh_client, HR, *monitoring)
    assert recorded["status"]["lastHandledReconcileAt"] == TOKEN
    assert recorded["status"]["conditions"] == suspended["status"]["conditions"]
    assert not controllers.busy

    # flux resume hr: Suspend=false is omitempty, so the merge patch removes the field.
    resumed = patch(fresh_client, HR, *monitoring, {"spec": {"suspend": None}})
    controllers.tick()
    assert condition(get(fresh_client, HR, *monitoring), "Reconciling") == ("True", "Progressing")
    controllers.tick()
    ready = get(fresh_client, HR, *monitoring)
    assert condition(ready, "Ready")[0] == "True"
    assert ready["status"]["observedGeneration"] == resumed["metadata"]["generation"]

    Timeline(fresh_cluster, clock=clock).step()  # the next loop's upgrade moves it again
    assert (
        get(fresh_client, HR, *monitoring)["metadata"]["resourceVersion"]
        != ready["metadata"]["resourceVersion"]
    )


def test_suspending_mid_reconcile_records_the_request_and_leaves_ready_as_it_was(
    fresh_client: ApiClient, controllers: Controllers
) -> None:
    gitlab = ("bigbang", "gitlab")
    before = get(fresh_client, HR, *gitlab)
    patch(fresh_client, HR, *gitlab, reconcile({"reconcile.fluxcd.io/requestedAt": TOKEN}))
    controllers.tick()  # Progressing
    patch(fresh_client, HR, *gitlab, {"spec": {"suspend": True}})
    controllers.tick()
    after = get(fresh_client, HR, *gitlab)
    assert after["status"]["lastHandledReconcileAt"] == TOKEN
    ready = [c for c in after["status"]["conditions"] if c["type"] == "Ready"]
    assert ready == [c for c in before["status"]["conditions"] if c["type"] == "Ready"]
    assert condition(after, "Reconciling") is None
    assert after["status"]["history"] == before["status"]["history"]
    assert not controllers.busy


# --- Argo CD: sync, refresh, terminate ----------------------------------------------------------


SYNC = {
    "operation": {
        "initiatedBy": {"username": "alice"},
        "sync": {"prune": True, "revision": "main", "syncStrategy": {"hook": {}}},
    }
}


def test_sync_runs_then_succeeds_with_a_history_entry(
    fresh_client: ApiClient, controllers: Controllers
) -> None:
    app = ("argocd", "data-platform")
    before = get(fresh_client, APP, *app)
    assert before["status"]["sync"]["status"] == "OutOfSync"
    patch(fresh_client, APP, *app, SYNC)

    controllers.tick()
    running = get(fresh_client, APP, *app)
    state = running["status"]["operationState"]
    assert state["phase"] == "Running" and state["startedAt"] and "finishedAt" not in state
    assert state["operation"] == SYNC["operation"]
    assert running["operation"] == SYNC["operation"]

    controllers.tick()
    synced = get(fresh_client, APP, *app)
    state = synced["status"]["operationState"]
    target = before["status"]["sync"]["revision"]
    assert state["phase"] == "Succeeded" and state["finishedAt"] >= state["startedAt"]
    assert state["syncResult"]["revision"] == target  # "main" resolved to its commit
    assert {r["name"] for r in state["syncResult"]["resources"]} >= {"ingest-worker"}
    assert "operation" not in synced
    assert synced["status"]["sync"]["status"] == "Synced"
    assert synced["status"]["health"]["status"] == "Progressing"
    newest, previous = synced["status"]["history"][-1], before["status"]["history"][-1]
    assert newest["id"] == previous["id"] + 1
    assert newest["initiatedBy"] == {"username": "alice"}
    assert newest["revision"] == target and newest["deployedAt"] == state["finishedAt"]
    # No status subresource on Applications: the controller's entry owns operationState.
    assert (
        "f:operationState"
        in writer(synced, "argocd-application-controller")["fieldsV1"]["f:status"]
    )

    controllers.tick()
    healthy = get(fresh_client, APP, *app)
    assert healthy["status"]["health"]["status"] == "Healthy"
    assert not controllers.busy
    assert_valid(healthy)


def test_an_operation_set_by_update_as_argocd_server_does_runs_too(
    fresh_client: ApiClient, controllers: Controllers
) -> None:
    custom = client.CustomObjectsApi(fresh_client)
    app = get(fresh_client, APP, "argocd", "data-platform")
    # argo.SetAppOperation: Get, set operation, clear operationState, Update.
    app["operation"] = SYNC["operation"]
    del app["status"]["operationState"]
    custom.replace_namespaced_custom_object(*APP[:2], "argocd", APP[2], "data-platform", app)
    controllers.tick()
    controllers.tick()
    done = get(fresh_client, APP, "argocd", "data-platform")
    assert done["status"]["operationState"]["phase"] == "Succeeded"


@pytest.mark.parametrize("kind", ["normal", "hard"])
def test_refresh_removes_the_annotation_and_moves_reconciled_at(
    fresh_client: ApiClient, controllers: Controllers, kind: str
) -> None:
    app = ("argocd", "data-platform")
    before = get(fresh_client, APP, *app)
    patch(fresh_client, APP, *app, reconcile({"argocd.argoproj.io/refresh": kind}))
    controllers.tick()
    after = get(fresh_client, APP, *app)
    assert "argocd.argoproj.io/refresh" not in after["metadata"]["annotations"]
    assert after["status"]["reconciledAt"] > before["status"]["reconciledAt"]
    assert after["status"]["sync"]["status"] == "OutOfSync"  # the drift is still there
    assert writer(after, "argocd-application-controller")["time"] == after["status"]["reconciledAt"]
    assert not controllers.busy


def test_terminate_ends_the_running_operation_failed(
    fresh_client: ApiClient, controllers: Controllers
) -> None:
    app = ("argocd", "data-platform")
    before = get(fresh_client, APP, *app)
    patch(fresh_client, APP, *app, SYNC)
    controllers.tick()  # Running
    # argocd app terminate-op: the API server sets the phase to Terminating.
    patch(fresh_client, APP, *app, {"status": {"operationState": {"phase": "Terminating"}}})
    controllers.tick()
    ended = get(fresh_client, APP, *app)
    state = ended["status"]["operationState"]
    assert state["phase"] == "Failed" and state["message"] == "Operation terminated"
    assert state["finishedAt"] and "operation" not in ended
    assert ended["status"]["history"] == before["status"]["history"]
    assert ended["status"]["sync"]["status"] == "OutOfSync"
    controllers.tick()
    assert get(fresh_client, APP, *app) == ended  # nothing left running
    assert_valid(ended)


# --- the controllers' own thread, followed by a watch ---------------------------------------------


@pytest.fixture
def running(fresh_cluster: DemoCluster) -> Iterator[Controllers]:
    reacting = Controllers(fresh_cluster, tick_seconds=0.05)
    reacting.start()
    yield reacting
    reacting.stop()


def follow(
    api: ApiClient, resource: tuple[str, str, str], ns: str, name: str, rv: str,
    until: Callable[[Obj], bool],
) -> list[Obj]:  # fmt: skip
    """Every state the object passes through after ``rv``, until ``until`` holds (a watch)."""
    group, version, plural = resource
    seen: list[Obj] = []
    stream = watch.Watch().stream(
        client.CustomObjectsApi(api).list_namespaced_custom_object,
        group, version, ns, plural,
        field_selector=f"metadata.name={name}", resource_version=rv, timeout_seconds=20,
    )  # fmt: skip
    for event in stream:
        seen.append(event["object"])
        if until(event["object"]):
            break
    return seen


def test_the_running_controllers_react_within_their_ticks(
    fresh_client: ApiClient, running: Controllers
) -> None:
    requested = patch(fresh_client, KS, "flux-system", "cert-manager-issuers", reconcile({
        "reconcile.fluxcd.io/requestedAt": TOKEN,
    }))  # fmt: skip
    states = follow(
        fresh_client, KS, "flux-system", "cert-manager-issuers",
        requested["metadata"]["resourceVersion"],
        lambda o: o.get("status", {}).get("lastHandledReconcileAt") == TOKEN,
    )  # fmt: skip
    assert states[-1]["status"]["lastHandledReconcileAt"] == TOKEN
    assert condition(states[-1], "Ready") == ("True", "ReconciliationSucceeded")
    assert ("Unknown", "Progressing") in [condition(s, "Ready") for s in states[:-1]]

    synced = patch(fresh_client, APP, "argocd", "data-platform", SYNC)
    states = follow(
        fresh_client, APP, "argocd", "data-platform", synced["metadata"]["resourceVersion"],
        lambda o: o["status"].get("health", {}).get("status") == "Healthy"
        and o["status"]["operationState"]["phase"] == "Succeeded",
    )  # fmt: skip
    phases = [s["status"]["operationState"]["phase"] for s in states]
    assert phases.index("Running") < phases.index("Succeeded")
    assert states[-1]["status"]["sync"]["status"] == "Synced"


# --- the pure rules ------------------------------------------------------------------------------


FORCE = FORCE_AT


@pytest.mark.parametrize(
    ("annotations", "handled", "expected"),
    [
        ({"reconcile.fluxcd.io/requestedAt": "a", FORCE: "a"}, {}, (True, "a")),
        ({"reconcile.fluxcd.io/requestedAt": "b", FORCE: "a"}, {}, (False, "a")),  # stale value
        (
            {"reconcile.fluxcd.io/requestedAt": "a", FORCE: "a"},
            {"lastHandledForceAt": "a"},
            (False, "a"),
        ),  # fmt: skip
        (
            {"reconcile.fluxcd.io/requestedAt": "a", FORCE: "a"},
            {"lastHandledReconcileAt": "a"},
            (False, "a"),
        ),  # fmt: skip
        ({"reconcile.fluxcd.io/requestedAt": "a"}, {}, (False, None)),
    ],
)
def test_force_requests_follow_handle_annotation_request(
    annotations: dict[str, str], handled: dict[str, str], expected: tuple[bool, str | None]
) -> None:
    obj = {"metadata": {"annotations": annotations}, "status": handled}
    assert annotation_request(obj, FORCE, "lastHandledForceAt") == expected


IMMUTABLE = 'Deployment.apps "x" is invalid: spec.selector: Invalid value: {}: field is immutable'
DENIED = 'admission webhook "validate.kyverno.svc-fail" denied the request'


@pytest.mark.parametrize(
    ("reason", "message", "force", "heals"),
    [
        ("GitOperationFailed", "dial tcp 10.0.0.1:443: i/o timeout", False, True),
        ("HealthCheckFailed", "health check failed after 5m0s", False, True),
        ("DependencyNotReady", "dependency 'a/b' is not ready", False, True),
        ("UpgradeFailed", IMMUTABLE, False, False),
        ("UpgradeFailed", IMMUTABLE, True, True),  # Helm's replacement strategy
        ("UpgradeFailed", DENIED, False, False),
        ("UpgradeFailed", DENIED, True, False),  # the policy still denies it
    ],
)
def test_whether_a_retry_heals_depends_on_the_cause(
    reason: str, message: str, force: bool, heals: bool
) -> None:
    failed = {"type": "Ready", "status": "False", "reason": reason, "message": message}
    assert retry_outcome(failed, force=force) is heals
