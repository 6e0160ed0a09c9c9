"""A scripted timeline that makes the demo cluster move: things fail, then heal, forever.

``Timeline(cluster).step()`` plays the next step against a ``DemoCluster`` and returns one line
saying what happened; ``start()`` runs a daemon thread that steps every ``step_seconds`` (15 s by
default) until ``stop()``. Four episodes of four steps each, so each fails and heals within about
a minute and a whole loop takes four:

1. HelmRelease ``bigbang/monitoring`` (helm-controller): Big Bang moves the package to a new chart
   version and the upgrade starts (Progressing) -> the upgrade fails, an immutable selector
   (Degraded, UpgradeFailed, failure counters) -> helm-controller rolls back (Remediated=True,
   RollbackSucceeded, a ``rollback`` snapshot) -> a fixed chart version is released and the
   upgrade succeeds (Ready=True UpgradeSucceeded, a new ``deployed`` snapshot, history truncated
   as helm-controller truncates it, counters and Remediated cleared).
2. Application ``argocd/portfolio`` (argocd-application-controller): a new commit leaves it
   OutOfSync while still Healthy -> an automated sync operation Running (top-level ``operation``
   and ``operationState``) -> Succeeded and Synced, a history entry, the Deployments rolling
   (health Progressing) -> rollout finished (Healthy).
3. Kustomizations ``flux-system/cert-manager-issuers`` and ``platform-certificates``
   (kustomize-controller): a new fleet-infra commit; the issuers run their health checks while
   the certificates wait (DependencyNotReady) -> the health check times out (HealthCheckFailed)
   -> the issuers become Ready -> the certificates apply and become Ready. kustomize-controller
   records observedGeneration only on success, and the scenario leaves the issuers' generation 3
   unobserved, so in the first loop the dashboard shows that failure as Progressing
   (LatestGenerationNotObserved, with the failure as last status); from the second, Degraded.
4. GitRepository ``bigbang/environment-repo`` (source-controller): fetching times out
   (Ready=False GitOperationFailed, FetchFailed=True) -> the retry fails too -> the fetch
   succeeds with a new artifact revision -> Kustomization ``bigbang/environment`` applies it.

Every step reads the objects as they are and writes their next state, so a timeline can start from
any state (the scenario's or one a previous timeline left) and loops move on from where the last
one ended: chart versions, commits and image tags keep advancing. Status is written the way the
controllers write it: merge patches of ``status`` (of the whole object for Applications, which
have no status subresource), conditions that keep their lastTransitionTime while their status
holds, and core v1 Events that are aggregated (count, lastTimestamp) when they repeat and expire
after an hour, as the API server's event TTL does. Nothing random: the same start state and clock
give the same writes.

A suspended Flux object (``spec.suspend: true``) gets no writes and no Events from the steps, as its
controller stops reconciling it; what the demo's controllers do for requests (reconcile, suspend,
sync ...) is in ``clusters.demo.controllers``.
"""

from __future__ import annotations

import argparse
import copy
import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from clusters.demo.fields import creator, group_kind, record_write, status_writer
from clusters.demo.scenario import (
    SOURCE_CONTROLLER,
    Clock,
    Obj,
    cond,
    event,
    git_revision,
    release_snapshot,
    sha1,
    sha256,
    workload,
)
from clusters.demo.server import DemoCluster, merge_patch

logger = logging.getLogger(__name__)

DEFAULT_STEP_SECONDS = 15.0
# kube-apiserver --event-ttl default.
EVENT_TTL = timedelta(hours=1)
# helm-controller keeps this many snapshots when no older release is deployed or superseded.
HELM_DEFAULT_MAX_HISTORY = 5
# kustomize-controller's status.history and Argo CD's revisionHistoryLimit defaults.
KUSTOMIZE_HISTORY_LIMIT = 5
ARGO_HISTORY_LIMIT = 10

GroupKind = tuple[str, str]
HELMRELEASE: GroupKind = ("helm.toolkit.fluxcd.io", "HelmRelease")
KUSTOMIZATION: GroupKind = ("kustomize.toolkit.fluxcd.io", "Kustomization")
GITREPOSITORY: GroupKind = ("source.toolkit.fluxcd.io", "GitRepository")
HELMCHART: GroupKind = ("source.toolkit.fluxcd.io", "HelmChart")
APPLICATION: GroupKind = ("argoproj.io", "Application")
DEPLOYMENT: GroupKind = ("apps", "Deployment")
EVENT: GroupKind = ("", "Event")

HELM_CONTROLLER = "helm-controller"
KUSTOMIZE_CONTROLLER = "kustomize-controller"
SOURCE_CONTROLLER_NAME = "source-controller"
ARGOCD_CONTROLLER = "argocd-application-controller"

# Conditions in the order Flux controllers list them: the abnormal-true ones, Ready, the rest.
CONDITION_ORDER = (
    *("Reconciling", "Stalled", "Ready", "FetchFailed", "ArtifactInStorage"),
    *("Healthy", "Released", "TestSuccess", "Remediated"),
)


class ObjectMissing(LookupError):
    """A step's object is not in the cluster (deleted, or its CRD left out): the step is skipped."""


# --- small pure helpers --------------------------------------------------------------------------


def merge_diff(old: Any, new: Any) -> Any:
    """The RFC 7386 merge patch that turns ``old`` into ``new`` (lists are replaced whole)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return new
    patch: dict[str, Any] = {key: None for key in old if key not in new}
    for key, value in new.items():
        if key not in old:
            patch[key] = value
        elif old[key] != value:
            patch[key] = merge_diff(old[key], value)
    return patch


def set_condition(
    conditions: list[Obj],
    type_: str,
    status: str,
    reason: str,
    message: str,
    at: str,
    generation: int | None,
) -> list[Obj]:
    """fluxcd/pkg conditions.Set: lastTransitionTime moves only when the status does."""
    old = find_condition(conditions, type_)
    if old is not None and old.get("status") == status:
        at = old.get("lastTransitionTime", at)
    new = cond(type_, status, reason, message, at, generation)
    kept = [c for c in conditions if c.get("type") != type_]
    return sorted([*kept, new], key=_condition_rank)


def set_conditions(
    conditions: list[Obj],
    changes: Iterable[tuple[str, str, str]],
    message: str,
    at: str,
    generation: int | None,
) -> list[Obj]:
    """set_condition for several (type, status, reason) at once, all with one message, as a
    controller writes them in one status update."""
    for type_, status, reason in changes:
        conditions = set_condition(conditions, type_, status, reason, message, at, generation)
    return conditions


def drop_condition(conditions: list[Obj], type_: str) -> list[Obj]:
    return [c for c in conditions if c.get("type") != type_]


def find_condition(conditions: Iterable[Obj], type_: str) -> Obj | None:
    return next((c for c in conditions if c.get("type") == type_), None)


def _condition_rank(condition: Obj) -> int:
    type_ = condition.get("type", "")
    return CONDITION_ORDER.index(type_) if type_ in CONDITION_ORDER else len(CONDITION_ORDER)


def next_bigbang_version(version: str) -> str:
    """Big Bang re-releases an upstream chart as ``-bb.N``; the next fix bumps N."""
    base, sep, build = version.rpartition("-bb.")
    if not sep or not build.isdigit():
        return f"{version}-bb.1"
    return f"{base}-bb.{int(build) + 1}"


def next_minor(tag: str) -> str:
    major, minor, *_ = (tag.split(".") + ["0", "0"])[:3]
    if not (major.isdigit() and minor.isdigit()):
        return f"{tag}-1"
    return f"{major}.{int(minor) + 1}.0"


def next_commit(revision: str) -> str:
    """A fresh, deterministic 40-hex commit after ``revision`` (any revision format)."""
    return sha1(f"next/{revision}")


def truncate_helm_history(history: list[Obj]) -> list[Obj]:
    """helm-controller's Snapshots.Truncate: keep up to the previous deployed/superseded one."""
    ordered = sorted(history, key=lambda s: s.get("version", 0), reverse=True)
    for i, snapshot in enumerate(ordered[1:], start=1):
        if snapshot.get("status") in ("deployed", "superseded"):
            return ordered[: i + 1]
    return ordered[:HELM_DEFAULT_MAX_HISTORY]


def git_artifact(namespace: str, name: str, revision: str, at: str) -> Obj:
    """status.artifact of a GitRepository, shaped like the scenario's."""
    sha = revision.rsplit(":", 1)[-1]
    path = f"gitrepository/{namespace}/{name}/{sha}.tar.gz"
    return {
        "digest": sha256(f"artifact/{path}"),
        "lastUpdateTime": at,
        "path": path,
        "revision": revision,
        "size": 40000 + int(sha[:4], 16),
        "url": f"{SOURCE_CONTROLLER}/{path}",
    }


def chart_artifact(namespace: str, name: str, chart_name: str, version: str, at: str) -> Obj:
    path = f"helmchart/{namespace}/{name}/{chart_name}-{version}.tgz"
    return {
        "digest": sha256(f"chart/{path}"),
        "lastUpdateTime": at,
        "path": path,
        "revision": version,
        "size": 30000 + int(sha1(path)[:4], 16),
        "url": f"{SOURCE_CONTROLLER}/{path}",
    }


def record_ks_history(
    status: Obj, name: str, revision: str, outcome: str, at: str, duration: str
) -> None:
    """kustomize-controller's history upsert: one entry per applied digest, newest first."""
    digest = sha256(f"{name}/{revision}")
    history = list(status.get("history") or [])
    entry = next((h for h in history if h.get("digest") == digest), None)
    if entry is None:
        entry = {
            "digest": digest,
            "firstReconciled": at,
            "metadata": {"revision": revision},
            "totalReconciliations": 0,
        }
    else:
        history.remove(entry)
        entry = dict(entry)
    entry.update(
        lastReconciled=at,
        lastReconciledDuration=duration,
        lastReconciledStatus=outcome,
        totalReconciliations=entry.get("totalReconciliations", 0) + 1,
    )
    status["history"] = [entry, *history][:KUSTOMIZE_HISTORY_LIMIT]


def _duration(seed: str, base: float = 1.0) -> str:
    return f"{base + int(sha1(seed)[:2], 16) / 64:.6f}s"


def _duration_text(seed: str, base: float = 1.0) -> str:
    return f"{base + int(sha1(seed)[:2], 16) / 64:.1f}s"


def _commit_subject(sha: str, subjects: tuple[str, ...]) -> str:
    return subjects[int(sha[:4], 16) % len(subjects)]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def positive_seconds(text: str) -> float:
    """argparse type for ``--step-seconds``: refuse a bad value before anything starts."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


# --- one step's view of the cluster --------------------------------------------------------------


@dataclass
class _World:
    """What a step works with: the cluster, this step's time, the Events the timeline wrote."""

    cluster: DemoCluster
    now: datetime
    emitted: dict[tuple[str, str], datetime] = field(default_factory=dict)
    # The scripted timeline plays the controllers' reconciles, which a suspended object does not
    # get: its writes to a suspended Flux object (and Events about it) are left out.
    skip_suspended: bool = False

    @property
    def ts(self) -> str:
        return self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def get(self, gk: GroupKind, namespace: str, name: str) -> Obj:
        try:
            obj = self.cluster.get(gk[0], gk[1], namespace, name)
        except KeyError as exc:  # the kind is not served (CRD left out)
            raise ObjectMissing(f"{gk[1]} {namespace}/{name}: kind not served") from exc
        if obj is None:
            raise ObjectMissing(f"{gk[1]} {namespace}/{name} not found")
        return obj

    def list(self, gk: GroupKind, namespace: str) -> list[Obj]:
        try:
            return self.cluster.list(gk[0], gk[1], namespace)
        except KeyError:
            return []

    def update(self, gk: GroupKind, old: Obj, new: Obj) -> Obj:
        """Write ``new`` as a merge patch against ``old``: only what changed goes over."""
        if self._suspended(gk, old):
            return old
        patch = merge_diff(old, new)
        patch.pop("metadata", None)  # server-owned here; spec changes go through change_spec
        if not patch:
            return old
        writer = status_writer(old)
        if writer is not None:
            # The controller's write, recorded in its managedFields entry as the API server would.
            manager, through_status = writer
            self._record(patch, old, merge_patch(old, patch), manager, "Update", through_status)
        meta = old["metadata"]
        return self.cluster.patch(gk[0], gk[1], meta.get("namespace"), meta["name"], patch)

    def change_spec(self, gk: GroupKind, obj: Obj, spec_patch: Obj) -> Obj:
        """A user/Big Bang edit: the API server bumps metadata.generation."""
        if self._suspended(gk, obj):
            return obj
        meta = obj["metadata"]
        patch: Obj = {"spec": spec_patch}
        manager, operation = creator(obj)
        self._record(patch, obj, merge_patch(obj, patch), manager, operation, False)
        return self.cluster.patch(gk[0], gk[1], meta.get("namespace"), meta["name"], patch)

    def _suspended(self, gk: GroupKind, obj: Obj) -> bool:
        """Whether the object is suspended now (perhaps since the step read it)."""
        if not self.skip_suspended:
            return False
        meta = obj["metadata"]
        live = self.cluster.get(gk[0], gk[1], meta.get("namespace"), meta["name"]) or obj
        return is_suspended(live)

    def _record(
        self, patch: Obj, old: Obj, new: Obj, manager: str, operation: str, through_status: bool
    ) -> None:
        entries = record_write(
            old,
            new,
            manager,
            self.ts,
            subresource="status" if through_status else None,
            status_subresource=through_status,
            operation=operation,
        )
        if entries is not None:
            patch["metadata"] = {"managedFields": entries}

    def emit(
        self,
        involved: Obj,
        reason: str,
        message: str,
        *,
        component: str,
        warning: bool = False,
        annotations: dict[str, str] | None = None,
    ) -> None:
        """Record an Event; a repeat of the same one is aggregated as client-go's correlator
        does (count + 1, lastTimestamp now) instead of piling up."""
        if self._suspended(group_kind(involved), involved):
            return
        new = event(
            Clock(self.now),
            involved,
            reason=reason,
            message=message,
            type_="Warning" if warning else "Normal",
            component=component,
            count=1,
            first=self.ts,
            last=self.ts,
            annotations=annotations,
        )
        namespace, name = new["metadata"]["namespace"], new["metadata"]["name"]
        old = self.cluster.get(*EVENT, namespace, name)
        if old is None:
            self.cluster.apply(new)
        else:
            patch = {"count": int(old.get("count") or 1) + 1, "lastTimestamp": self.ts}
            self.cluster.patch(*EVENT, namespace, name, patch)
        self.emitted[(namespace, name)] = self.now

    def expire_events(self) -> None:
        for key, last in list(self.emitted.items()):
            if self.now - last > EVENT_TTL:
                self.cluster.delete(*EVENT, *key)
                del self.emitted[key]


def is_suspended(obj: Obj) -> bool:
    """``spec.suspend: true``, as ``flux suspend`` sets it (Argo CD objects have no such field)."""
    return (obj.get("spec") or {}).get("suspend") is True


def _copy(obj: Obj) -> Obj:
    # Steps edit a copy and keep the object as read, to send only the difference.
    return copy.deepcopy(obj)


def _status(obj: Obj) -> Obj:
    return obj.setdefault("status", {})


# --- episode 1: a HelmRelease upgrade fails, is rolled back, then a fixed chart succeeds ---------

MONITORING = ("bigbang", "monitoring")
IMMUTABLE_SELECTOR = (
    'cannot patch "monitoring-monitoring-kube-state-metrics" with kind Deployment: '
    'Deployment.apps "monitoring-monitoring-kube-state-metrics" is invalid: spec.selector: '
    "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"
    '"app.kubernetes.io/instance":"monitoring", "app.kubernetes.io/name":"kube-state-metrics"}, '
    "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
)
UPSTREAM_BUMP = "Merge branch 'renovate/kube-prometheus-stack' into 'main'"
SELECTOR_FIX = "Merge branch 'fix-kube-state-metrics-selector' into 'main'"


@dataclass(frozen=True)
class _Release:
    """Where a Big Bang package HelmRelease gets its chart, read from the HelmRelease."""

    hr: Obj

    @property
    def namespace(self) -> str:
        return self.hr["metadata"]["namespace"]

    @property
    def name(self) -> str:
        return self.hr["metadata"]["name"]

    @property
    def release(self) -> str:
        return self.hr["spec"].get("releaseName") or self.name

    @property
    def target(self) -> str:
        return self.hr["spec"].get("targetNamespace") or self.namespace

    @property
    def storage_namespace(self) -> str:
        return self.hr.get("status", {}).get("storageNamespace") or self.target

    @property
    def source(self) -> tuple[str, str]:
        ref = self.hr["spec"]["chart"]["spec"]["sourceRef"]
        return ref.get("namespace") or self.namespace, ref["name"]

    @property
    def chart(self) -> tuple[str, str]:
        namespace, name = self.hr["status"]["helmChart"].split("/", 1)
        return namespace, name

    def deployed(self) -> Obj:
        history = self.hr.get("status", {}).get("history") or []
        for snapshot in sorted(history, key=lambda s: s.get("version", 0), reverse=True):
            if snapshot.get("status") == "deployed":
                return snapshot
        raise ObjectMissing(f"HelmRelease {self.namespace}/{self.name} has no deployed release")

    def latest_version(self) -> int:
        history = self.hr.get("status", {}).get("history") or []
        return max((s.get("version", 0) for s in history), default=0)

    def snapshot(self, chart_version: str, version: int, status: str, action: str, at: str) -> Obj:
        deployed = self.deployed()
        return release_snapshot(
            release=self.release,
            namespace_=self.storage_namespace,
            chart_name=deployed["chartName"],
            chart_version=chart_version,
            app_version=deployed.get("appVersion", ""),
            version=version,
            status=status,
            action=action,
            first_deployed=deployed["firstDeployed"],
            last_deployed=at,
        )


def _publish_chart(w: _World, rel: _Release, version: str, subject: str) -> str:
    """Big Bang points the package GitRepository at a new tag; source-controller fetches it and
    packages the chart. Returns the new git revision."""
    git_ns, git_name = rel.source
    repo = w.get(GITREPOSITORY, git_ns, git_name)
    if repo["spec"].get("ref", {}).get("tag") != version:
        repo = w.change_spec(GITREPOSITORY, repo, {"ref": {"tag": version}})
    generation = repo["metadata"].get("generation")
    revision = git_revision(version, f"{git_name}/{version}")
    _store_git_artifact(w, repo, revision, generation, subject)

    chart_ns, chart_name = rel.chart
    chart = w.get(HELMCHART, chart_ns, chart_name)
    packaged_name = chart.get("status", {}).get("observedChartName") or rel.deployed()["chartName"]
    message = f"packaged '{packaged_name}' chart with version '{version}'"
    new = _copy(chart)
    status = _status(new)
    generation = chart["metadata"].get("generation")
    status["artifact"] = chart_artifact(chart_ns, chart_name, packaged_name, version, w.ts)
    status["observedSourceArtifactRevision"] = revision
    conditions = status.get("conditions") or []
    for type_ in ("Ready", "ArtifactInStorage"):
        conditions = set_condition(
            conditions, type_, "True", "ChartPackageSucceeded", message, w.ts, generation
        )
    status["conditions"] = conditions
    w.update(HELMCHART, chart, new)
    w.emit(
        chart,
        "ChartPackageSucceeded",
        message,
        component=SOURCE_CONTROLLER_NAME,
        annotations={"source.toolkit.fluxcd.io/revision": version},
    )
    return revision


def helm_upgrade_starts(w: _World) -> str:
    rel = _Release(w.get(HELMRELEASE, *MONITORING))
    target = next_bigbang_version(rel.deployed()["chartVersion"])
    _publish_chart(w, rel, target, UPSTREAM_BUMP)
    hr = w.get(HELMRELEASE, *MONITORING)
    generation = hr["metadata"].get("generation")
    timeout = hr["spec"].get("timeout", "5m0s")
    message = f"Running 'upgrade' action with timeout of {_go_duration(timeout)}"
    new = _copy(hr)
    status = _status(new)
    status["conditions"] = set_conditions(
        status.get("conditions") or [],
        [("Reconciling", "True", "Progressing"), ("Ready", "Unknown", "Progressing")],
        message,
        w.ts,
        generation,
    )
    status.update(
        lastAttemptedRevision=target,
        lastAttemptedConfigDigest=sha256(f"values/{rel.release}/{target}"),
        lastAttemptedGeneration=generation,
        lastAttemptedReleaseAction="upgrade",
        observedGeneration=generation,
    )
    w.update(HELMRELEASE, hr, new)
    chart = rel.deployed()["chartName"]
    return f"HelmRelease {rel.namespace}/{rel.name}: upgrading to {chart}@{target} (Progressing)"


def helm_upgrade_fails(w: _World) -> str:
    hr = w.get(HELMRELEASE, *MONITORING)
    rel = _Release(hr)
    status = hr.get("status", {})
    target = status.get("lastAttemptedRevision") or next_bigbang_version(
        rel.deployed()["chartVersion"]
    )
    chart = rel.deployed()["chartName"]
    generation = hr["metadata"].get("generation")
    message = (
        f"Helm upgrade failed for release {rel.storage_namespace}/{rel.release} "
        f"with chart {chart}@{target}: {IMMUTABLE_SELECTOR}"
    )
    failed = rel.snapshot(target, rel.latest_version() + 1, "failed", "upgrade", w.ts)
    new = _copy(hr)
    new_status = _status(new)
    new_status["history"] = truncate_helm_history([failed, *new_status.get("history", [])])
    new_status["conditions"] = set_conditions(
        new_status.get("conditions") or [],
        [
            ("Reconciling", "True", "ProgressingWithRetry"),
            ("Ready", "False", "UpgradeFailed"),
            ("Released", "False", "UpgradeFailed"),
        ],
        message,
        w.ts,
        generation,
    )
    new_status["failures"] = int(status.get("failures") or 0) + 1
    new_status["upgradeFailures"] = int(status.get("upgradeFailures") or 0) + 1
    w.update(HELMRELEASE, hr, new)
    w.emit(
        hr,
        "UpgradeFailed",
        message,
        component=HELM_CONTROLLER,
        warning=True,
        annotations={"helm.toolkit.fluxcd.io/revision": target},
    )
    return f"HelmRelease {rel.namespace}/{rel.name}: upgrade to {chart}@{target} failed (Degraded)"


def helm_rollback(w: _World) -> str:
    hr = w.get(HELMRELEASE, *MONITORING)
    ready = find_condition(hr.get("status", {}).get("conditions") or [], "Ready")
    if ready is not None and ready.get("status") == "True":
        # Someone fixed the failed upgrade meanwhile (``flux reconcile hr --force``): nothing to
        # remediate, helm-controller rolls nothing back.
        return f"HelmRelease {MONITORING[0]}/{MONITORING[1]}: Ready again, no rollback needed"
    rel = _Release(hr)
    previous = rel.deployed()
    generation = hr["metadata"].get("generation")
    release_name = f"{rel.storage_namespace}/{rel.release}.v{previous['version']}"
    message = (
        f"Helm rollback to previous release {release_name} with chart "
        f"{previous['chartName']}@{previous['chartVersion']} succeeded"
    )
    rollback = rel.snapshot(
        previous["chartVersion"], rel.latest_version() + 1, "deployed", "rollback", w.ts
    )
    rollback["configDigest"] = previous["configDigest"]
    new = _copy(hr)
    status = _status(new)
    history = [
        {**s, "status": "superseded"} if s.get("version") == previous["version"] else s
        for s in status.get("history", [])
    ]
    status["history"] = truncate_helm_history([rollback, *history])
    status["conditions"] = set_conditions(
        status.get("conditions") or [],
        [
            ("Reconciling", "True", "ProgressingWithRetry"),
            ("Ready", "False", "RollbackSucceeded"),
            ("Remediated", "True", "RollbackSucceeded"),
        ],
        message,
        w.ts,
        generation,
    )
    w.update(HELMRELEASE, hr, new)
    w.emit(
        hr,
        "RollbackSucceeded",
        message,
        component=HELM_CONTROLLER,
        annotations={"helm.toolkit.fluxcd.io/revision": status.get("lastAttemptedRevision", "")},
    )
    return (
        f"HelmRelease {rel.namespace}/{rel.name}: rolled back to "
        f"{previous['chartName']}@{previous['chartVersion']} (Remediated, still Degraded)"
    )


def helm_upgrade_succeeds(w: _World) -> str:
    rel = _Release(w.get(HELMRELEASE, *MONITORING))
    attempted = rel.hr.get("status", {}).get("lastAttemptedRevision") or ""
    # The fix is the build after the one that failed (or after what runs, if nothing failed).
    fix = next_bigbang_version(attempted or rel.deployed()["chartVersion"])
    _publish_chart(w, rel, fix, SELECTOR_FIX)
    hr = w.get(HELMRELEASE, *MONITORING)
    rel = _Release(hr)
    previous = rel.deployed()
    generation = hr["metadata"].get("generation")
    version = rel.latest_version() + 1
    chart = previous["chartName"]
    message = (
        f"Helm upgrade succeeded for release {rel.storage_namespace}/{rel.release}.v{version} "
        f"with chart {chart}@{fix}"
    )
    deployed = rel.snapshot(fix, version, "deployed", "upgrade", w.ts)
    new = _copy(hr)
    status = _status(new)
    history = [
        {**s, "status": "superseded"} if s.get("version") == previous["version"] else s
        for s in status.get("history", [])
    ]
    status["history"] = truncate_helm_history([deployed, *history])
    conditions = status.get("conditions") or []
    conditions = drop_condition(drop_condition(conditions, "Reconciling"), "Remediated")
    for type_ in ("Ready", "Released"):
        conditions = set_condition(
            conditions, type_, "True", "UpgradeSucceeded", message, w.ts, generation
        )
    status["conditions"] = conditions
    status.update(
        lastAttemptedRevision=fix,
        lastAttemptedConfigDigest=deployed["configDigest"],
        lastAttemptedGeneration=generation,
        lastAttemptedReleaseAction="upgrade",
        observedGeneration=generation,
    )
    # A successful release of a new desired state clears the failure counters.
    for counter in ("failures", "installFailures", "upgradeFailures"):
        status.pop(counter, None)
    w.update(HELMRELEASE, hr, new)
    w.emit(
        hr,
        "UpgradeSucceeded",
        message,
        component=HELM_CONTROLLER,
        annotations={"helm.toolkit.fluxcd.io/revision": fix},
    )
    return f"HelmRelease {rel.namespace}/{rel.name}: upgraded to {chart}@{fix} (Healthy)"


def _go_duration(value: str) -> str:
    """Flux prints timeouts as Go durations: "10m" -> "10m0s"."""
    if value.endswith("m") and value[:-1].isdigit():
        return f"{value}0s"
    if value.endswith("h") and value[:-1].isdigit():
        return f"{value}0m0s"
    return value


# --- episode 2: an Argo CD Application goes OutOfSync, syncs, rolls out ---------------------------

PORTFOLIO = ("argocd", "portfolio")
SYNC_RUNNING = "one or more tasks are running"
SYNC_SUCCEEDED = "successfully synced (all tasks run)"


def _app_images(app: Obj) -> list[str]:
    return list(app.get("status", {}).get("summary", {}).get("images") or [])


def _bumped(image: str) -> str:
    name, sep, tag = image.rpartition(":")
    return f"{name}:{next_minor(tag)}" if sep else image


def _drifting(w: _World, app: Obj) -> set[tuple[str, str, str]]:
    """The app's Deployments running one of its images: the new commit bumps those."""
    images = set(_app_images(app))
    out = set()
    for r in app.get("status", {}).get("resources") or []:
        if r.get("kind") != "Deployment":
            continue
        try:
            deployment = w.get(DEPLOYMENT, r.get("namespace", ""), r["name"])
        except ObjectMissing:
            continue
        containers = deployment["spec"]["template"]["spec"].get("containers") or [{}]
        if containers[0].get("image") in images:
            out.add((r.get("namespace", ""), r["kind"], r["name"]))
    return out


def _out_of_sync(app: Obj) -> set[tuple[str, str, str]]:
    return {
        (r.get("namespace", ""), r.get("kind", ""), r.get("name", ""))
        for r in app.get("status", {}).get("resources") or []
        if r.get("status") == "OutOfSync"
    }


def _with_sync(resources: list[Obj], drifted: set[tuple[str, str, str]]) -> list[Obj]:
    return [
        {
            **r,
            "status": "OutOfSync"
            if (r.get("namespace", ""), r.get("kind"), r.get("name")) in drifted
            else "Synced",
        }
        for r in resources
    ]


def app_drifts(w: _World) -> str:
    app = w.get(APPLICATION, *PORTFOLIO)
    status = app.get("status", {})
    head = next_commit(status.get("sync", {}).get("revision", ""))
    new = _copy(app)
    new_status = _status(new)
    drifted = _drifting(w, app)
    new_status["resources"] = _with_sync(new_status.get("resources") or [], drifted)
    new_status["sync"] = {**new_status.get("sync", {}), "status": "OutOfSync", "revision": head}
    new_status["reconciledAt"] = w.ts
    w.update(APPLICATION, app, new)
    previous = status.get("sync", {}).get("status", "Unknown")
    w.emit(
        app,
        "ResourceUpdated",
        f"Updated sync status: {previous} -> OutOfSync",
        component=ARGOCD_CONTROLLER,
    )
    name = app["metadata"]["name"]
    return f"Application argocd/{name}: OutOfSync at {head[:7]} ({len(drifted)} resources drifted)"


def _sync_operation(app: Obj, revision: str) -> Obj:
    """What the controller puts in ``operation`` for an automated sync (appcontroller
    autoSync): the policy's prune, sync options and retry."""
    policy = app["spec"].get("syncPolicy") or {}
    sync: Obj = {"revision": revision, "syncStrategy": {"hook": {}}}
    if (policy.get("automated") or {}).get("prune"):
        sync["prune"] = True
    if policy.get("syncOptions"):
        sync["syncOptions"] = list(policy["syncOptions"])
    operation: Obj = {"initiatedBy": {"automated": True}, "sync": sync}
    if policy.get("retry"):
        operation["retry"] = policy["retry"]
    return operation


def app_sync_starts(w: _World) -> str:
    app = w.get(APPLICATION, *PORTFOLIO)
    revision = app.get("status", {}).get("sync", {}).get("revision", "")
    operation = _sync_operation(app, revision)
    new = _copy(app)
    new["operation"] = operation
    _status(new)["operationState"] = {
        "message": SYNC_RUNNING,
        "operation": operation,
        "phase": "Running",
        "startedAt": w.ts,
    }
    w.update(APPLICATION, app, new)
    w.emit(
        app,
        "OperationStarted",
        f"Initiated automated sync to '{revision}'",
        component=ARGOCD_CONTROLLER,
    )
    return f"Application argocd/{app['metadata']['name']}: sync to {revision[:7]} Running"


def _sync_result(resources: list[Obj], drifted: set[tuple[str, str, str]], source: Obj) -> Obj:
    entries = []
    for r in resources:
        group = r.get("group", "")
        kind = r["kind"]
        changed = (r.get("namespace", ""), kind, r["name"]) in drifted
        qualified = f"{kind.lower()}{'.' + group if group else ''}/{r['name']}"
        entries.append(
            {
                "group": group,
                "hookPhase": "Running",
                "kind": kind,
                "message": f"{qualified} {'configured' if changed else 'unchanged'}",
                "name": r["name"],
                "namespace": r.get("namespace", ""),
                "status": "Synced",
                "syncPhase": "Sync",
                "version": r.get("version", "v1"),
            }
        )
    return {"resources": entries, "source": source}


def app_sync_succeeds(w: _World) -> str:
    app = w.get(APPLICATION, *PORTFOLIO)
    status = app.get("status", {})
    state = status.get("operationState") or {}
    revision = status.get("sync", {}).get("revision", "")
    operation = app.get("operation") or state.get("operation") or _sync_operation(app, revision)
    drifted = _out_of_sync(app)
    images = [_bumped(image) for image in _app_images(app)]
    source = app["spec"].get("source") or {}
    result = _sync_result(status.get("resources") or [], drifted, source)
    result["revision"] = revision
    new = synced_application(app, operation, revision, status.get("resources") or [], result, w.ts)
    _status(new).setdefault("summary", {})["images"] = images
    w.update(APPLICATION, app, new)
    rolled = _roll_deployments(w, app, drifted, images)
    name = app["metadata"]["name"]
    emit_sync_succeeded(w, app, revision)
    return (
        f"Application argocd/{name}: sync Succeeded, Synced at {revision[:7]}; "
        f"rolling out {', '.join(rolled) or 'nothing'} (Progressing)"
    )


def synced_application(
    app: Obj, operation: Obj, revision: str, resources: list[Obj], result: Obj, at: str
) -> Obj:
    """The Application as the application controller writes it when a sync operation
    succeeded: ``operation`` cleared, ``operationState`` Succeeded, a history entry, every
    resource Synced, health Progressing while the new pods roll out."""
    status = app.get("status") or {}
    state = status.get("operationState") or {}
    started = state.get("startedAt", at)
    history = list(status.get("history") or [])
    history.append(
        {
            "deployStartedAt": started,
            "deployedAt": at,
            "id": max((h.get("id", 0) for h in history), default=-1) + 1,
            "initiatedBy": operation.get("initiatedBy") or {"automated": True},
            "revision": revision,
            "source": app["spec"].get("source") or {},
        }
    )
    new = _copy(app)
    new.pop("operation", None)  # the controller clears it once the operation completes
    new_status = _status(new)
    new_status["operationState"] = {
        "finishedAt": at,
        "message": SYNC_SUCCEEDED,
        "operation": operation,
        "phase": "Succeeded",
        "startedAt": started,
        "syncResult": result,
    }
    new_status["history"] = history[-ARGO_HISTORY_LIMIT:]
    new_status["resources"] = _with_sync(resources, set())
    new_status["sync"] = {
        **(new_status.get("sync") or {}),
        "status": "Synced",
        "revision": revision,
    }
    new_status["health"] = {"lastTransitionTime": at, "status": "Progressing"}
    new_status["reconciledAt"] = at
    return new


def emit_sync_succeeded(w: _World, app: Obj, revision: str) -> None:
    """The Events argocd-application-controller records for a sync that succeeded."""
    previous = ((app.get("status") or {}).get("sync") or {}).get("status", "Unknown")
    for reason, message in (
        ("OperationCompleted", f"Sync operation to {revision} succeeded"),
        ("ResourceUpdated", f"Updated sync status: {previous} -> Synced"),
        ("ResourceUpdated", f"Updated health status: {_health(app)} -> Progressing"),
    ):
        w.emit(app, reason, message, component=ARGOCD_CONTROLLER)


def _health(app: Obj) -> str:
    return app.get("status", {}).get("health", {}).get("status", "Unknown")


def _roll_deployments(
    w: _World, app: Obj, drifted: set[tuple[str, str, str]], images: list[str]
) -> list[str]:
    """Argo CD applied the new image: the Deployment controller starts a rollout."""
    by_repo = {image.rpartition(":")[0]: image for image in images}
    rolled = []
    for namespace, _, name in sorted(drifted):
        try:
            deployment = w.get(DEPLOYMENT, namespace, name)
        except ObjectMissing:
            continue
        containers = deployment["spec"]["template"]["spec"]["containers"]
        image = by_repo.get(containers[0]["image"].rpartition(":")[0])
        if image is None:
            continue
        annotations = deployment["metadata"].get("annotations") or {}
        revision = int(annotations.get(DEPLOYMENT_REVISION, "0") or 0) + 1
        patch = {
            "metadata": {"annotations": {DEPLOYMENT_REVISION: str(revision)}},
            "spec": {
                "template": {
                    "spec": {"containers": [{**containers[0], "image": image}, *containers[1:]]}
                }
            },
        }
        deployment = w.cluster.patch(*DEPLOYMENT, namespace, name, patch)
        _deployment_status(w, deployment, image, rolling=True)
        rolled.append(name)
    return rolled


DEPLOYMENT_REVISION = "deployment.kubernetes.io/revision"


def _deployment_status(w: _World, deployment: Obj, image: str, *, rolling: bool) -> None:
    """Status as the Deployment controller reports it mid-rollout or after it."""
    meta = deployment["metadata"]
    replicas = int(deployment["spec"].get("replicas", 1))
    replica_set = f"{meta['name']}-{sha1(image)[:10]}"
    shaped = workload(
        meta["namespace"],
        meta["name"],
        image,
        meta.get("creationTimestamp", w.ts),
        replicas=replicas,
        ready=replicas,
        updated=max(1, replicas // 2) if rolling else replicas,
        generation=int(meta.get("generation", 1)),
        progressing=f'ReplicaSet "{replica_set}" is progressing.' if rolling else None,
        at=w.ts,
    )
    new = _copy(deployment)
    new["status"] = shaped["status"]
    w.update(DEPLOYMENT, deployment, new)


def app_rollout_finishes(w: _World) -> str:
    app = w.get(APPLICATION, *PORTFOLIO)
    new = _copy(app)
    new_status = _status(new)
    new_status["health"] = {"lastTransitionTime": w.ts, "status": "Healthy"}
    new_status["reconciledAt"] = w.ts
    w.update(APPLICATION, app, new)
    images = set(_app_images(app))
    for r in app.get("status", {}).get("resources") or []:
        if r.get("kind") != "Deployment":
            continue
        try:
            deployment = w.get(DEPLOYMENT, r.get("namespace", ""), r["name"])
        except ObjectMissing:
            continue
        image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        updated = deployment.get("status", {}).get("updatedReplicas")
        if image in images and updated != deployment["spec"].get("replicas", 1):
            _deployment_status(w, deployment, image, rolling=False)
    previous = _health(app)
    if previous != "Healthy":
        w.emit(
            app,
            "ResourceUpdated",
            f"Updated health status: {previous} -> Healthy",
            component=ARGOCD_CONTROLLER,
        )
    return f"Application argocd/{app['metadata']['name']}: rollout finished (Healthy)"


# --- episode 3: a Kustomization waits on a dependency whose health check fails, then both heal ---

FLEET_REPO = ("flux-system", "flux-system")
ISSUERS = ("flux-system", "cert-manager-issuers")
CERTIFICATES = ("flux-system", "platform-certificates")
FLEET_COMMITS = (
    "Rotate ACME account for letsencrypt-dod issuer",
    "Renew platform-ca intermediate",
    "Pin cert-manager issuers to the DoD ACME directory",
)
DEPENDENCY_RETRY = "Dependencies do not meet ready condition, retrying in 30s"


def _new_artifact(w: _World, repo: Obj, subjects: tuple[str, ...]) -> str:
    """source-controller stores a new commit of the repository's branch; returns the revision."""
    meta = repo["metadata"]
    old = repo.get("status", {}).get("artifact", {}).get("revision", "")
    ref = old.split("@", 1)[0] if "@" in old else (repo["spec"].get("ref") or {}).get("branch")
    sha = next_commit(old or meta["name"])
    revision = f"{ref or 'main'}@sha1:{sha}"
    generation = meta.get("generation")
    _store_git_artifact(w, repo, revision, generation, _commit_subject(sha, subjects))
    return revision


def _store_git_artifact(
    w: _World, repo: Obj, revision: str, generation: int | None, subject: str
) -> None:
    """What source-controller writes after a successful fetch: the artifact, Ready and
    ArtifactInStorage True, FetchFailed and Reconciling gone, and a NewArtifact Event."""
    meta = repo["metadata"]
    stored = f"stored artifact for revision '{revision}'"
    new = _copy(repo)
    status = _status(new)
    status["artifact"] = git_artifact(meta["namespace"], meta["name"], revision, w.ts)
    conditions = drop_condition(status.get("conditions") or [], "FetchFailed")
    conditions = drop_condition(conditions, "Reconciling")
    status["conditions"] = set_conditions(
        conditions,
        [("Ready", "True", "Succeeded"), ("ArtifactInStorage", "True", "Succeeded")],
        stored,
        w.ts,
        generation,
    )
    status["observedGeneration"] = generation
    w.update(GITREPOSITORY, repo, new)
    w.emit(
        repo,
        "NewArtifact",
        f"stored artifact for commit '{subject}'",
        component=SOURCE_CONTROLLER_NAME,
        annotations={"source.toolkit.fluxcd.io/revision": revision},
    )


def _ks_ref(ks: Obj) -> str:
    return f"{ks['metadata']['namespace']}/{ks['metadata']['name']}"


def _sources_from(ks: Obj, repo: tuple[str, str]) -> bool:
    ref = ks["spec"].get("sourceRef") or {}
    namespace = ref.get("namespace") or ks["metadata"]["namespace"]
    return ref.get("kind") == "GitRepository" and (namespace, ref.get("name")) == repo


def _change_set(ks: Obj, first_verb: str = "configured") -> str:
    """kustomize-controller's change set from the inventory: Kind/[namespace/]name verb."""
    lines = []
    for i, entry in enumerate((ks.get("status", {}).get("inventory") or {}).get("entries") or []):
        namespace, name, _group, kind = (entry["id"].split("_") + ["", "", "", ""])[:4]
        target = f"{kind}/{namespace + '/' if namespace else ''}{name.replace('__', ':')}"
        lines.append(f"{target} {first_verb if i == 0 else 'unchanged'}")
    return "\n".join(lines)


def _ks_ready(w: _World, ks: Obj, revision: str) -> Obj:
    """Applied and healthy: Ready=True, revisions, history, Reconciling gone."""
    meta, spec = ks["metadata"], ks["spec"]
    generation = meta.get("generation")
    seed = f"{_ks_ref(ks)}/{revision}"
    new = _copy(ks)
    status = _status(new)
    conditions = drop_condition(status.get("conditions") or [], "Reconciling")
    conditions = set_condition(
        conditions,
        "Ready",
        "True",
        "ReconciliationSucceeded",
        f"Applied revision: {revision}",
        w.ts,
        generation,
    )
    if spec.get("healthChecks") or find_condition(conditions, "Healthy"):
        conditions = set_condition(
            conditions,
            "Healthy",
            "True",
            "Succeeded",
            f"Health check passed in {_duration_text(seed, 10)}",
            w.ts,
            generation,
        )
    status["conditions"] = conditions
    status.update(
        lastAppliedRevision=revision, lastAttemptedRevision=revision, observedGeneration=generation
    )
    record_ks_history(
        status, meta["name"], revision, "ReconciliationSucceeded", w.ts, _duration(seed)
    )
    w.update(KUSTOMIZATION, ks, new)
    w.emit(
        ks,
        "ReconciliationSucceeded",
        f"Reconciliation finished in {_duration_text(seed)}, next run in "
        f"{_go_duration(spec.get('interval', '10m0s'))}",
        component=KUSTOMIZE_CONTROLLER,
        annotations={"kustomize.toolkit.fluxcd.io/revision": revision},
    )
    return new


def _ks_waits(w: _World, ks: Obj, dependency: tuple[str, str]) -> None:
    generation = ks["metadata"].get("generation")
    message = f"dependency '{dependency[0]}/{dependency[1]}' is not ready"
    new = _copy(ks)
    status = _status(new)
    status["conditions"] = set_condition(
        drop_condition(status.get("conditions") or [], "Reconciling"),
        "Ready",
        "False",
        "DependencyNotReady",
        message,
        w.ts,
        generation,
    )
    w.update(KUSTOMIZATION, ks, new)
    w.emit(ks, "DependencyNotReady", DEPENDENCY_RETRY, component=KUSTOMIZE_CONTROLLER)


def _health_check_target(ks: Obj) -> str:
    for check in ks["spec"].get("healthChecks") or []:
        namespace = check.get("namespace")
        return f"{check['kind']}/{namespace + '/' if namespace else ''}{check['name']}"
    return _change_set(ks).split(" ", 1)[0] or f"Kustomization/{_ks_ref(ks)}"


def fleet_commit_lands(w: _World) -> str:
    repo = w.get(GITREPOSITORY, *FLEET_REPO)
    issuers = w.get(KUSTOMIZATION, *ISSUERS)
    certificates = w.get(KUSTOMIZATION, *CERTIFICATES)
    revision = _new_artifact(w, repo, FLEET_COMMITS)
    # The rest of the fleet applies the commit at once; only the issuers' health checks wait.
    for ks in w.list(KUSTOMIZATION, FLEET_REPO[0]):
        key = (ks["metadata"]["namespace"], ks["metadata"]["name"])
        ready = find_condition(ks.get("status", {}).get("conditions") or [], "Ready")
        if key in (ISSUERS, CERTIFICATES) or not _sources_from(ks, FLEET_REPO):
            continue
        if ready is not None and ready.get("status") == "True":
            _ks_ready(w, ks, revision)

    generation = issuers["metadata"].get("generation")
    timeout = _go_duration(issuers["spec"].get("timeout", "5m0s"))
    running = f"Running health checks for revision {revision} with a timeout of {timeout}"
    new = _copy(issuers)
    status = _status(new)
    conditions = status.get("conditions") or []
    conditions = set_condition(
        conditions, "Reconciling", "True", "Progressing", running, w.ts, generation
    )
    conditions = set_condition(
        conditions,
        "Ready",
        "Unknown",
        "Progressing",
        "Reconciliation in progress",
        w.ts,
        generation,
    )
    if find_condition(conditions, "Healthy"):
        conditions = set_condition(
            conditions, "Healthy", "Unknown", "Progressing", running, w.ts, generation
        )
    status["conditions"] = conditions
    status["lastAttemptedRevision"] = revision
    w.update(KUSTOMIZATION, issuers, new)
    w.emit(
        issuers,
        "Progressing",
        _change_set(issuers),
        component=KUSTOMIZE_CONTROLLER,
        annotations={"kustomize.toolkit.fluxcd.io/revision": revision},
    )
    _ks_waits(w, certificates, ISSUERS)
    return (
        f"GitRepository flux-system/flux-system: new commit {revision.rsplit(':', 1)[-1][:7]}; "
        f"Kustomization {_ks_ref(issuers)} running health checks (Progressing), "
        f"{_ks_ref(certificates)} waits (DependencyNotReady)"
    )


def issuers_health_check_fails(w: _World) -> str:
    issuers = w.get(KUSTOMIZATION, *ISSUERS)
    certificates = w.get(KUSTOMIZATION, *CERTIFICATES)
    meta, status = issuers["metadata"], issuers.get("status", {})
    generation = meta.get("generation")
    revision = status.get("lastAttemptedRevision", "")
    timeout = _go_duration(issuers["spec"].get("timeout", "5m0s"))
    message = (
        f"health check failed after {timeout[:-1]}.{sha1(revision)[:2]}s: timeout waiting for: "
        f"[{_health_check_target(issuers)} status: 'InProgress']"
    )
    new = _copy(issuers)
    new_status = _status(new)
    conditions = new_status.get("conditions") or []
    reconciling = find_condition(conditions, "Reconciling")
    # kustomize-controller keeps Reconciling's message and marks it ProgressingWithRetry.
    conditions = set_condition(
        conditions,
        "Reconciling",
        "True",
        "ProgressingWithRetry",
        reconciling["message"] if reconciling else message,
        w.ts,
        generation,
    )
    for type_ in ("Ready", "Healthy"):
        conditions = set_condition(
            conditions, type_, "False", "HealthCheckFailed", message, w.ts, generation
        )
    new_status["conditions"] = conditions
    record_ks_history(
        new_status, meta["name"], revision, "HealthCheckFailed", w.ts, _duration(message, 300)
    )
    w.update(KUSTOMIZATION, issuers, new)
    w.emit(
        issuers,
        "HealthCheckFailed",
        message,
        component=KUSTOMIZE_CONTROLLER,
        warning=True,
        annotations={"kustomize.toolkit.fluxcd.io/revision": revision},
    )
    _ks_waits(w, certificates, ISSUERS)
    return (
        f"Kustomization {_ks_ref(issuers)}: health check timed out (HealthCheckFailed); "
        f"{_ks_ref(certificates)} still waits"
    )


def issuers_become_ready(w: _World) -> str:
    issuers = w.get(KUSTOMIZATION, *ISSUERS)
    revision = issuers.get("status", {}).get("lastAttemptedRevision", "")
    _ks_ready(w, issuers, revision)
    return f"Kustomization {_ks_ref(issuers)}: health checks passed, Ready at {revision}"


def certificates_become_ready(w: _World) -> str:
    issuers = w.get(KUSTOMIZATION, *ISSUERS)
    certificates = w.get(KUSTOMIZATION, *CERTIFICATES)
    revision = issuers.get("status", {}).get("lastAppliedRevision", "")
    w.emit(
        certificates,
        "Progressing",
        _change_set(certificates),
        component=KUSTOMIZE_CONTROLLER,
        annotations={"kustomize.toolkit.fluxcd.io/revision": revision},
    )
    _ks_ready(w, certificates, revision)
    return f"Kustomization {_ks_ref(certificates)}: dependency ready, applied {revision} (Ready)"


# --- episode 4: a GitRepository cannot fetch, retries, recovers with a new commit -----------------

ENVIRONMENT_REPO = ("bigbang", "environment-repo")
ENVIRONMENT = ("bigbang", "environment")
ENVIRONMENT_COMMITS = (
    "Raise gitlab webservice replicas to 3",
    "Bump monitoring retention to 30d",
    "Enable Kyverno reporter in production",
)


def _fetch_failure(repo: Obj) -> str:
    url = repo["spec"]["url"]
    host = url.split("://", 1)[-1].split("/", 1)[0]
    address = ".".join(str(int(sha1(host)[i : i + 2], 16)) for i in (0, 2, 4))
    return (
        f"failed to checkout and determine revision: unable to list remote for '{url}': "
        f'Get "{url}/info/refs?service=git-upload-pack": dial tcp 10.{address}:443: i/o timeout'
    )


def _fetch_fails(w: _World) -> Obj:
    repo = w.get(GITREPOSITORY, *ENVIRONMENT_REPO)
    generation = repo["metadata"].get("generation")
    message = _fetch_failure(repo)
    new = _copy(repo)
    status = _status(new)
    conditions = status.get("conditions") or []
    conditions = set_condition(
        conditions, "Ready", "False", "GitOperationFailed", message, w.ts, generation
    )
    conditions = set_condition(
        conditions, "FetchFailed", "True", "GitOperationFailed", message, w.ts, generation
    )
    status["conditions"] = conditions
    w.update(GITREPOSITORY, repo, new)
    w.emit(repo, "GitOperationFailed", message, component=SOURCE_CONTROLLER_NAME, warning=True)
    return repo


def source_fetch_fails(w: _World) -> str:
    repo = _fetch_fails(w)
    return (
        f"GitRepository {repo['metadata']['namespace']}/{repo['metadata']['name']}: fetch timed "
        "out (GitOperationFailed, Degraded)"
    )


def source_fetch_fails_again(w: _World) -> str:
    repo = _fetch_fails(w)
    return (
        f"GitRepository {repo['metadata']['namespace']}/{repo['metadata']['name']}: the retry "
        "timed out too (still Degraded)"
    )


def source_recovers(w: _World) -> str:
    repo = w.get(GITREPOSITORY, *ENVIRONMENT_REPO)
    revision = _new_artifact(w, repo, ENVIRONMENT_COMMITS)
    return (
        f"GitRepository {repo['metadata']['namespace']}/{repo['metadata']['name']}: fetched "
        f"again, new artifact {revision} (Healthy)"
    )


def environment_applies(w: _World) -> str:
    repo = w.get(GITREPOSITORY, *ENVIRONMENT_REPO)
    ks = w.get(KUSTOMIZATION, *ENVIRONMENT)
    revision = repo.get("status", {}).get("artifact", {}).get("revision", "")
    _ks_ready(w, ks, revision)
    return f"Kustomization {_ks_ref(ks)}: applied {revision}"


# --- the timeline --------------------------------------------------------------------------------

Step = Callable[[_World], str]


@dataclass(frozen=True)
class Episode:
    name: str
    steps: tuple[Step, ...]


EPISODES: tuple[Episode, ...] = (
    Episode(
        "helmrelease-upgrade",
        (helm_upgrade_starts, helm_upgrade_fails, helm_rollback, helm_upgrade_succeeds),
    ),
    Episode(
        "application-sync", (app_drifts, app_sync_starts, app_sync_succeeds, app_rollout_finishes)
    ),
    Episode(
        "kustomization-dependency",
        (
            fleet_commit_lands,
            issuers_health_check_fails,
            issuers_become_ready,
            certificates_become_ready,
        ),
    ),
    Episode(
        "source-fetch",
        (source_fetch_fails, source_fetch_fails_again, source_recovers, environment_applies),
    ),
)


class Timeline:
    """Plays ``EPISODES`` against a demo cluster, step by step, in a loop that never ends.

    ``step()`` applies the next step now and returns what happened; ``start()`` calls it every
    ``step_seconds`` from a daemon thread until ``stop()``. ``clock`` (default: the current UTC
    time) dates every condition, history entry and Event, so tests can pin it.
    """

    def __init__(
        self,
        cluster: DemoCluster,
        *,
        step_seconds: float = DEFAULT_STEP_SECONDS,
        clock: Callable[[], datetime] | None = None,
        lock: threading.Lock | None = None,
    ) -> None:
        if step_seconds <= 0:
            raise ValueError(f"step_seconds must be positive, not {step_seconds}")
        self.cluster = cluster
        self.step_seconds = step_seconds
        self._clock = clock or _utcnow
        self._steps = [(e.name, step) for e in EPISODES for step in e.steps]
        self._position = 0
        self.loops = 0
        # Serialises step() between the thread and direct callers: a step is several writes.
        # ``lock`` shares it with the demo's controllers (clusters.demo.controllers), whose
        # reactions read and write the same objects.
        self._lock = lock or threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._emitted: dict[tuple[str, str], datetime] = {}

    @property
    def steps_per_loop(self) -> int:
        return len(self._steps)

    @property
    def position(self) -> int:
        """Index of the step the next ``step()`` plays (0 = start of a loop)."""
        return self._position

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def step(self) -> str:
        with self._lock:
            index = self._position
            episode, run = self._steps[index]
            # Advance first: a step that raises must not wedge the loop on itself.
            self._position = (index + 1) % len(self._steps)
            if self._position == 0:
                self.loops += 1
            now = self._clock().astimezone(UTC).replace(microsecond=0)
            world = _World(self.cluster, now, self._emitted, skip_suspended=True)
            try:
                what = run(world)
            except ObjectMissing as exc:
                what = f"skipped: {exc}"
            world.expire_events()
        line = f"[{index + 1}/{len(self._steps)} {episode}] {what}"
        logger.info("demo timeline %s", line)
        return line

    def start(self) -> None:
        if self.running:
            raise RuntimeError("demo timeline already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="demo-timeline", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self.step_seconds):
            try:
                self.step()
            except Exception:
                # A demo that stops moving is worse than one bad step: log it, keep going.
                logger.exception("demo timeline step failed")
