"""A platform of N GitOps objects for load tests and benchmarks (issue 6).

``build_scaled_platform(n)`` makes a cluster that looks like a big multi-tenant platform rather
than the hand-written ADR-003 scenario:

- **Flux half** (``n // 2`` objects) in ``platform-NNNN`` namespaces, ten objects each, laid out
  as a tenant repository usually is: one GitRepository ``apps``, one OCI HelmRepository
  ``charts``, four Kustomizations ``app-1..4`` and two HelmReleases ``svc-1..2`` with the
  HelmChart helm-controller creates for each (``<namespace>-svc-N``). Every Kustomization and
  HelmRelease has a ten-entry inventory (Deployment, Service, ConfigMap ... in its namespace).
- **Argo CD half** (the rest): the ``default`` AppProject and Applications living in ``argocd``
  (the classic layout), ten per ``team-NNNN`` destination namespace, each with ten
  ``status.resources`` (and the matching ``operationState.syncResult``).
- The Namespaces, Flux's and Argo CD's controller Deployments (so the scorecard has something to
  look at) and one Warning Event per Degraded object, as the controllers would emit.

So there are about ``n / 10`` namespaces. Statuses are mostly green, with exact quotas taken
from the appliers (Kustomization, HelmRelease, Application): 3 % of ``n`` Degraded, 3 %
Progressing and 2 % Healthy-but-OutOfSync (Argo CD Applications with a manual sync policy; a
Degraded HelmRelease whose upgrade failed is OutOfSync as well, as on a real cluster).

Shapes come from ``clusters.demo.scenario``'s builders, so every object validates against the
real CRD schemas; which objects get which status is drawn from ``random.Random(seed)``, so a
seed (and a fixed ``now``) gives the same platform byte for byte.

``BOUNDARIES`` declares ``platform-*`` for Flux and ``team-*`` for Argo CD: with the ADR-003
default every tenant namespace would be "undeclared" (TW006), which is not the cluster to measure.

``mutate(objects, fraction, seed)`` returns changed copies of ``fraction`` of the GitOps objects
(green ones go red, red ones heal); re-applying them to a DemoCluster gives them new
resourceVersions, which is what the "1 % changed" re-poll of the benchmark needs.
"""

from __future__ import annotations

import copy
import math
import random
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from clusters.demo.fields import record_write, status_writer, with_all_managed_fields
from clusters.demo.scenario import (
    ARGOCD_NAMESPACE,
    IRONBANK,
    AppResource,
    Clock,
    Ref,
    application,
    cond,
    event,
    flux_labels,
    git_repository,
    git_revision,
    helm_chart,
    inventory,
    ks_history,
    kustomization,
    meta,
    namespace,
    release_snapshot,
    sha1,
    sha256,
    workload,
)

Obj = dict[str, Any]

FLUX_HOME = "platform"
ARGO_HOME = "team"
PER_NAMESPACE = 10

# Shares of n (not of the appliers) so "3 % Degraded" reads the same on every page.
DEGRADED_SHARE = 0.03
PROGRESSING_SHARE = 0.03
OUT_OF_SYNC_SHARE = 0.02

HEALTHY = "Healthy"
DEGRADED = "Degraded"
PROGRESSING = "Progressing"
OUT_OF_SYNC = "OutOfSync"

APPLIER_KINDS = frozenset({"Kustomization", "HelmRelease", "Application"})
GITOPS_GROUPS = frozenset(
    {
        "source.toolkit.fluxcd.io",
        "kustomize.toolkit.fluxcd.io",
        "helm.toolkit.fluxcd.io",
        "argoproj.io",
    }
)

BOUNDARIES = """\
# Boundaries for the scaled platform (clusters.demo.scale): tenants' platform-* namespaces are
# Flux's, team-* are Argo CD's, as ADR-003 would declare them on a cluster of that shape.
clusterScoped: flux
flux:
  install: flux-system
  namespaces: [flux-system, argocd, "platform-*"]
argocd:
  install: argocd
  home: [argocd]
  namespaces: ["team-*"]
"""

# Ten managed resources per applier: (group, kind, name suffix). Every group is in
# scenario.GROUP_VERSIONS so inventories and Argo CD resources carry the right version.
_MANAGED: tuple[tuple[str, str, str], ...] = (
    ("apps", "Deployment", ""),
    ("", "Service", ""),
    ("", "ServiceAccount", ""),
    ("", "ConfigMap", "-config"),
    ("", "Secret", "-env"),
    ("autoscaling", "HorizontalPodAutoscaler", ""),
    ("policy", "PodDisruptionBudget", ""),
    ("networking.k8s.io", "NetworkPolicy", ""),
    ("rbac.authorization.k8s.io", "Role", ""),
    ("rbac.authorization.k8s.io", "RoleBinding", ""),
)

# The order of a tenant namespace's ten Flux objects: sources first, so a partial last
# namespace never holds an applier without its source.
_FLUX_SLOTS: tuple[tuple[str, str], ...] = (
    ("GitRepository", "apps"),
    ("HelmRepository", "charts"),
    ("Kustomization", "app-1"),
    ("HelmChart", "svc-1"),
    ("HelmRelease", "svc-1"),
    ("Kustomization", "app-2"),
    ("HelmChart", "svc-2"),
    ("HelmRelease", "svc-2"),
    ("Kustomization", "app-3"),
    ("Kustomization", "app-4"),
)
_CHARTS = ("podinfo", "redis", "nginx", "postgresql", "keycloak", "kafka", "grafana", "minio")


def build_scaled_platform(n: int, *, seed: int = 0, now: datetime | None = None) -> list[Obj]:
    """``n`` GitOps objects plus their Namespaces, controller workloads and Events.

    Namespaces come first (the order a cluster would create them), then Flux, then Argo CD.
    """
    if n < 2:
        raise ValueError("a scaled platform needs at least 2 GitOps objects (one per tool)")
    clock = Clock(now or datetime.now(UTC))
    rng = random.Random(seed)
    n_flux = n // 2
    n_argo = n - n_flux
    flux_ns = [_ns_name(FLUX_HOME, i, n) for i in range(math.ceil(n_flux / PER_NAMESPACE))]
    # One slot of the Argo CD half is the default AppProject.
    team_ns = [_ns_name(ARGO_HOME, i, n) for i in range(math.ceil((n_argo - 1) / PER_NAMESPACE))]

    flux: list[Obj] = []
    for index in range(n_flux):
        ns = flux_ns[index // PER_NAMESPACE]
        kind, name = _FLUX_SLOTS[index % PER_NAMESPACE]
        flux.append(_flux_object(clock, rng, kind, name, ns))
    argo: list[Obj] = [_app_project(clock)]
    for index in range(n_argo - 1):
        ns = team_ns[index // PER_NAMESPACE]
        argo.append(_application(clock, rng, ns, index % PER_NAMESPACE + 1))

    gitops = flux + argo
    _assign_states(clock, rng, gitops, n)
    gitops = with_all_managed_fields(gitops)

    objects: list[Obj] = [
        namespace("flux-system", clock.ago(days=400), {"app.kubernetes.io/part-of": "flux"}),
        namespace(
            ARGOCD_NAMESPACE,
            clock.ago(days=390),
            flux_labels("HelmRelease", "argocd", "flux-system"),
        ),
    ]
    for ns in flux_ns:
        objects.append(namespace(ns, clock.ago(days=300), {"tenant": ns, "toolkit": "flux"}))
    for ns in team_ns:
        objects.append(namespace(ns, clock.ago(days=200), {"team": ns, "toolkit": "argocd"}))
    objects.extend(_controllers(clock))
    objects.extend(gitops)
    objects.extend(_events(clock, gitops))
    return objects


def mutate(
    objects: Iterable[Obj], fraction: float, seed: int = 1, *, now: datetime | None = None
) -> list[Obj]:
    """Changed copies of ``round(fraction × GitOps objects)`` appliers; ``objects`` is untouched.

    A green object turns Degraded or Progressing, a red one heals; its transition times become
    ``now``. Re-apply the copies (``DemoCluster.apply``) to give them new resourceVersions.
    """
    clock = Clock(now or datetime.now(UTC))
    rng = random.Random(seed)
    pool = [o for o in objects if _group(o) in GITOPS_GROUPS]
    appliers = [o for o in pool if o["kind"] in APPLIER_KINDS]
    count = min(len(appliers), round(fraction * len(pool)))
    changed = []
    for obj in rng.sample(appliers, count):
        current = state_of(obj)
        target = rng.choice((DEGRADED, PROGRESSING)) if current == HEALTHY else HEALTHY
        new = copy.deepcopy(obj)
        _set_state(clock, new, target)
        _record_status_write(obj, new, clock.ago())
        changed.append(new)
    return changed


def _record_status_write(old: Obj, new: Obj, at: str) -> None:
    # The controller's status write moves its managedFields entry, as the API server records it.
    writer = status_writer(new)
    if writer is None:
        return
    manager, subresource = writer
    entries = record_write(
        old,
        new,
        manager,
        at,
        subresource="status" if subresource else None,
        status_subresource=subresource,
    )
    if entries is not None:
        new["metadata"]["managedFields"] = entries


def state_of(obj: Obj) -> str:
    """The state this module gave an applier (Healthy, Degraded, Progressing or OutOfSync)."""
    status = obj.get("status") or {}
    if obj["kind"] == "Application":
        health = status.get("health", {}).get("status", HEALTHY)
        if health == HEALTHY and status.get("sync", {}).get("status") == OUT_OF_SYNC:
            return OUT_OF_SYNC
        return health
    ready = next((c for c in status.get("conditions", []) if c["type"] == "Ready"), None)
    if ready is None or ready["status"] == "Unknown":
        return PROGRESSING
    return HEALTHY if ready["status"] == "True" else DEGRADED


# --- names and shared values ---------------------------------------------------------------------


def _ns_name(prefix: str, index: int, n: int) -> str:
    # Zero-padded so namespaces sort the way a human counts them on every page.
    width = max(4, len(str(math.ceil(n / PER_NAMESPACE))))
    return f"{prefix}-{index + 1:0{width}d}"


def _group(obj: Obj) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def _refs(namespace_: str, name: str) -> list[Ref]:
    return [(namespace_, f"{name}{suffix}", (group, kind)) for group, kind, suffix in _MANAGED]


def _app_resources(namespace_: str, name: str) -> list[AppResource]:
    return [
        (group, kind, namespace_, f"{name}{suffix}", "Synced") for group, kind, suffix in _MANAGED
    ]


def _created(clock: Clock, rng: random.Random) -> str:
    return clock.ago(days=rng.randint(20, 300), hours=rng.randint(0, 23))


def _git_rev(namespace_: str) -> str:
    return git_revision("main", f"scale/{namespace_}/apps")


def _chart(namespace_: str, name: str) -> tuple[str, str]:
    """(chart name, version) of a tenant HelmRelease; stable per object, whatever the seed."""
    digest = int(sha1(f"{namespace_}/{name}")[:8], 16)
    chart = _CHARTS[digest % len(_CHARTS)]
    return chart, f"{1 + digest % 7}.{digest % 13}.{digest % 5}"


def _previous(version: str) -> str:
    major, minor, patch = (int(p) for p in version.split("."))
    return f"{major}.{minor}.{patch - 1}" if patch else f"{major}.{max(0, minor - 1)}.9"


# --- Flux ----------------------------------------------------------------------------------------


def _flux_object(clock: Clock, rng: random.Random, kind: str, name: str, ns: str) -> Obj:
    created = _created(clock, rng)
    owner = {"tenant": ns}
    if kind == "GitRepository":
        return _git_repository(clock, ns, created)
    if kind == "HelmRepository":
        return _helm_repository(clock, ns, created)
    if kind == "HelmChart":
        chart, version = _chart(ns, name)
        return helm_chart(
            f"{ns}-{name}",
            ns,
            chart=chart,
            chart_name=chart,
            version=version,
            source_kind="HelmRepository",
            source_name="charts",
            source_revision=version,
            created=created,
            at=clock.ago(days=rng.randint(1, 20)),
        )
    if kind == "Kustomization":
        generation = rng.randint(1, 9)
        obj = kustomization(
            name,
            ns,
            created=created,
            path=f"./deploy/{name}",
            source="apps",
            interval="10m0s",
            labels=owner,
            generation=generation,
            status={"inventory": inventory(_refs(ns, name))},
        )
    else:
        obj = _helm_release(ns, name, created, rng.randint(1, 9), owner)
    _set_state(clock, obj, HEALTHY, quiet_for_hours=rng.uniform(0.05, 6))
    return obj


def _git_repository(clock: Clock, ns: str, created: str) -> Obj:
    return git_repository(
        clock,
        "apps",
        ns,
        f"https://code.example.mil/tenants/{ns}.git",
        {"branch": "main"},
        _git_rev(ns),
        created=created,
        fetched=clock.ago(minutes=3),
        labels={"tenant": ns},
        secret="git-credentials",
    )


def _helm_repository(clock: Clock, ns: str, created: str) -> Obj:
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": meta(
            "HelmRepository",
            "charts",
            ns,
            created,
            labels={"tenant": ns},
            generation=1,
            finalizers=["finalizers.fluxcd.io"],
        ),
        "spec": {
            "interval": "5m0s",
            "provider": "generic",
            "timeout": "60s",
            "type": "oci",
            "url": "oci://registry.example.mil/charts",
        },
        # OCI HelmRepositories are static: no artifact, just Ready (as in the scenario).
        "status": {
            "conditions": [
                cond("Ready", "True", "Succeeded", "Helm repository is Ready", created, 1)
            ],
            "observedGeneration": 1,
        },
    }


def _helm_release(ns: str, name: str, created: str, generation: int, labels: Obj) -> Obj:
    chart, version = _chart(ns, name)
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": meta(
            "HelmRelease",
            name,
            ns,
            created,
            labels=labels,
            generation=generation,
            finalizers=["finalizers.fluxcd.io"],
        ),
        "spec": {
            "chart": {
                "spec": {
                    "chart": chart,
                    "interval": "5m",
                    "sourceRef": {"kind": "HelmRepository", "name": "charts"},
                    "version": version,
                }
            },
            "install": {"remediation": {"retries": 3}},
            "interval": "5m",
            "releaseName": name,
            "timeout": "5m",
            "upgrade": {"remediation": {"retries": 3, "remediateLastFailure": False}},
            "values": {"replicaCount": 2},
        },
        "status": {"inventory": inventory(_refs(ns, name))},
    }


def _kustomization_status(clock: Clock, obj: Obj, state: str, at: str) -> Obj:
    name, generation = obj["metadata"]["name"], obj["metadata"]["generation"]
    ns = obj["metadata"]["namespace"]
    revision = _git_rev(ns)
    if state == DEGRADED:
        # Health checks failed on the applied revision: Degraded, still in sync with git.
        message = (
            f"health check failed after 5m0s: timeout waiting for: "
            f"[Deployment/{ns}/{name} status: 'InProgress']"
        )
        conditions = [cond("Ready", "False", "HealthCheckFailed", message, at, generation)]
        history = ks_history(clock, f"{ns}/{name}", [(revision, "HealthCheckFailed", 0.1, 3)])
    elif state == PROGRESSING:
        message = f"Running health checks for revision {revision} with a timeout of 5m0s"
        conditions = [
            cond("Reconciling", "True", "Progressing", message, at, generation),
            cond("Ready", "Unknown", "Progressing", "Reconciliation in progress", at, generation),
        ]
        history = ks_history(clock, f"{ns}/{name}", [(revision, "ReconciliationSucceeded", 2, 9)])
    else:
        message = f"Applied revision: {revision}"
        conditions = [cond("Ready", "True", "ReconciliationSucceeded", message, at, generation)]
        history = ks_history(
            clock, f"{ns}/{name}", [(revision, "ReconciliationSucceeded", 0.1, 14)]
        )
    return {
        "conditions": conditions,
        "history": history,
        "inventory": obj["status"]["inventory"],
        "lastAppliedRevision": revision,
        "lastAttemptedRevision": revision,
        "observedGeneration": generation,
    }


def _helm_release_status(obj: Obj, state: str, at: str) -> Obj:
    meta_, spec = obj["metadata"], obj["spec"]
    name, ns, generation = meta_["name"], meta_["namespace"], meta_["generation"]
    chart = spec["chart"]["spec"]["chart"]
    version = spec["chart"]["spec"]["version"]
    previous = _previous(version)
    created = meta_["creationTimestamp"]

    def snapshot(chart_version: str, revision: int, status: str, when: str) -> Obj:
        return release_snapshot(
            release=name,
            namespace_=ns,
            chart_name=chart,
            chart_version=chart_version,
            app_version=chart_version,
            version=revision,
            status=status,
            action="upgrade",
            first_deployed=created,
            last_deployed=when,
        )

    if state == DEGRADED:
        message = (
            f"Helm upgrade failed for release {ns}/{name} with chart {chart}@{version}: "
            f"context deadline exceeded"
        )
        conditions = [
            cond("Ready", "False", "UpgradeFailed", message, at, generation),
            cond("Released", "False", "UpgradeFailed", message, at, generation),
        ]
        history = [snapshot(version, 4, "failed", at), snapshot(previous, 3, "deployed", created)]
    elif state == PROGRESSING:
        conditions = [
            cond("Reconciling", "True", "Progressing", "Fulfilling prerequisites", at, generation),
            cond("Ready", "Unknown", "Progressing", "Fulfilling prerequisites", at, generation),
        ]
        history = [snapshot(version, 3, "deployed", created)]
    else:
        message = f"Helm upgrade succeeded for release {ns}/{name}.v3 with chart {chart}@{version}"
        conditions = [
            cond("Ready", "True", "UpgradeSucceeded", message, at, generation),
            cond("Released", "True", "UpgradeSucceeded", message, at, generation),
        ]
        history = [
            snapshot(version, 3, "deployed", at),
            snapshot(previous, 2, "superseded", created),
        ]
    return {
        "conditions": conditions,
        "helmChart": f"{ns}/{ns}-{name}",
        "history": history,
        "inventory": obj["status"]["inventory"],
        # Must equal the deployed snapshot's configDigest, or the release reads OutOfSync.
        "lastAttemptedConfigDigest": sha256(f"values/{name}/{version}"),
        "lastAttemptedGeneration": generation,
        "lastAttemptedReleaseAction": "upgrade",
        "lastAttemptedRevision": version,
        "observedGeneration": generation,
        "storageNamespace": ns,
    }


# --- Argo CD -------------------------------------------------------------------------------------


def _app_project(clock: Clock) -> Obj:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": meta(
            "AppProject", "default", ARGOCD_NAMESPACE, clock.ago(days=390), generation=1
        ),
        "spec": {
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "destinations": [{"namespace": "*", "server": "*"}],
            "sourceRepos": ["*"],
        },
        "status": {},
    }


def _application(clock: Clock, rng: random.Random, team: str, index: int) -> Obj:
    name = f"{team}-app-{index:02d}"
    revision = sha1(f"scale/{team}/{name}")
    synced_at = clock.ago(hours=rng.uniform(0.2, 48))
    return application(
        clock,
        name,
        project="default",
        destination_namespace=team,
        resources=_app_resources(team, f"app-{index:02d}"),
        revision=revision,
        source={
            "path": f"apps/app-{index:02d}",
            "repoURL": f"https://code.example.mil/apps/{team}.git",
            "targetRevision": "main",
        },
        generation=rng.randint(20, 5000),
        created=_created(clock, rng),
        synced_at=synced_at,
        health_since=synced_at,
        labels={"team": team},
    )


def _set_app_state(clock: Clock, app: Obj, state: str, at: str) -> None:
    status = app["status"]
    health = HEALTHY if state == OUT_OF_SYNC else state
    status["health"] = {"lastTransitionTime": at, "status": health}
    status["sync"]["status"] = OUT_OF_SYNC if state == OUT_OF_SYNC else "Synced"
    for position, resource in enumerate(status["resources"]):
        # Two drifted resources explain an OutOfSync app, as Argo CD lists them.
        resource["status"] = OUT_OF_SYNC if state == OUT_OF_SYNC and position < 2 else "Synced"
    policy = app["spec"]["syncPolicy"]
    if state == OUT_OF_SYNC:
        policy.pop("automated", None)  # drift only lasts where nobody syncs automatically
    else:
        policy.setdefault("automated", {"enabled": True, "prune": True, "selfHeal": True})
    status["reconciledAt"] = clock.ago(minutes=1)


# --- states --------------------------------------------------------------------------------------


def _set_state(clock: Clock, obj: Obj, state: str, *, quiet_for_hours: float = 0.0) -> None:
    """Rewrite an applier's status for ``state``, changed ``quiet_for_hours`` ago."""
    at = clock.ago(hours=quiet_for_hours)
    if obj["kind"] == "Kustomization":
        obj["status"] = _kustomization_status(clock, obj, state, at)
    elif obj["kind"] == "HelmRelease":
        obj["status"] = _helm_release_status(obj, state, at)
    else:
        _set_app_state(clock, obj, state, at)


def _assign_states(clock: Clock, rng: random.Random, gitops: list[Obj], n: int) -> None:
    appliers = [o for o in gitops if o["kind"] in APPLIER_KINDS]
    apps = [o for o in appliers if o["kind"] == "Application"]
    out_of_sync = rng.sample(apps, min(len(apps), round(OUT_OF_SYNC_SHARE * n)))
    taken = {id(o) for o in out_of_sync}
    rest = [o for o in appliers if id(o) not in taken]
    degraded_count = min(len(rest), round(DEGRADED_SHARE * n))
    chosen = rng.sample(rest, min(len(rest), degraded_count + round(PROGRESSING_SHARE * n)))
    plan = [(o, OUT_OF_SYNC) for o in out_of_sync]
    plan += [(o, DEGRADED if i < degraded_count else PROGRESSING) for i, o in enumerate(chosen)]
    for obj, state in plan:
        _set_state(clock, obj, state, quiet_for_hours=rng.uniform(0.05, 3))


# --- supporting objects --------------------------------------------------------------------------


def _controllers(clock: Clock) -> list[Obj]:
    created = clock.ago(days=390)
    flux = {
        "source-controller": "v1.9.4",
        "kustomize-controller": "v1.9.4",
        "helm-controller": "v1.6.3",
        "notification-controller": "v1.9.3",
    }
    out = [
        workload(
            "flux-system",
            name,
            f"{IRONBANK}/fluxcd/{name}:{version}",
            created,
            labels={"app.kubernetes.io/part-of": "flux", "app.kubernetes.io/component": name},
        )
        for name, version in flux.items()
    ]
    # Argo CD itself is deployed by Flux (ADR-003): its workloads carry helm-controller's labels.
    argo_labels = {
        "app.kubernetes.io/part-of": "argocd",
        **flux_labels("HelmRelease", "argocd", "flux-system"),
    }
    for name, kind in (
        ("argocd-server", "Deployment"),
        ("argocd-repo-server", "Deployment"),
        ("argocd-applicationset-controller", "Deployment"),
        ("argocd-redis", "Deployment"),
        ("argocd-application-controller", "StatefulSet"),
    ):
        out.append(
            workload(
                ARGOCD_NAMESPACE,
                name,
                f"{IRONBANK}/big-bang/argocd:v3.5.1",
                created,
                kind=kind,
                labels={**argo_labels, "app.kubernetes.io/name": name},
                replicas=2 if name == "argocd-repo-server" else 1,
            )
        )
    return out


def _events(clock: Clock, gitops: list[Obj]) -> list[Obj]:
    """One Warning Event per Degraded applier, from the controller that would have sent it."""
    out = []
    for obj in gitops:
        if obj["kind"] not in APPLIER_KINDS or state_of(obj) != DEGRADED:
            continue
        if obj["kind"] == "Application":
            component, reason = "argocd-application-controller", "ResourceUpdated"
            message = "Updated health status: Healthy -> Degraded"
        else:
            ready = next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")
            component = (
                "kustomize-controller" if obj["kind"] == "Kustomization" else "helm-controller"
            )
            reason, message = ready["reason"], ready["message"]
        at = clock.ago(minutes=5)
        out.append(
            event(
                clock,
                obj,
                reason=reason,
                message=message,
                type_="Warning" if obj["kind"] != "Application" else "Normal",
                component=component,
                count=3,
                first=clock.ago(minutes=40),
                last=at,
            )
        )
    return out


__all__ = [
    "BOUNDARIES",
    "build_scaled_platform",
    "mutate",
    "state_of",
]
