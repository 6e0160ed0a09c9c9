"""The scripted demo timeline, observed the way the dashboard observes it: over HTTP through the
real ``kubernetes`` client. Every write went through the demo cluster's CRD validation, so a
step that wrote a field the schema does not allow fails here."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiClient

from clusters.demo.__main__ import parse_args
from clusters.demo.server import DemoCluster
from clusters.demo.timeline import EPISODES, Timeline, merge_diff, truncate_helm_history
from clusters.status.normalize import normalize
from clusters.status.vocabulary import Status
from tests.demo.conftest import NOW

HELM = ("helm.toolkit.fluxcd.io", "v2", "helmreleases")
KUSTOMIZE = ("kustomize.toolkit.fluxcd.io", "v1", "kustomizations")
GIT = ("source.toolkit.fluxcd.io", "v1", "gitrepositories")
CHARTS = ("source.toolkit.fluxcd.io", "v1", "helmcharts")
APPS = ("argoproj.io", "v1alpha1", "applications")
STEP = timedelta(seconds=15)


class SteppingClock:
    """Each reading is one step later, as the thread's clock would be."""

    def __init__(self, start: datetime = NOW) -> None:
        self.now = start - STEP

    def __call__(self) -> datetime:
        self.now += STEP
        return self.now


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def timeline(fresh_cluster: DemoCluster, clock: SteppingClock) -> Iterator[Timeline]:
    tl = Timeline(fresh_cluster, clock=clock)
    yield tl
    tl.stop()


@pytest.fixture
def api(fresh_client: ApiClient) -> ApiClient:
    return fresh_client


# --- reading through the client ------------------------------------------------------------------


def get(api: ApiClient, resource: tuple[str, str, str], namespace: str, name: str) -> Any:
    return client.CustomObjectsApi(api).get_namespaced_custom_object(
        resource[0], resource[1], namespace, resource[2], name
    )


def condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    return next((c for c in obj["status"].get("conditions", []) if c["type"] == type_), None)


def ready(obj: dict[str, Any]) -> tuple[str, str]:
    c = condition(obj, "Ready")
    assert c is not None, obj["status"]
    return c["status"], c["reason"]


def events(api: ApiClient, namespace: str, kind: str, name: str) -> dict[str, client.CoreV1Event]:
    """Events about one object, by reason (the newest of each)."""
    found = client.CoreV1Api(api).list_namespaced_event(
        namespace, field_selector=f"involvedObject.kind={kind},involvedObject.name={name}"
    )
    out: dict[str, client.CoreV1Event] = {}
    for e in sorted(found.items, key=lambda e: e.last_timestamp):
        out[e.reason] = e
    return out


def rv(obj: dict[str, Any]) -> int:
    return int(obj["metadata"]["resourceVersion"])


def play_until(timeline: Timeline, episode: str) -> None:
    """Step until the next step is the first of ``episode``."""
    starts = {}
    index = 0
    for e in EPISODES:
        starts[e.name] = index
        index += len(e.steps)
    while timeline.position != starts[episode]:
        timeline.step()


# --- episode 1: HelmRelease ----------------------------------------------------------------------


def test_a_helmrelease_upgrade_fails_is_rolled_back_then_a_fixed_chart_succeeds(
    timeline: Timeline, api: ApiClient
) -> None:
    before = get(api, HELM, "bigbang", "monitoring")
    assert ready(before) == ("True", "UpgradeSucceeded")
    deployed = before["status"]["history"][0]
    assert (deployed["status"], deployed["chartVersion"]) == ("deployed", "77.0.1-bb.0")

    line = timeline.step()
    assert "bigbang/monitoring" in line and "77.0.1-bb.1" in line
    hr = get(api, HELM, "bigbang", "monitoring")
    assert ready(hr) == ("Unknown", "Progressing")
    assert condition(hr, "Reconciling")["reason"] == "Progressing"
    assert hr["status"]["lastAttemptedRevision"] == "77.0.1-bb.1"
    repo = get(api, GIT, "bigbang", "monitoring")
    assert repo["spec"]["ref"]["tag"] == "77.0.1-bb.1"
    assert repo["metadata"]["generation"] == repo["status"]["observedGeneration"] == 2
    assert repo["status"]["artifact"]["revision"].startswith("77.0.1-bb.1@sha1:")
    chart = get(api, CHARTS, "bigbang", "bigbang-monitoring")
    assert chart["status"]["artifact"]["revision"] == "77.0.1-bb.1"
    assert (
        chart["status"]["observedSourceArtifactRevision"] == repo["status"]["artifact"]["revision"]
    )
    assert "NewArtifact" in events(api, "bigbang", "GitRepository", "monitoring")

    timeline.step()
    failed = get(api, HELM, "bigbang", "monitoring")
    assert rv(failed) > rv(hr)
    assert ready(failed) == ("False", "UpgradeFailed")
    assert condition(failed, "Reconciling")["reason"] == "ProgressingWithRetry"
    released = condition(failed, "Released")
    assert (released["status"], released["reason"]) == ("False", "UpgradeFailed")
    assert "field is immutable" in released["message"]
    assert released["observedGeneration"] == failed["metadata"]["generation"]
    assert released["lastTransitionTime"] == "2026-11-26T12:00:15Z"
    assert failed["status"]["failures"] == failed["status"]["upgradeFailures"] == 1
    newest = failed["status"]["history"][0]
    assert (newest["version"], newest["status"], newest["chartVersion"]) == (
        6,
        "failed",
        "77.0.1-bb.1",
    )
    assert normalize(failed).status == Status.DEGRADED
    warning = events(api, "bigbang", "HelmRelease", "monitoring")["UpgradeFailed"]
    assert warning.type == "Warning" and warning.source.component == "helm-controller"
    assert warning.metadata.annotations["helm.toolkit.fluxcd.io/revision"] == "77.0.1-bb.1"

    timeline.step()
    rolled_back = get(api, HELM, "bigbang", "monitoring")
    assert ready(rolled_back) == ("False", "RollbackSucceeded")
    remediated = condition(rolled_back, "Remediated")
    assert (remediated["status"], remediated["reason"]) == ("True", "RollbackSucceeded")
    assert "monitoring/monitoring.v5" in remediated["message"]
    assert [(s["version"], s["status"], s["action"]) for s in rolled_back["status"]["history"]] == [
        (7, "deployed", "rollback"),
        (6, "failed", "upgrade"),
        (5, "superseded", "upgrade"),
    ]
    assert rolled_back["status"]["history"][0]["chartVersion"] == "77.0.1-bb.0"
    assert "RollbackSucceeded" in events(api, "bigbang", "HelmRelease", "monitoring")

    line = timeline.step()
    assert "77.0.1-bb.2" in line
    healed = get(api, HELM, "bigbang", "monitoring")
    assert ready(healed) == ("True", "UpgradeSucceeded")
    assert condition(healed, "Released")["status"] == "True"
    assert condition(healed, "Remediated") is None and condition(healed, "Reconciling") is None
    assert "failures" not in healed["status"] and "upgradeFailures" not in healed["status"]
    assert healed["status"]["lastAttemptedRevision"] == "77.0.1-bb.2"
    history = healed["status"]["history"]
    assert [(s["version"], s["status"]) for s in history] == [(8, "deployed"), (7, "superseded")]
    assert (history[0]["chartVersion"], history[0]["action"]) == ("77.0.1-bb.2", "upgrade")
    assert history[0]["configDigest"] == healed["status"]["lastAttemptedConfigDigest"]
    assert normalize(healed).status == Status.HEALTHY
    assert "UpgradeSucceeded" in events(api, "bigbang", "HelmRelease", "monitoring")
    # Status writes go through the status subresource: the spec's generation never moved.
    assert healed["metadata"]["generation"] == before["metadata"]["generation"]


# --- episode 2: Application ----------------------------------------------------------------------


def test_an_application_goes_out_of_sync_syncs_and_rolls_out(
    timeline: Timeline, api: ApiClient
) -> None:
    play_until(timeline, "application-sync")
    before = get(api, APPS, "argocd", "portfolio")
    assert before["status"]["sync"]["status"] == "Synced"

    timeline.step()
    drifted = get(api, APPS, "argocd", "portfolio")
    sync = drifted["status"]["sync"]
    assert (
        sync["status"] == "OutOfSync" and sync["revision"] != before["status"]["sync"]["revision"]
    )
    assert drifted["status"]["health"]["status"] == "Healthy"
    out_of_sync = {r["name"] for r in drifted["status"]["resources"] if r["status"] == "OutOfSync"}
    assert out_of_sync == {"portfolio-api", "portfolio-web"}
    assert "operation" not in drifted
    # No status subresource: every write bumps metadata.generation, as on a real cluster.
    assert drifted["metadata"]["generation"] > before["metadata"]["generation"]
    assert "ResourceUpdated" in events(api, "argocd", "Application", "portfolio")

    timeline.step()
    running = get(api, APPS, "argocd", "portfolio")
    assert running["operation"]["sync"]["revision"] == sync["revision"]
    assert running["operation"]["initiatedBy"] == {"automated": True}
    state = running["status"]["operationState"]
    assert state["phase"] == "Running" and state["operation"] == running["operation"]
    assert "finishedAt" not in state and "syncResult" not in state
    assert "OperationStarted" in events(api, "argocd", "Application", "portfolio")

    timeline.step()
    synced = get(api, APPS, "argocd", "portfolio")
    assert "operation" not in synced
    state = synced["status"]["operationState"]
    assert state["phase"] == "Succeeded"
    assert state["message"] == "successfully synced (all tasks run)"
    assert state["syncResult"]["revision"] == sync["revision"]
    assert synced["status"]["sync"]["status"] == "Synced"
    assert {r["status"] for r in synced["status"]["resources"]} == {"Synced"}
    assert synced["status"]["health"]["status"] == "Progressing"
    history = synced["status"]["history"]
    assert len(history) == len(before["status"]["history"]) + 1
    assert history[-1]["revision"] == sync["revision"]
    assert history[-1]["id"] == before["status"]["history"][-1]["id"] + 1
    assert "registry.example.mil/portfolio/api:2.15.0" in synced["status"]["summary"]["images"]
    deployment = client.AppsV1Api(api).read_namespaced_deployment("portfolio-api", "portfolio")
    assert deployment.spec.template.spec.containers[0].image.endswith("api:2.15.0")
    assert deployment.status.observed_generation == deployment.metadata.generation
    assert deployment.status.updated_replicas < deployment.spec.replicas
    completed = events(api, "argocd", "Application", "portfolio")["OperationCompleted"]
    assert completed.message == f"Sync operation to {sync['revision']} succeeded"
    assert completed.source.component == "argocd-application-controller"

    timeline.step()
    healthy = get(api, APPS, "argocd", "portfolio")
    assert healthy["status"]["health"]["status"] == "Healthy"
    assert healthy["status"]["sync"]["status"] == "Synced"
    deployment = client.AppsV1Api(api).read_namespaced_deployment("portfolio-api", "portfolio")
    assert deployment.status.updated_replicas == deployment.spec.replicas


# --- episode 3: Kustomizations -------------------------------------------------------------------


def test_a_kustomization_waits_for_its_dependency_then_both_become_ready(
    timeline: Timeline, api: ApiClient
) -> None:
    play_until(timeline, "kustomization-dependency")
    waits_before = events(api, "flux-system", "Kustomization", "platform-certificates")
    count_before = waits_before["DependencyNotReady"].count

    timeline.step()
    fleet = get(api, GIT, "flux-system", "flux-system")
    revision = fleet["status"]["artifact"]["revision"]
    issuers = get(api, KUSTOMIZE, "flux-system", "cert-manager-issuers")
    assert ready(issuers) == ("Unknown", "Progressing")
    assert condition(issuers, "Reconciling")["message"].startswith(
        f"Running health checks for revision {revision}"
    )
    assert issuers["status"]["lastAttemptedRevision"] == revision
    certificates = get(api, KUSTOMIZE, "flux-system", "platform-certificates")
    assert ready(certificates) == ("False", "DependencyNotReady")
    # The rest of the fleet applied the new commit straight away.
    fleet_ks = get(api, KUSTOMIZE, "flux-system", "flux-system")
    assert fleet_ks["status"]["lastAppliedRevision"] == revision

    timeline.step()
    issuers = get(api, KUSTOMIZE, "flux-system", "cert-manager-issuers")
    assert ready(issuers) == ("False", "HealthCheckFailed")
    message = condition(issuers, "Ready")["message"]
    assert "timeout waiting for: [ClusterIssuer/letsencrypt-dod" in message
    assert condition(issuers, "Reconciling")["reason"] == "ProgressingWithRetry"
    failed = events(api, "flux-system", "Kustomization", "cert-manager-issuers")
    assert failed["HealthCheckFailed"].type == "Warning"
    assert ready(get(api, KUSTOMIZE, "flux-system", "platform-certificates")) == (
        "False",
        "DependencyNotReady",
    )

    timeline.step()
    issuers = get(api, KUSTOMIZE, "flux-system", "cert-manager-issuers")
    assert ready(issuers) == ("True", "ReconciliationSucceeded")
    assert issuers["status"]["lastAppliedRevision"] == revision
    assert issuers["status"]["observedGeneration"] == issuers["metadata"]["generation"]
    assert issuers["status"]["history"][0]["metadata"]["revision"] == revision
    assert ready(get(api, KUSTOMIZE, "flux-system", "platform-certificates"))[0] == "False"

    timeline.step()
    certificates = get(api, KUSTOMIZE, "flux-system", "platform-certificates")
    assert ready(certificates) == ("True", "ReconciliationSucceeded")
    assert certificates["status"]["lastAppliedRevision"] == revision
    assert condition(certificates, "Ready")["message"] == f"Applied revision: {revision}"
    waits = events(api, "flux-system", "Kustomization", "platform-certificates")
    assert waits["DependencyNotReady"].count == count_before + 2  # aggregated, not duplicated
    assert "ReconciliationSucceeded" in waits


# --- episode 4: GitRepository --------------------------------------------------------------------


def test_a_source_fails_to_fetch_then_recovers_with_a_new_revision(
    timeline: Timeline, api: ApiClient
) -> None:
    play_until(timeline, "source-fetch")
    before = get(api, GIT, "bigbang", "environment-repo")

    timeline.step()
    failing = get(api, GIT, "bigbang", "environment-repo")
    assert ready(failing) == ("False", "GitOperationFailed")
    fetch = condition(failing, "FetchFailed")
    assert (fetch["status"], fetch["reason"]) == ("True", "GitOperationFailed")
    assert "i/o timeout" in fetch["message"]
    assert failing["status"]["artifact"] == before["status"]["artifact"]  # the old one is served
    first = events(api, "bigbang", "GitRepository", "environment-repo")["GitOperationFailed"]
    assert (first.type, first.count) == ("Warning", 1)

    timeline.step()
    retried = get(api, GIT, "bigbang", "environment-repo")
    assert (
        condition(retried, "Ready")["lastTransitionTime"]
        == (condition(failing, "Ready")["lastTransitionTime"])
    )
    again = events(api, "bigbang", "GitRepository", "environment-repo")["GitOperationFailed"]
    assert again.count == 2 and again.last_timestamp > first.last_timestamp

    timeline.step()
    recovered = get(api, GIT, "bigbang", "environment-repo")
    assert ready(recovered) == ("True", "Succeeded")
    assert condition(recovered, "FetchFailed") is None
    revision = recovered["status"]["artifact"]["revision"]
    assert revision != before["status"]["artifact"]["revision"] and revision.startswith(
        "main@sha1:"
    )
    assert "NewArtifact" in events(api, "bigbang", "GitRepository", "environment-repo")

    timeline.step()
    environment = get(api, KUSTOMIZE, "bigbang", "environment")
    assert environment["status"]["lastAppliedRevision"] == revision
    assert timeline.position == 0 and timeline.loops == 1


# --- the loop as a whole -------------------------------------------------------------------------

TOUCHED = [
    (HELM, "bigbang", "monitoring"),
    (GIT, "bigbang", "monitoring"),
    (CHARTS, "bigbang", "bigbang-monitoring"),
    (APPS, "argocd", "portfolio"),
    (GIT, "flux-system", "flux-system"),
    (KUSTOMIZE, "flux-system", "flux-system"),
    (KUSTOMIZE, "flux-system", "cert-manager-issuers"),
    (KUSTOMIZE, "flux-system", "platform-certificates"),
    (GIT, "bigbang", "environment-repo"),
    (KUSTOMIZE, "bigbang", "environment"),
]


def test_every_loop_fails_and_heals_and_ends_steady(timeline: Timeline, api: ApiClient) -> None:
    seen: dict[tuple[str, str], set[Status]] = {}
    start = {(r[2], ns, name): rv(get(api, r, ns, name)) for r, ns, name in TOUCHED}
    for _ in range(2 * timeline.steps_per_loop):
        timeline.step()
        for resource, ns, name in TOUCHED:
            status = normalize(get(api, resource, ns, name)).status
            seen.setdefault((ns, name), set()).add(status)

    assert timeline.loops == 2
    for resource, ns, name in TOUCHED:
        obj = get(api, resource, ns, name)
        assert normalize(obj).status == Status.HEALTHY, (ns, name, obj["status"])
        assert rv(obj) > start[(resource[2], ns, name)]
    # Each episode's object went red (or amber, for the waiting one) and came back.
    assert Status.DEGRADED in seen[("bigbang", "monitoring")]
    assert Status.DEGRADED in seen[("flux-system", "cert-manager-issuers")]
    assert Status.PROGRESSING in seen[("flux-system", "platform-certificates")]
    assert Status.PROGRESSING in seen[("argocd", "portfolio")]
    assert Status.DEGRADED in seen[("bigbang", "environment-repo")]
    # The second loop moved on from the first instead of replaying it.
    hr = get(api, HELM, "bigbang", "monitoring")
    assert hr["status"]["history"][0]["chartVersion"] == "77.0.1-bb.4"
    app = get(api, APPS, "argocd", "portfolio")
    assert "registry.example.mil/portfolio/api:2.16.0" in app["status"]["summary"]["images"]


def test_the_same_start_and_clock_give_the_same_writes(
    platform: list[dict[str, Any]],
) -> None:
    runs = []
    for _ in range(2):
        cluster = DemoCluster(objects=platform)
        tl = Timeline(cluster, clock=SteppingClock())
        lines = [tl.step() for _ in range(tl.steps_per_loop)]
        runs.append((lines, [cluster.get(r[0], r[2], ns, name) for r, ns, name in TOUCHED]))
    assert runs[0] == runs[1]


def test_steps_for_kinds_not_installed_are_skipped(
    platform: list[dict[str, Any]], clock: SteppingClock
) -> None:
    cluster = DemoCluster(objects=platform, kinds_not_installed=["argoproj.io"])
    tl = Timeline(cluster, clock=clock)
    lines = [tl.step() for _ in range(tl.steps_per_loop)]
    skipped = [line for line in lines if "skipped" in line]
    assert len(skipped) == 4 and all("application-sync" in line for line in skipped)
    hr = cluster.get("helm.toolkit.fluxcd.io", "helmreleases", "bigbang", "monitoring")
    assert hr is not None and ready(hr) == ("True", "UpgradeSucceeded")


def test_events_it_wrote_expire_after_an_hour(fresh_cluster: DemoCluster, api: ApiClient) -> None:
    times = iter([NOW, NOW + timedelta(hours=2)])
    tl = Timeline(fresh_cluster, clock=lambda: next(times))
    tl.step()  # writes NewArtifact and ChartPackageSucceeded
    assert "ChartPackageSucceeded" in events(api, "bigbang", "HelmChart", "bigbang-monitoring")

    tl.step()

    assert "ChartPackageSucceeded" not in events(api, "bigbang", "HelmChart", "bigbang-monitoring")
    assert "UpgradeFailed" in events(api, "bigbang", "HelmRelease", "monitoring")
    # The scenario's own Events are not the timeline's to expire.
    assert "UpgradeFailed" in events(api, "bigbang", "HelmRelease", "gitlab")


# --- the thread ----------------------------------------------------------------------------------


# "Promptly" is measured against the step interval, not the machine: a loaded 2-core machine may
# take a while to schedule the thread, but never as long as the hour a step waits.
PROMPT = 30.0


def wait_for(predicate: Callable[[], bool], timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


def test_the_thread_steps_on_its_own_and_stops_promptly(fresh_cluster: DemoCluster) -> None:
    tl = Timeline(fresh_cluster, step_seconds=0.02)
    tl.start()
    assert tl.running
    with pytest.raises(RuntimeError):
        tl.start()
    assert wait_for(lambda: tl.position >= 3)

    started = time.monotonic()
    tl.stop()
    assert time.monotonic() - started < PROMPT
    assert not tl.running
    position = tl.position
    time.sleep(0.1)
    assert tl.position == position
    assert not any(t.name == "demo-timeline" for t in threading.enumerate())


def test_a_long_step_interval_does_not_delay_stop(fresh_cluster: DemoCluster) -> None:
    tl = Timeline(fresh_cluster, step_seconds=3600)
    tl.start()
    started = time.monotonic()
    tl.stop()
    assert time.monotonic() - started < PROMPT
    assert tl.position == 0  # the first step waits a whole interval: the scenario shows first
    tl.start()  # restartable
    tl.stop()


def test_step_seconds_must_be_positive(fresh_cluster: DemoCluster) -> None:
    with pytest.raises(ValueError):
        Timeline(fresh_cluster, step_seconds=0)


# --- pure helpers and the command line -----------------------------------------------------------


def test_merge_diff_sends_only_what_changed_and_deletes_with_null() -> None:
    old = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1], "gone": True}
    new = {"a": 1, "b": {"c": 2, "d": 4}, "e": [1, 2], "f": {"g": 5}}
    assert merge_diff(old, new) == {"b": {"d": 4}, "e": [1, 2], "f": {"g": 5}, "gone": None}
    assert merge_diff(old, old) == {}


def test_helm_history_is_truncated_like_helm_controller() -> None:
    def snap(version: int, status: str) -> dict[str, Any]:
        return {"version": version, "status": status}

    history = [snap(8, "deployed"), snap(7, "superseded"), snap(6, "failed"), snap(5, "superseded")]
    assert truncate_helm_history(history) == history[:2]
    assert truncate_helm_history([snap(3, "failed"), snap(2, "failed"), snap(1, "deployed")]) == [
        snap(3, "failed"),
        snap(2, "failed"),
        snap(1, "deployed"),
    ]
    failures = [snap(v, "failed") for v in range(9, 0, -1)]
    assert len(truncate_helm_history(failures)) == 5


def test_the_command_line_flags() -> None:
    args = parse_args(["--timeline", "--step-seconds", "2.5"])
    assert args.timeline and args.step_seconds == 2.5
    assert not parse_args([]).timeline and parse_args([]).step_seconds == 15.0
    with pytest.raises(SystemExit):
        parse_args(["--step-seconds", "0"])
