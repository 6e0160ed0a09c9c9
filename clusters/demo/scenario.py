"""The ADR-003 platform the demo cluster serves.

Flux owns the platform namespaces and everything cluster-scoped: Flux itself in ``flux-system``,
Big Bang laid out as Big Bang lays it out (every package HelmRelease, GitRepository and HelmChart in
``bigbang``, ``targetNamespace`` pointing at the package namespace; ``shared/reference/bigbang/
NOTES.md``). Argo CD is one of those packages: deployed by the Flux HelmRelease ``bigbang/argocd``
into ``argocd``, which also renders the root Application, the ``applications`` AppProject and the
ApplicationSet. Argo CD owns the application namespaces.

Shapes (conditions, inventories, history, operationState, resources) follow the real objects in
``shared/reference/samples``. Not everything is green, on purpose:

- HelmRelease ``bigbang/gitlab``: upgrade to 9.3.2-bb.0 denied by a Kyverno webhook, rolled back,
  9.2.4-bb.1 still running (Ready=False RollbackSucceeded, Remediated=True).
- Kustomization ``flux-system/cert-manager-issuers``: Progressing (health checks running).
- Kustomization ``flux-system/platform-certificates``: Ready=False DependencyNotReady on it.
- HelmRelease ``bigbang/istiod``: drift detection in ``warn`` mode (the other packages keep Big
  Bang's ``enabled``) and two objects of the release edited by hand: helm-controller reports
  ``Drifted=True`` (DriftDetected) and a Warning Event every interval, and corrects nothing.
- Application ``argocd/data-platform``: OutOfSync (manual sync policy, two resources drifted).
- Application ``argocd/ai-services``: Progressing (rollout in flight), multi-source, health
  persisted per resource (the pre-3.0 layout).

And the ownership violations the dashboard must find:

1. ``portfolio`` (Argo CD) deploys VirtualService ``istio-system/portfolio`` into a Flux namespace.
2. ConfigMap ``monitoring/grafana-dashboard-portfolio`` is claimed by HelmRelease ``monitoring``
   (inventory) and by Application ``portfolio`` (status.resources).
3. ``data-platform`` (Argo CD) manages the cluster-scoped ClusterRole ``data-platform-spark``.
6. ``sandbox-experiments`` (Argo CD) deploys into ``sandbox``, a namespace no rule declares.

The ConfigMap of 2 and the ClusterRole of 3 are served as live objects too, with the managedFields
that say who wrote them (``_contested_objects``).

Timestamps are relative to ``now`` (default: the current time) so the demo looks live; tests pass
a fixed time. Names, uids and digests are deterministic.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from clusters.demo.fields import with_all_managed_fields
from clusters.demo.pods import pods_for

Obj = dict[str, Any]

FLUX_NAMESPACES = ("flux-system", "bigbang", "istio-system", "monitoring", "gitlab", "cert-manager")
ARGOCD_NAMESPACE = "argocd"
ARGO_APP_NAMESPACES = ("portfolio", "data-platform", "ai-services", "demo-apps")
SYSTEM_NAMESPACES = ("kube-system", "default")
UNDECLARED_NAMESPACES = ("sandbox",)
ALL_NAMESPACES = (
    *FLUX_NAMESPACES,
    ARGOCD_NAMESPACE,
    *ARGO_APP_NAMESPACES,
    *SYSTEM_NAMESPACES,
    *UNDECLARED_NAMESPACES,
)

FLUX_VERSION = "v2.9.4"
BIGBANG_VERSION = "3.30.0"
SOURCE_CONTROLLER = "http://source-controller.flux-system.svc.cluster.local."
IN_CLUSTER = "https://kubernetes.default.svc"
FLEET_REPO = "https://code.example.mil/platform/fleet-infra.git"
IRONBANK = "registry1.dso.mil/ironbank"

GROUP_VERSIONS = {
    "": "v1",
    "apps": "v1",
    "batch": "v1",
    "autoscaling": "v2",
    "policy": "v1",
    "networking.k8s.io": "v1",
    "rbac.authorization.k8s.io": "v1",
    "apiextensions.k8s.io": "v1",
    "admissionregistration.k8s.io": "v1",
    "storage.k8s.io": "v1",
    "scheduling.k8s.io": "v1",
    "networking.istio.io": "v1",
    "security.istio.io": "v1",
    "monitoring.coreos.com": "v1",
    "cert-manager.io": "v1",
    "kyverno.io": "v1",
    "source.toolkit.fluxcd.io": "v1",
    "kustomize.toolkit.fluxcd.io": "v1",
    "helm.toolkit.fluxcd.io": "v2",
    "notification.toolkit.fluxcd.io": "v1beta3",
    "image.toolkit.fluxcd.io": "v1",
    "argoproj.io": "v1alpha1",
}

CLUSTER_ROLE = ("rbac.authorization.k8s.io", "ClusterRole")
DEPLOYMENT = ("apps", "Deployment")
SERVICE_ACCOUNT = ("", "ServiceAccount")
CONFIGMAP = ("", "ConfigMap")
SECRET = ("", "Secret")
NAMESPACE = ("", "Namespace")


# --- deterministic values ------------------------------------------------------------------------


def sha1(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest()


def sha256(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def uid(kind: str, namespace: str, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"tidewatch-demo/{kind}/{namespace}/{name}"))


def git_revision(ref: str, seed: str) -> str:
    """Flux >= 2.0 revision format: ``<ref>@sha1:<40 hex>``."""
    return f"{ref}@sha1:{sha1(seed)}"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC).replace(microsecond=0)

    def ago(self, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> str:
        moment = self.now - timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- small builders ------------------------------------------------------------------------------


def meta(
    kind: str,
    name: str,
    namespace: str | None,
    created: str,
    *,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    generation: int | None = None,
    finalizers: list[str] | None = None,
    owner: dict[str, Any] | None = None,
) -> Obj:
    m: Obj = {"name": name}
    if namespace:
        m["namespace"] = namespace
    m["uid"] = uid(kind, namespace or "", name)
    m["creationTimestamp"] = created
    if generation is not None:
        m["generation"] = generation
    if labels:
        m["labels"] = dict(labels)
    if annotations:
        m["annotations"] = dict(annotations)
    if finalizers:
        m["finalizers"] = list(finalizers)
    if owner:
        m["ownerReferences"] = [owner]
    return m


def cond(
    type_: str, status: str, reason: str, message: str, at: str, generation: int | None = None
) -> Obj:
    c: Obj = {"lastTransitionTime": at, "message": message}
    if generation is not None:
        c["observedGeneration"] = generation
    c.update(reason=reason, status=status, type=type_)
    return c


def inventory_id(namespace: str, name: str, group: str, kind: str) -> str:
    # cli-utils ObjMetadata: ':' in names (RBAC) is written as '__'.
    return f"{namespace}_{name.replace(':', '__')}_{group}_{kind}"


Ref = tuple[str, str, tuple[str, str]]  # namespace ("" = cluster-scoped), name, (group, kind)


def inventory(refs: list[Ref]) -> Obj:
    entries = [
        {"id": inventory_id(ns, name, gk[0], gk[1]), "v": GROUP_VERSIONS[gk[0]]}
        for ns, name, gk in refs
    ]
    return {"entries": sorted(entries, key=lambda e: e["id"])}


def flux_labels(kind: str, name: str, namespace: str) -> dict[str, str]:
    """Labels kustomize-/helm-controller put on what they apply, pointing at the owner."""
    prefix = "kustomize" if kind == "Kustomization" else "helm"
    return {
        f"{prefix}.toolkit.fluxcd.io/name": name,
        f"{prefix}.toolkit.fluxcd.io/namespace": namespace,
    }


def bigbang_labels(pkg: str, component: str = "core") -> dict[str, str]:
    """Big Bang's common labels plus helm-controller's origin labels (the objects are rendered
    by the ``bigbang`` HelmRelease)."""
    return {
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/instance": "bigbang",
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/name": pkg,
        "app.kubernetes.io/part-of": "bigbang",
        "app.kubernetes.io/version": BIGBANG_VERSION,
        "helm.sh/chart": f"bigbang-{BIGBANG_VERSION}",
        **flux_labels("HelmRelease", "bigbang", "bigbang"),
    }


def helm_annotations(release: str, namespace: str) -> dict[str, str]:
    return {"meta.helm.sh/release-name": release, "meta.helm.sh/release-namespace": namespace}


def tracking_id(app: str, group: str, kind: str, namespace: str, name: str) -> str:
    return f"{app}:{group}/{kind}:{namespace}/{name}"


# --- core / apps objects -------------------------------------------------------------------------


def namespace(name: str, created: str, labels: dict[str, str] | None = None, **kw: Any) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": meta(
            "Namespace",
            name,
            None,
            created,
            labels={"kubernetes.io/metadata.name": name, **(labels or {})},
            **kw,
        ),
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


def workload(
    namespace_: str,
    name: str,
    image: str,
    created: str,
    *,
    kind: str = "Deployment",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    replicas: int = 1,
    ready: int | None = None,
    updated: int | None = None,
    generation: int = 1,
    progressing: str | None = None,
    at: str | None = None,
) -> Obj:
    """A Deployment or StatefulSet with the status its controller reports."""
    ready = replicas if ready is None else ready
    updated = replicas if updated is None else updated
    selector = {"app.kubernetes.io/name": name}
    spec: Obj = {
        "replicas": replicas,
        "selector": {"matchLabels": selector},
        "template": {
            "metadata": {"labels": {**selector, **(labels or {})}},
            "spec": {"containers": [{"name": name.split("-")[-1] or name, "image": image}]},
        },
    }
    status: Obj = {"observedGeneration": generation, "replicas": replicas}
    at = at or created
    if kind == "StatefulSet":
        spec["serviceName"] = name
        revision = f"{name}-{sha1(image)[:10]}"
        status.update(
            readyReplicas=ready,
            currentReplicas=updated,
            updatedReplicas=updated,
            availableReplicas=ready,
            currentRevision=revision,
            updateRevision=revision,
            collisionCount=0,
        )
    else:
        spec["strategy"] = {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
        }
        status.update(updatedReplicas=updated, readyReplicas=ready, availableReplicas=ready)
        if ready < replicas:
            status["unavailableReplicas"] = replicas - ready
        replica_set = f"{name}-{sha1(image)[:10]}"
        status["conditions"] = [
            {
                "type": "Available",
                "status": "True" if ready >= max(1, replicas - 1) else "False",
                "reason": "MinimumReplicasAvailable"
                if ready >= max(1, replicas - 1)
                else "MinimumReplicasUnavailable",
                "message": "Deployment has minimum availability."
                if ready >= max(1, replicas - 1)
                else "Deployment does not have minimum availability.",
                "lastUpdateTime": at,
                "lastTransitionTime": at,
            },
            {
                "type": "Progressing",
                "status": "True",
                "reason": "ReplicaSetUpdated" if progressing else "NewReplicaSetAvailable",
                "message": progressing
                or f'ReplicaSet "{replica_set}" has successfully progressed.',
                "lastUpdateTime": at,
                "lastTransitionTime": created,
            },
        ]
    annotations = dict(annotations or {})
    if kind == "Deployment":
        annotations.setdefault("deployment.kubernetes.io/revision", str(generation))
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": meta(
            kind,
            name,
            namespace_,
            created,
            labels={**selector, **(labels or {})},
            annotations=annotations,
            generation=generation,
        ),
        "spec": spec,
        "status": status,
    }


def event(
    clock: Clock,
    involved: Obj,
    *,
    reason: str,
    message: str,
    type_: str,
    component: str,
    count: int,
    first: str,
    last: str,
    annotations: dict[str, str] | None = None,
) -> Obj:
    im = involved["metadata"]
    ns = im.get("namespace", "default")
    name = f"{im['name']}.{sha1(reason + message)[:16]}"
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": meta("Event", name, ns, first, annotations=annotations),
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": im["name"],
            "namespace": ns,
            "uid": im["uid"],
        },
        "reason": reason,
        "message": message,
        "source": {"component": component},
        "firstTimestamp": first,
        "lastTimestamp": last,
        "count": count,
        "type": type_,
        "eventTime": None,
        "reportingComponent": component,
        "reportingInstance": f"{component}-{sha1(component)[:10]}-{sha1(component + 'pod')[:5]}",
    }


# --- Flux ----------------------------------------------------------------------------------------


def git_repository(
    clock: Clock,
    name: str,
    namespace_: str,
    url: str,
    ref: dict[str, str],
    revision: str,
    *,
    created: str,
    fetched: str,
    interval: str = "1m0s",
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    secret: str | None = None,
    ignore: str | None = None,
) -> Obj:
    sha = revision.rsplit(":", 1)[1]
    message = f"stored artifact for revision '{revision}'"
    path = f"gitrepository/{namespace_}/{name}/{sha}.tar.gz"
    spec: Obj = {"interval": interval, "ref": ref, "timeout": "60s", "url": url}
    if secret:
        spec["secretRef"] = {"name": secret}
    if ignore:
        spec["ignore"] = ignore
    status: Obj = {
        "artifact": {
            "digest": sha256(f"artifact/{path}"),
            "lastUpdateTime": fetched,
            "path": path,
            "revision": revision,
            "size": 40000 + int(sha[:4], 16),
            "url": f"{SOURCE_CONTROLLER}/{path}",
        },
        "conditions": [
            cond("Ready", "True", "Succeeded", message, fetched, 1),
            cond("ArtifactInStorage", "True", "Succeeded", message, fetched, 1),
        ],
        "observedGeneration": 1,
    }
    if ignore:
        status["observedIgnore"] = ignore
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": meta(
            "GitRepository",
            name,
            namespace_,
            created,
            labels=labels,
            annotations=annotations,
            generation=1,
            finalizers=["finalizers.fluxcd.io"],
        ),
        "spec": spec,
        "status": status,
    }


def kustomization(
    name: str,
    namespace_: str,
    *,
    created: str,
    path: str,
    source: str,
    source_namespace: str | None = None,
    interval: str = "10m0s",
    depends_on: list[str] | None = None,
    labels: dict[str, str] | None = None,
    spec_extra: Obj | None = None,
    status: Obj,
    generation: int = 1,
) -> Obj:
    source_ref: Obj = {"kind": "GitRepository", "name": source}
    if source_namespace:
        source_ref["namespace"] = source_namespace
    spec: Obj = {
        "force": False,
        "interval": interval,
        "path": path,
        "prune": True,
        "sourceRef": source_ref,
        "timeout": "5m0s",
        "wait": True,
    }
    if depends_on:
        spec["dependsOn"] = [{"name": d} for d in depends_on]
    spec.update(spec_extra or {})
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": meta(
            "Kustomization",
            name,
            namespace_,
            created,
            labels=labels,
            generation=generation,
            finalizers=["finalizers.fluxcd.io"],
        ),
        "spec": spec,
        "status": status,
    }


def ks_history(clock: Clock, name: str, revisions: list[tuple[str, str, float, int]]) -> list[Obj]:
    """status.history (kustomize-controller >= 1.7): (revision, reason, hours ago, count)."""
    out = []
    for revision, reason, hours, total in revisions:
        out.append(
            {
                "digest": sha256(f"{name}/{revision}"),
                "firstReconciled": clock.ago(hours=hours + total * 0.17),
                "lastReconciled": clock.ago(hours=hours),
                "lastReconciledDuration": f"{1 + int(sha1(revision)[:2], 16) / 64:.6f}s",
                "lastReconciledStatus": reason,
                "metadata": {"revision": revision},
                "totalReconciliations": total,
            }
        )
    return out


def ready_kustomization_status(
    clock: Clock, name: str, revision: str, refs: list[Ref], at: str, generation: int = 1
) -> Obj:
    message = f"Applied revision: {revision}"
    return {
        "conditions": [cond("Ready", "True", "ReconciliationSucceeded", message, at, generation)],
        "history": ks_history(clock, name, [(revision, "ReconciliationSucceeded", 0.1, 14)]),
        "inventory": inventory(refs),
        "lastAppliedRevision": revision,
        "lastAttemptedRevision": revision,
        "observedGeneration": generation,
    }


def helm_chart(
    name: str,
    namespace_: str,
    *,
    chart: str,
    chart_name: str,
    version: str,
    source_kind: str,
    source_name: str,
    source_revision: str,
    created: str,
    at: str,
) -> Obj:
    path = f"helmchart/{namespace_}/{name}/{chart_name}-{version}.tgz"
    pulled = source_kind == "HelmRepository"
    reason = "ChartPullSucceeded" if pulled else "ChartPackageSucceeded"
    message = f"{'pulled' if pulled else 'packaged'} '{chart_name}' chart with version '{version}'"
    status: Obj = {
        "artifact": {
            "digest": sha256(f"chart/{path}"),
            "lastUpdateTime": at,
            "path": path,
            "revision": version,
            "size": 30000 + int(sha1(path)[:4], 16),
            "url": f"{SOURCE_CONTROLLER}/{path}",
        },
        "conditions": [
            cond("Ready", "True", reason, message, at, 1),
            cond("ArtifactInStorage", "True", reason, message, at, 1),
        ],
        "observedChartName": chart_name,
        "observedGeneration": 1,
        "url": f"{SOURCE_CONTROLLER}/helmchart/{namespace_}/{name}/latest.tar.gz",
    }
    if not pulled:
        status["observedSourceArtifactRevision"] = source_revision
    return {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmChart",
        "metadata": meta(
            "HelmChart",
            name,
            namespace_,
            created,
            generation=1,
            finalizers=["finalizers.fluxcd.io"],
        ),
        "spec": {
            "chart": chart,
            "interval": "5m0s",
            "reconcileStrategy": "ChartVersion",
            "sourceRef": {"kind": source_kind, "name": source_name},
            "version": version if pulled else "*",
        },
        "status": status,
    }


def release_snapshot(
    *,
    release: str,
    namespace_: str,
    chart_name: str,
    chart_version: str,
    app_version: str,
    version: int,
    status: str,
    action: str,
    first_deployed: str,
    last_deployed: str,
    deleted: str | None = None,
) -> Obj:
    snap: Obj = {
        "action": action,
        "apiVersion": "v2",
        "appVersion": app_version,
        "chartName": chart_name,
        "chartVersion": chart_version,
        "configDigest": sha256(f"values/{release}/{chart_version}"),
        "digest": sha256(f"release/{release}/{version}"),
        "firstDeployed": first_deployed,
        "lastDeployed": last_deployed,
        "name": release,
        "namespace": namespace_,
        "status": status,
        "version": version,
    }
    if deleted:
        snap["deleted"] = deleted
    return snap


# --- the platform --------------------------------------------------------------------------------


BIGBANG_IGNORE = "# exclude file extensions\n/**/*.md\n/**/*.txt\n/**/*.sh\n"
PACKAGE_IGNORE = BIGBANG_IGNORE + "!/chart/tests/scripts/*.sh\n"


class _Package:
    """One Big Bang package: HelmRelease + source + HelmChart in ``bigbang``."""

    def __init__(
        self,
        name: str,
        target: str,
        chart_name: str,
        version: str,
        app_version: str,
        *,
        component: str = "core",
        depends_on: tuple[str, ...] = (),
        helm_repo: bool = False,
        revision: int = 3,
        refs: list[Ref],
    ) -> None:
        self.name = name
        self.target = target
        self.chart_name = chart_name
        self.version = version
        self.app_version = app_version
        self.component = component
        self.depends_on = depends_on
        self.helm_repo = helm_repo
        self.revision = revision
        self.refs = refs


# Inventories as "namespace name Kind[.group]" lines ("-" = cluster-scoped), kubectl style.
_ISTIO_CRDS_REFS = """
- authorizationpolicies.security.istio.io CustomResourceDefinition.apiextensions.k8s.io
- destinationrules.networking.istio.io CustomResourceDefinition.apiextensions.k8s.io
- gateways.networking.istio.io CustomResourceDefinition.apiextensions.k8s.io
- peerauthentications.security.istio.io CustomResourceDefinition.apiextensions.k8s.io
- serviceentries.networking.istio.io CustomResourceDefinition.apiextensions.k8s.io
- sidecars.networking.istio.io CustomResourceDefinition.apiextensions.k8s.io
- virtualservices.networking.istio.io CustomResourceDefinition.apiextensions.k8s.io
"""
_ISTIOD_REFS = """
istio-system istiod Deployment.apps
istio-system istiod Service
istio-system istiod ServiceAccount
istio-system istio ConfigMap
istio-system istio-sidecar-injector ConfigMap
istio-system istiod PodDisruptionBudget.policy
istio-system istiod HorizontalPodAutoscaler.autoscaling
- istiod-clusterrole-istio-system ClusterRole.rbac.authorization.k8s.io
- istiod-clusterrole-istio-system ClusterRoleBinding.rbac.authorization.k8s.io
- istio-sidecar-injector MutatingWebhookConfiguration.admissionregistration.k8s.io
- istio-validator-istio-system ValidatingWebhookConfiguration.admissionregistration.k8s.io
"""
_CERT_MANAGER_REFS = """
cert-manager cert-manager Deployment.apps
cert-manager cert-manager-cainjector Deployment.apps
cert-manager cert-manager-webhook Deployment.apps
cert-manager cert-manager Service
cert-manager cert-manager-webhook Service
- certificates.cert-manager.io CustomResourceDefinition.apiextensions.k8s.io
- clusterissuers.cert-manager.io CustomResourceDefinition.apiextensions.k8s.io
- issuers.cert-manager.io CustomResourceDefinition.apiextensions.k8s.io
- cert-manager-controller-issuers ClusterRole.rbac.authorization.k8s.io
- cert-manager-webhook ValidatingWebhookConfiguration.admissionregistration.k8s.io
"""
# grafana-dashboard-portfolio is violation 2: Application portfolio lists it too.
_MONITORING_REFS = """
monitoring monitoring-grafana Deployment.apps
monitoring monitoring-monitoring-kube-operator Deployment.apps
monitoring monitoring-monitoring-kube-state-metrics Deployment.apps
monitoring monitoring-monitoring-prometheus-node-exporter DaemonSet.apps
monitoring monitoring-grafana Service
monitoring monitoring-grafana ConfigMap
monitoring grafana-dashboard-portfolio ConfigMap
monitoring monitoring-monitoring-kube-prometheus Prometheus.monitoring.coreos.com
monitoring monitoring-monitoring-kube-alertmanager Alertmanager.monitoring.coreos.com
- monitoring-grafana-clusterrole ClusterRole.rbac.authorization.k8s.io
- monitoring-monitoring-kube-operator ClusterRole.rbac.authorization.k8s.io
- prometheuses.monitoring.coreos.com CustomResourceDefinition.apiextensions.k8s.io
"""
_GITLAB_REFS = """
gitlab gitlab-webservice-default Deployment.apps
gitlab gitlab-sidekiq-all-in-1-v2 Deployment.apps
gitlab gitlab-gitlab-shell Deployment.apps
gitlab gitlab-registry Deployment.apps
gitlab gitlab-toolbox Deployment.apps
gitlab gitlab-gitaly StatefulSet.apps
gitlab gitlab-webservice-default Service
gitlab gitlab-gitlab-shell Service
gitlab gitlab-webservice ConfigMap
gitlab gitlab VirtualService.networking.istio.io
"""
# The last three lines come from the package's argocd-apps values: Flux renders Argo CD's root
# objects, the label/inventory link from Flux to Argo CD.
_ARGOCD_REFS = """
argocd argocd-server Deployment.apps
argocd argocd-repo-server Deployment.apps
argocd argocd-applicationset-controller Deployment.apps
argocd argocd-redis Deployment.apps
argocd argocd-notifications-controller Deployment.apps
argocd argocd-dex-server Deployment.apps
argocd argocd-application-controller StatefulSet.apps
argocd argocd-server Service
argocd argocd-repo-server Service
argocd argocd-redis Service
argocd argocd-dex-server Service
argocd argocd-cm ConfigMap
argocd argocd-rbac-cm ConfigMap
argocd argocd-cmd-params-cm ConfigMap
argocd argocd-secret Secret
argocd argocd-server VirtualService.networking.istio.io
- applications.argoproj.io CustomResourceDefinition.apiextensions.k8s.io
- applicationsets.argoproj.io CustomResourceDefinition.apiextensions.k8s.io
- appprojects.argoproj.io CustomResourceDefinition.apiextensions.k8s.io
- argocd-application-controller ClusterRole.rbac.authorization.k8s.io
- argocd-server ClusterRole.rbac.authorization.k8s.io
- argocd-application-controller ClusterRoleBinding.rbac.authorization.k8s.io
- argocd-server ClusterRoleBinding.rbac.authorization.k8s.io
argocd applications AppProject.argoproj.io
argocd platform-apps Application.argoproj.io
argocd demo-apps ApplicationSet.argoproj.io
"""


def refs(table: str) -> list[Ref]:
    """Parse "namespace name Kind[.group]" lines; "-" marks a cluster-scoped object."""
    out: list[Ref] = []
    for line in table.strip().splitlines():
        ns, name, kind_group = line.split()
        kind, _, group = kind_group.partition(".")
        out.append(("" if ns == "-" else ns, name, (group, kind)))
    return out


def _packages() -> list[_Package]:
    return [
        _Package(
            "istio-crds", "istio-system", "istio-crds", "1.27.3-bb.0", "1.27.3",
            refs=refs(_ISTIO_CRDS_REFS),
        ),
        _Package(
            "istiod", "istio-system", "istiod", "1.27.3-bb.0", "1.27.3",
            depends_on=("istio-crds",), refs=refs(_ISTIOD_REFS),
        ),
        _Package(
            "cert-manager", "cert-manager", "cert-manager", "1.18.2-bb.1", "v1.18.2",
            helm_repo=True, refs=refs(_CERT_MANAGER_REFS),
        ),
        _Package(
            "monitoring", "monitoring", "kube-prometheus-stack", "77.0.1-bb.0", "v0.85.0",
            depends_on=("istiod",), revision=5, refs=refs(_MONITORING_REFS),
        ),
        _Package(
            "gitlab", "gitlab", "gitlab", "9.3.2-bb.0", "v18.3.2",
            component="developer-tools", depends_on=("istiod", "monitoring"), revision=9,
            refs=refs(_GITLAB_REFS),
        ),
        _Package(
            "argocd", "argocd", "argocd", "10.2.1-bb.0", "v3.5.1",
            depends_on=("istiod", "monitoring"), revision=4, refs=refs(_ARGOCD_REFS),
        ),
    ]  # fmt: skip


_FLEET_REFS = """
- flux-system Namespace
- gitrepositories.source.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- helmcharts.source.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- helmrepositories.source.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- ocirepositories.source.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- buckets.source.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- externalartifacts.source.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- kustomizations.kustomize.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- helmreleases.helm.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- alerts.notification.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- providers.notification.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- receivers.notification.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- imagerepositories.image.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- imagepolicies.image.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- imageupdateautomations.image.toolkit.fluxcd.io CustomResourceDefinition.apiextensions.k8s.io
- crd-controller-flux-system ClusterRole.rbac.authorization.k8s.io
- flux-edit-flux-system ClusterRole.rbac.authorization.k8s.io
- flux-view-flux-system ClusterRole.rbac.authorization.k8s.io
- cluster-reconciler-flux-system ClusterRoleBinding.rbac.authorization.k8s.io
- crd-controller-flux-system ClusterRoleBinding.rbac.authorization.k8s.io
flux-system critical-pods-flux-system ResourceQuota
flux-system allow-egress NetworkPolicy.networking.k8s.io
flux-system allow-scraping NetworkPolicy.networking.k8s.io
flux-system allow-webhooks NetworkPolicy.networking.k8s.io
flux-system source-controller Service
flux-system notification-controller Service
flux-system webhook-receiver Service
flux-system flux-system GitRepository.source.toolkit.fluxcd.io
flux-system flux-system Kustomization.kustomize.toolkit.fluxcd.io
flux-system infrastructure Kustomization.kustomize.toolkit.fluxcd.io
flux-system tenants Kustomization.kustomize.toolkit.fluxcd.io
flux-system cert-manager-issuers Kustomization.kustomize.toolkit.fluxcd.io
flux-system platform-certificates Kustomization.kustomize.toolkit.fluxcd.io
flux-system tidewatch ImageRepository.image.toolkit.fluxcd.io
flux-system tidewatch ImagePolicy.image.toolkit.fluxcd.io
bigbang environment-repo GitRepository.source.toolkit.fluxcd.io
bigbang environment Kustomization.kustomize.toolkit.fluxcd.io
"""
# Cluster-scoped platform RBAC and policy: Flux owns everything cluster-scoped (ADR-003). The
# ':' in RBAC names is stored as '__' in inventory ids.
_INFRASTRUCTURE_REFS = """
- platform:namespace-admin ClusterRole.rbac.authorization.k8s.io
- platform:readonly ClusterRole.rbac.authorization.k8s.io
- platform:readonly ClusterRoleBinding.rbac.authorization.k8s.io
- platform:tidewatch-reader ClusterRole.rbac.authorization.k8s.io
- platform:tidewatch-reader ClusterRoleBinding.rbac.authorization.k8s.io
- gp3-encrypted StorageClass.storage.k8s.io
- platform-critical PriorityClass.scheduling.k8s.io
- disallow-privilege-escalation ClusterPolicy.kyverno.io
- require-non-root ClusterPolicy.kyverno.io
"""


def _flux_system(clock: Clock, objects: list[Obj]) -> None:
    created = clock.ago(days=212)
    revision = git_revision("main", "fleet-infra/main")
    owner = flux_labels("Kustomization", "flux-system", "flux-system")
    objects.append(
        git_repository(
            clock,
            "flux-system",
            "flux-system",
            FLEET_REPO,
            {"branch": "main"},
            revision,
            created=created,
            fetched=clock.ago(minutes=4),
            labels=owner,
            secret="flux-system",
        )
    )
    controllers = [
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
        "image-reflector-controller",
        "image-automation-controller",
    ]
    versions = {
        "source-controller": "v1.9.4",
        "kustomize-controller": "v1.9.4",
        "helm-controller": "v1.6.3",
        "notification-controller": "v1.9.3",
        "image-reflector-controller": "v1.2.4",
        "image-automation-controller": "v1.2.3",
    }
    for name in controllers:
        objects.append(
            workload(
                "flux-system",
                name,
                f"{IRONBANK}/fluxcd/{name}:{versions[name]}",
                created,
                labels={
                    "app.kubernetes.io/component": name,
                    "app.kubernetes.io/instance": "flux-system",
                    "app.kubernetes.io/part-of": "flux",
                    "app.kubernetes.io/version": FLUX_VERSION,
                    "control-plane": "controller",
                    **owner,
                },
                generation=4,
                at=clock.ago(days=9),
            )
        )
    fleet_refs = refs(_FLEET_REFS)
    fleet_refs += [("flux-system", c, DEPLOYMENT) for c in controllers]
    fleet_refs += [("flux-system", c, SERVICE_ACCOUNT) for c in controllers]
    at = clock.ago(minutes=3)
    status = ready_kustomization_status(clock, "flux-system", revision, fleet_refs, at)
    status["history"] = ks_history(
        clock,
        "flux-system",
        [
            (revision, "ReconciliationSucceeded", 0.05, 31),
            (git_revision("main", "fleet-infra/main~1"), "ReconciliationSucceeded", 6, 52),
        ],
    )
    objects.append(
        kustomization(
            "flux-system",
            "flux-system",
            created=created,
            path="./clusters/production",
            source="flux-system",
            labels=owner,
            status=status,
        )
    )

    infra_refs = refs(_INFRASTRUCTURE_REFS)
    infra_at = clock.ago(minutes=7)
    objects.append(
        kustomization(
            "infrastructure",
            "flux-system",
            created=created,
            path="./infrastructure/production",
            source="flux-system",
            labels=owner,
            status=ready_kustomization_status(
                clock, "infrastructure", revision, infra_refs, infra_at
            ),
        )
    )
    tenant_refs: list[Ref] = [("", ns, NAMESPACE) for ns in ARGO_APP_NAMESPACES]
    tenant_refs += [("", f"tenant:{ns}:edit", CLUSTER_ROLE) for ns in ARGO_APP_NAMESPACES]
    objects.append(
        kustomization(
            "tenants",
            "flux-system",
            created=clock.ago(days=150),
            path="./tenants/production",
            source="flux-system",
            depends_on=["infrastructure"],
            labels=owner,
            status=ready_kustomization_status(clock, "tenants", revision, tenant_refs, infra_at),
        )
    )

    # Progressing: new issuers applied, health checks still waiting for the ACME account.
    issuers_new = git_revision("main", "fleet-infra/main")
    issuers_old = git_revision("main", "fleet-infra/main~3")
    issuer_refs: list[Ref] = [
        ("", "letsencrypt-dod", ("cert-manager.io", "ClusterIssuer")),
        ("", "platform-ca", ("cert-manager.io", "ClusterIssuer")),
    ]
    progressing_at = clock.ago(minutes=2)
    objects.append(
        kustomization(
            "cert-manager-issuers",
            "flux-system",
            created=clock.ago(days=96),
            path="./infrastructure/cert-manager/issuers",
            source="flux-system",
            labels=owner,
            generation=3,
            spec_extra={
                "healthChecks": [
                    {
                        "apiVersion": "cert-manager.io/v1",
                        "kind": "ClusterIssuer",
                        "name": "letsencrypt-dod",
                    }
                ]
            },
            status={
                "conditions": [
                    cond(
                        "Reconciling",
                        "True",
                        "Progressing",
                        f"Running health checks for revision {issuers_new} with a timeout of 5m0s",
                        progressing_at,
                        3,
                    ),
                    cond(
                        "Ready",
                        "Unknown",
                        "Progressing",
                        "Reconciliation in progress",
                        progressing_at,
                        3,
                    ),
                ],
                "history": ks_history(
                    clock,
                    "cert-manager-issuers",
                    [(issuers_old, "ReconciliationSucceeded", 20, 118)],
                ),
                "inventory": inventory(issuer_refs),
                "lastAppliedRevision": issuers_old,
                "lastAttemptedRevision": issuers_new,
                "observedGeneration": 2,
            },
        )
    )
    # Waiting on the one above.
    waiting_at = clock.ago(minutes=2)
    cert_refs: list[Ref] = [
        ("istio-system", "public-gateway-cert", ("cert-manager.io", "Certificate")),
        ("istio-system", "passthrough-gateway-cert", ("cert-manager.io", "Certificate")),
    ]
    objects.append(
        kustomization(
            "platform-certificates",
            "flux-system",
            created=clock.ago(days=96),
            path="./infrastructure/cert-manager/certificates",
            source="flux-system",
            depends_on=["cert-manager-issuers"],
            labels=owner,
            generation=2,
            status={
                "conditions": [
                    cond(
                        "Ready",
                        "False",
                        "DependencyNotReady",
                        "dependency 'flux-system/cert-manager-issuers' is not ready",
                        waiting_at,
                        2,
                    )
                ],
                "inventory": inventory(cert_refs),
                "lastAppliedRevision": issuers_old,
                "lastAttemptedRevision": issuers_old,
                "observedGeneration": 2,
            },
        )
    )

    # Image automation for the platform's own tooling: scanning and policies only (the
    # image-automation-controller runs, but no ImageUpdateAutomation writes to Git yet).
    image = "registry.example.mil/platform/tidewatch"
    scanned = clock.ago(minutes=1)
    objects.append(
        {
            "apiVersion": "image.toolkit.fluxcd.io/v1",
            "kind": "ImageRepository",
            "metadata": meta(
                "ImageRepository",
                "tidewatch",
                "flux-system",
                clock.ago(days=40),
                labels=owner,
                generation=1,
                finalizers=["finalizers.fluxcd.io"],
            ),
            "spec": {
                "exclusionList": ["^.*\\.sig$"],
                "image": image,
                "interval": "5m0s",
                "secretRef": {"name": "private-registry"},
            },
            "status": {
                "canonicalImageName": image,
                "conditions": [
                    cond("Ready", "True", "Succeeded", "successful scan: found 23 tags", scanned, 1)
                ],
                "lastScanResult": {
                    "latestTags": ["1.4.2", "1.4.1", "1.4.0", "1.3.9", "1.3.8"],
                    "revision": sha256(f"{image}/tags"),
                    "scanTime": scanned,
                    "tagCount": 23,
                },
                "observedExclusionList": ["^.*\\.sig$"],
                "observedGeneration": 1,
            },
        }
    )
    objects.append(
        {
            "apiVersion": "image.toolkit.fluxcd.io/v1",
            "kind": "ImagePolicy",
            "metadata": meta(
                "ImagePolicy",
                "tidewatch",
                "flux-system",
                clock.ago(days=40),
                labels=owner,
                generation=1,
                finalizers=["finalizers.fluxcd.io"],
            ),
            "spec": {
                "imageRepositoryRef": {"name": "tidewatch"},
                "interval": "10m0s",
                "policy": {"semver": {"range": ">=1.0.0 <2.0.0"}},
            },
            "status": {
                "conditions": [
                    cond(
                        "Ready",
                        "True",
                        "Succeeded",
                        f"Latest image tag for {image} resolved to 1.4.2 "
                        f"(previously {image}:1.4.1)",
                        clock.ago(hours=30),
                        1,
                    )
                ],
                "latestRef": {"digest": sha256(f"{image}:1.4.2"), "name": image, "tag": "1.4.2"},
                "observedGeneration": 1,
                "observedPreviousRef": {
                    "digest": sha256(f"{image}:1.4.1"),
                    "name": image,
                    "tag": "1.4.1",
                },
            },
        }
    )


def _bigbang(clock: Clock, objects: list[Obj]) -> None:
    created = clock.ago(days=180)
    env_owner = flux_labels("Kustomization", "environment", "bigbang")
    fleet_owner = flux_labels("Kustomization", "flux-system", "flux-system")
    env_revision = git_revision("main", "bigbang-environment/main")
    objects.append(
        git_repository(
            clock,
            "environment-repo",
            "bigbang",
            "https://code.example.mil/platform/bigbang-environment.git",
            {"branch": "main"},
            env_revision,
            created=created,
            fetched=clock.ago(minutes=1),
            labels=fleet_owner,
            secret="environment-repo-credentials",
        )
    )
    hashes = {
        n: sha1(f"kustomize/{n}")[:10]
        for n in ("common", "environment", "common-bb", "environment-bb")
    }
    env_refs: list[Ref] = [
        ("", "bigbang", NAMESPACE),
        ("bigbang", "bigbang", ("source.toolkit.fluxcd.io", "GitRepository")),
        ("bigbang", "bigbang", ("helm.toolkit.fluxcd.io", "HelmRelease")),
        ("bigbang", f"common-{hashes['common']}", CONFIGMAP),
        ("bigbang", f"environment-{hashes['environment']}", CONFIGMAP),
        ("bigbang", f"common-bb-{hashes['common-bb']}", SECRET),
        ("bigbang", f"environment-bb-{hashes['environment-bb']}", SECRET),
    ]
    objects.append(
        kustomization(
            "environment",
            "bigbang",
            created=created,
            path="./production",
            source="environment-repo",
            interval="1m0s",
            labels=fleet_owner,
            spec_extra={"decryption": {"provider": "sops", "secretRef": {"name": "sops-gpg"}}},
            status=ready_kustomization_status(
                clock, "environment", env_revision, env_refs, clock.ago(minutes=1)
            ),
        )
    )

    bb_labels = {"owner": "bigbang", **env_owner}
    bb_revision = git_revision(BIGBANG_VERSION, f"bigbang/{BIGBANG_VERSION}")
    objects.append(
        git_repository(
            clock,
            "bigbang",
            "bigbang",
            "https://repo1.dso.mil/big-bang/bigbang.git",
            {"tag": BIGBANG_VERSION},
            bb_revision,
            created=created,
            fetched=clock.ago(minutes=6),
            interval="10m0s",
            labels=bb_labels,
            ignore=BIGBANG_IGNORE,
        )
    )
    objects.append(
        helm_chart(
            "bigbang-bigbang",
            "bigbang",
            chart="chart",
            chart_name="bigbang",
            version=BIGBANG_VERSION,
            source_kind="GitRepository",
            source_name="bigbang",
            source_revision=bb_revision,
            created=created,
            at=clock.ago(days=6),
        )
    )
    objects.append(
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "HelmRepository",
            "metadata": meta(
                "HelmRepository",
                "registry1",
                "bigbang",
                created,
                labels=bigbang_labels("registry1"),
                annotations=helm_annotations("bigbang", "bigbang"),
                generation=1,
                finalizers=["finalizers.fluxcd.io"],
            ),
            "spec": {
                "interval": "5m0s",
                "provider": "generic",
                "secretRef": {"name": "private-registry"},
                "timeout": "60s",
                "type": "oci",
                "url": "oci://registry1.dso.mil/bigbang",
            },
            # OCI HelmRepositories are static: no artifact, just Ready.
            "status": {
                "conditions": [
                    cond(
                        "Ready",
                        "True",
                        "Succeeded",
                        "Helm repository is Ready",
                        clock.ago(days=30),
                        1,
                    )
                ],
                "observedGeneration": 1,
            },
        }
    )

    packages = _packages()
    bb_refs: list[Ref] = [
        ("bigbang", "registry1", ("source.toolkit.fluxcd.io", "HelmRepository")),
        ("bigbang", "private-registry", SECRET),
        ("monitoring", "grafana", ("notification.toolkit.fluxcd.io", "Provider")),
        ("monitoring", "grafana", ("notification.toolkit.fluxcd.io", "Alert")),
    ]
    for pkg in packages:
        bb_refs.append(("bigbang", pkg.name, ("helm.toolkit.fluxcd.io", "HelmRelease")))
        bb_refs.append(("bigbang", f"bigbang-{pkg.name}-values", SECRET))
        if not pkg.helm_repo:
            bb_refs.append(("bigbang", pkg.name, ("source.toolkit.fluxcd.io", "GitRepository")))
        if ("", pkg.target, NAMESPACE) not in bb_refs:
            bb_refs.append(("", pkg.target, NAMESPACE))
    bb_at = clock.ago(days=6)
    bb_message = (
        "Helm upgrade succeeded for release bigbang/bigbang.v14 "
        f"with chart bigbang@{BIGBANG_VERSION}"
    )
    objects.append(
        {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": meta(
                "HelmRelease",
                "bigbang",
                "bigbang",
                created,
                labels=bb_labels,
                generation=7,
                finalizers=["finalizers.fluxcd.io"],
            ),
            "spec": {
                "chart": {
                    "spec": {
                        "chart": "chart",
                        "sourceRef": {"kind": "GitRepository", "name": "bigbang"},
                    }
                },
                "install": {"remediation": {"retries": -1}},
                "interval": "10m",
                "releaseName": "bigbang",
                "rollback": {"cleanupOnFail": False, "timeout": "10m"},
                "targetNamespace": "bigbang",
                "test": {"enable": False},
                "upgrade": {
                    "cleanupOnFail": True,
                    "remediation": {"remediateLastFailure": True, "retries": 5},
                },
                "valuesFrom": [
                    {"kind": "Secret", "name": "terraform", "optional": True},
                    {"kind": "Secret", "name": f"common-bb-{hashes['common-bb']}"},
                    {"kind": "ConfigMap", "name": f"common-{hashes['common']}"},
                    {"kind": "Secret", "name": f"environment-bb-{hashes['environment-bb']}"},
                    {"kind": "ConfigMap", "name": f"environment-{hashes['environment']}"},
                ],
                "waitStrategy": {"name": "legacy"},
            },
            "status": {
                "conditions": [
                    cond("Ready", "True", "UpgradeSucceeded", bb_message, bb_at, 7),
                    cond("Released", "True", "UpgradeSucceeded", bb_message, bb_at, 7),
                ],
                "helmChart": "bigbang/bigbang-bigbang",
                "history": [
                    release_snapshot(
                        release="bigbang",
                        namespace_="bigbang",
                        chart_name="bigbang",
                        chart_version=BIGBANG_VERSION,
                        app_version=BIGBANG_VERSION,
                        version=14,
                        status="deployed",
                        action="upgrade",
                        first_deployed=created,
                        last_deployed=bb_at,
                    ),
                    release_snapshot(
                        release="bigbang",
                        namespace_="bigbang",
                        chart_name="bigbang",
                        chart_version="3.29.1",
                        app_version="3.29.1",
                        version=13,
                        status="superseded",
                        action="upgrade",
                        first_deployed=created,
                        last_deployed=clock.ago(days=27),
                    ),
                ],
                "inventory": inventory(bb_refs),
                "lastAttemptedConfigDigest": sha256(f"values/bigbang/{BIGBANG_VERSION}"),
                "lastAttemptedGeneration": 7,
                "lastAttemptedReleaseAction": "upgrade",
                "lastAttemptedRevision": BIGBANG_VERSION,
                "observedGeneration": 7,
                "storageNamespace": "bigbang",
            },
        }
    )

    for pkg in packages:
        objects.extend(_package_objects(clock, pkg, created))

    # Big Bang's Grafana notification objects (template chart/templates/grafana/flux/*.yaml).
    grafana_labels = bigbang_labels("grafana")
    objects.append(
        {
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
            "kind": "Provider",
            "metadata": meta(
                "Provider",
                "grafana",
                "monitoring",
                created,
                labels=grafana_labels,
                annotations=helm_annotations("bigbang", "bigbang"),
                generation=1,
            ),
            "spec": {
                "address": "http://monitoring-grafana.monitoring.svc.cluster.local/api/annotations",
                "secretRef": {"name": "grafana-flux-notification"},
                "type": "grafana",
            },
        }
    )
    objects.append(
        {
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3",
            "kind": "Alert",
            "metadata": meta(
                "Alert",
                "grafana",
                "monitoring",
                created,
                labels=grafana_labels,
                annotations=helm_annotations("bigbang", "bigbang"),
                generation=1,
            ),
            "spec": {
                "eventSeverity": "info",
                "eventSources": [{"kind": "GitRepository", "name": "*", "namespace": "bigbang"}],
                "providerRef": {"name": "grafana"},
            },
        }
    )


def _package_objects(clock: Clock, pkg: _Package, bb_created: str) -> list[Obj]:
    out: list[Obj] = []
    labels = bigbang_labels(pkg.name, pkg.component)
    annotations = {
        **helm_annotations("bigbang", "bigbang"),
        "checksum/bigbang-values": sha256(f"bb-values/{pkg.name}").split(":")[1],
    }
    repo_url = f"https://repo1.dso.mil/big-bang/product/packages/{pkg.name}.git"
    source_revision = git_revision(pkg.version, f"{pkg.name}/{pkg.version}")
    if pkg.helm_repo:
        chart_spec: Obj = {
            "chart": pkg.chart_name,
            "interval": "5m",
            "sourceRef": {"kind": "HelmRepository", "name": "registry1", "namespace": "bigbang"},
            "version": pkg.version,
        }
    else:
        chart_spec = {
            "chart": "./chart",
            "interval": "5m",
            "reconcileStrategy": "ChartVersion",
            "sourceRef": {"kind": "GitRepository", "name": pkg.name, "namespace": "bigbang"},
        }
        out.append(
            git_repository(
                clock,
                pkg.name,
                "bigbang",
                repo_url,
                {"tag": pkg.version},
                source_revision,
                created=bb_created,
                fetched=clock.ago(hours=2),
                interval="2m",
                labels=labels,
                annotations=helm_annotations("bigbang", "bigbang"),
                ignore=PACKAGE_IGNORE,
            )
        )
    out.append(
        helm_chart(
            f"bigbang-{pkg.name}",
            "bigbang",
            chart=chart_spec["chart"],
            chart_name=pkg.chart_name,
            version=pkg.version,
            source_kind=chart_spec["sourceRef"]["kind"],
            source_name=chart_spec["sourceRef"]["name"],
            source_revision=source_revision,
            created=bb_created,
            at=clock.ago(hours=2) if pkg.name == "gitlab" else clock.ago(days=6),
        )
    )
    generation = 6 if pkg.name == "gitlab" else 3
    spec: Obj = {
        "chart": {"spec": chart_spec},
        "driftDetection": {
            "ignore": [
                {"paths": [""], "target": {"kind": "Job"}},
                {"paths": [""], "target": {"kind": "StatefulSet"}},
            ],
            "mode": "warn" if pkg.name == ISTIOD_DRIFT[0] else "enabled",
        },
        "install": {"remediation": {"retries": -1}},
        "interval": "2m",
        "releaseName": pkg.name,
        "rollback": {"cleanupOnFail": True, "timeout": "10m"},
        "targetNamespace": pkg.target,
        "test": {"enable": False},
        "timeout": "10m",
        "upgrade": {
            "cleanupOnFail": True,
            "remediation": {"remediateLastFailure": True, "retries": 3},
        },
        "valuesFrom": [
            {"kind": "Secret", "name": f"bigbang-{pkg.name}-values", "valuesKey": key}
            for key in ("common", "defaults", "overlays")
        ],
    }
    if pkg.depends_on:
        spec["dependsOn"] = [{"name": d, "namespace": "bigbang"} for d in pkg.depends_on]
    at = clock.ago(days=6)
    release = f"{pkg.target}/{pkg.name}"
    if pkg.name == "gitlab":
        status = _gitlab_status(clock, pkg, bb_created)
    else:
        message = (
            f"Helm upgrade succeeded for release {release}.v{pkg.revision} "
            f"with chart {pkg.chart_name}@{pkg.version}"
        )
        previous = _previous_version(pkg.version)
        status = {
            "conditions": [
                cond("Ready", "True", "UpgradeSucceeded", message, at, generation),
                cond("Released", "True", "UpgradeSucceeded", message, at, generation),
                _drifted_condition(clock, pkg, generation),
            ],
            "helmChart": f"bigbang/bigbang-{pkg.name}",
            "history": [
                release_snapshot(
                    release=pkg.name,
                    namespace_=pkg.target,
                    chart_name=pkg.chart_name,
                    chart_version=pkg.version,
                    app_version=pkg.app_version,
                    version=pkg.revision,
                    status="deployed",
                    action="upgrade",
                    first_deployed=bb_created,
                    last_deployed=at,
                ),
                release_snapshot(
                    release=pkg.name,
                    namespace_=pkg.target,
                    chart_name=pkg.chart_name,
                    chart_version=previous,
                    app_version=pkg.app_version,
                    version=pkg.revision - 1,
                    status="superseded",
                    action="upgrade",
                    first_deployed=bb_created,
                    last_deployed=clock.ago(days=27),
                ),
            ],
            "inventory": inventory(pkg.refs),
            "lastAttemptedConfigDigest": sha256(f"values/{pkg.name}/{pkg.version}"),
            "lastAttemptedGeneration": generation,
            "lastAttemptedReleaseAction": "upgrade",
            "lastAttemptedRevision": pkg.version,
            "observedGeneration": generation,
            "storageNamespace": pkg.target,
        }
        if pkg.helm_repo:
            status["lastAttemptedRevisionDigest"] = sha256(f"oci/{pkg.name}/{pkg.version}")
    out.append(
        {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": meta(
                "HelmRelease",
                pkg.name,
                "bigbang",
                bb_created,
                labels=labels,
                annotations=annotations,
                generation=generation,
                finalizers=["finalizers.fluxcd.io"],
            ),
            "spec": spec,
            "status": status,
        }
    )
    return out


# The package whose drift detection is in warn mode and has drifted, and what was edited by
# hand (lines as helm-controller's diff summary writes them: internal/diff/summarize.go).
ISTIOD_DRIFT = (
    "istiod",
    (
        "ConfigMap/istio-system/istio changed (0 additions, 1 changes, 0 removals)",
        "HorizontalPodAutoscaler/istio-system/istiod changed (0 additions, 2 changes, 0 removals)",
    ),
)
DRIFT_MINUTES = 38  # since the edit: helm-controller reports again every interval (2m)


def drift_message(pkg: _Package) -> str:
    """helm-controller's DriftDetected message (internal/reconcile/atomic_release.go)."""
    return (
        f"Cluster state of release {pkg.target}/{pkg.name}.v{pkg.revision} has drifted from "
        "the desired state:\n" + "\n".join(ISTIOD_DRIFT[1])
    )


def _drifted_condition(clock: Clock, pkg: _Package, generation: int) -> Obj:
    """helm-controller >= v1.6.0 with drift detection on: Drifted, True only for istiod."""
    if pkg.name == ISTIOD_DRIFT[0]:
        at = clock.ago(minutes=DRIFT_MINUTES)
        return cond("Drifted", "True", "DriftDetected", drift_message(pkg), at, generation)
    message = "No drift detected against the cluster state"
    return cond("Drifted", "False", "NoDriftDetected", message, clock.ago(minutes=2), generation)


def _previous_version(version: str) -> str:
    base, _, bb = version.rpartition("-bb.")
    if int(bb) > 0:
        return f"{base}-bb.{int(bb) - 1}"
    major, minor, patch = base.split(".")[:3]
    return f"{major}.{minor}.{max(0, int(patch) - 1)}-bb.0"


def _gitlab_status(clock: Clock, pkg: _Package, bb_created: str) -> Obj:
    """Upgrade denied by Kyverno and rolled back.

    Shape of samples/flux_helmrelease_upgrade_failed_rollback_remediated.yaml: Ready=False and
    Reconciling=True (ProgressingWithRetry) while the old release keeps running.
    """
    old_version, old_app = "9.2.4-bb.1", "v18.2.4"
    failed_at = clock.ago(minutes=48)
    rollback_at = clock.ago(minutes=46)
    rollback = (
        f"Helm rollback to previous release gitlab/gitlab.v7 with chart gitlab@{old_version} "
        "succeeded"
    )
    upgrade_failed = (
        f"Helm upgrade failed for release gitlab/gitlab with chart gitlab@{pkg.version}: "
        "cannot patch "
        '"gitlab-webservice-default" with kind Deployment: admission webhook '
        '"validate.kyverno.svc-fail" denied the request: \n\nresource '
        "Deployment/gitlab/gitlab-webservice-default was blocked due to the following policies "
        "\n\ndisallow-privilege-escalation:\n  autogen-privilege-escalation: 'validation error: "
        "Privilege escalation is disallowed.\n    The fields "
        "spec.containers[*].securityContext.allowPrivilegeEscalation,\n    "
        "spec.initContainers[*].securityContext.allowPrivilegeEscalation,\n    and "
        "spec.ephemeralContainers[*].securityContext.allowPrivilegeEscalation must\n    be set to "
        "`false`. rule autogen-privilege-escalation failed at path "
        "/spec/template/spec/containers/0/securityContext/allowPrivilegeEscalation/'"
    )
    snapshot = {"release": "gitlab", "namespace_": "gitlab", "chart_name": "gitlab"}
    return {
        "conditions": [
            cond("Reconciling", "True", "ProgressingWithRetry", rollback, rollback_at, 6),
            cond("Ready", "False", "RollbackSucceeded", rollback, rollback_at, 6),
            cond("Released", "False", "UpgradeFailed", upgrade_failed, failed_at, 6),
            cond("Remediated", "True", "RollbackSucceeded", rollback, rollback_at, 6),
        ],
        "failures": 1,
        "helmChart": "bigbang/bigbang-gitlab",
        "history": [
            release_snapshot(
                **snapshot,
                chart_version=old_version,
                app_version=old_app,
                version=9,
                status="deployed",
                action="rollback",
                first_deployed=bb_created,
                last_deployed=rollback_at,
            ),
            release_snapshot(
                **snapshot,
                chart_version=pkg.version,
                app_version=pkg.app_version,
                version=8,
                status="failed",
                action="upgrade",
                first_deployed=bb_created,
                last_deployed=failed_at,
            ),
            release_snapshot(
                **snapshot,
                chart_version=old_version,
                app_version=old_app,
                version=7,
                status="superseded",
                action="upgrade",
                first_deployed=bb_created,
                last_deployed=clock.ago(days=20),
            ),
        ],
        "inventory": inventory(pkg.refs),
        "lastAttemptedConfigDigest": sha256(f"values/gitlab/{pkg.version}"),
        "lastAttemptedGeneration": 6,
        "lastAttemptedReleaseAction": "upgrade",
        "lastAttemptedRevision": pkg.version,
        "observedGeneration": 6,
        "storageNamespace": "gitlab",
        "upgradeFailures": 1,
    }


# "HelmRelease namespace name kind replicas image" (images under registry1's Iron Bank).
_PLATFORM_WORKLOADS = """
istiod istio-system istiod Deployment 2 tetrate/istio/pilot:1.27.3-tetratefips-v0
cert-manager cert-manager cert-manager Deployment 1 cert-manager/cert-manager-controller:v1.18.2
cert-manager cert-manager cert-manager-cainjector Deployment 1 cert-manager/cert-manager-cainjector:v1.18.2
cert-manager cert-manager cert-manager-webhook Deployment 1 cert-manager/cert-manager-webhook:v1.18.2
monitoring monitoring monitoring-grafana Deployment 1 opensource/grafana/grafana:12.1.1
monitoring monitoring monitoring-monitoring-kube-operator Deployment 1 opensource/prometheus-operator/prometheus-operator:v0.85.0
monitoring monitoring monitoring-monitoring-kube-state-metrics Deployment 1 opensource/kubernetes/kube-state-metrics:v2.16.0
gitlab gitlab gitlab-webservice-default Deployment 2 gitlab/gitlab/gitlab-webservice:18.2.4
gitlab gitlab gitlab-sidekiq-all-in-1-v2 Deployment 1 gitlab/gitlab/gitlab-sidekiq:18.2.4
gitlab gitlab gitlab-gitlab-shell Deployment 2 gitlab/gitlab/gitlab-shell:18.2.4
gitlab gitlab gitlab-registry Deployment 2 gitlab/gitlab/gitlab-container-registry:18.2.4
gitlab gitlab gitlab-toolbox Deployment 1 gitlab/gitlab/gitlab-toolbox:18.2.4
gitlab gitlab gitlab-gitaly StatefulSet 1 gitlab/gitlab/gitaly:18.2.4
argocd argocd argocd-server Deployment 2 big-bang/argocd:v3.5.1
argocd argocd argocd-repo-server Deployment 2 big-bang/argocd:v3.5.1
argocd argocd argocd-applicationset-controller Deployment 1 big-bang/argocd:v3.5.1
argocd argocd argocd-redis Deployment 1 opensource/redis/redis7:7.4.5
argocd argocd argocd-notifications-controller Deployment 1 big-bang/argocd:v3.5.1
argocd argocd argocd-dex-server Deployment 1 opensource/dexidp/dex:v2.43.1
argocd argocd argocd-application-controller StatefulSet 1 big-bang/argocd:v3.5.1
"""  # noqa: E501 (a table reads better unwrapped)


def _platform_workloads(clock: Clock, objects: list[Obj]) -> None:
    """Workloads of the Big Bang packages, labelled by helm-controller for their HelmRelease."""
    created, at = clock.ago(days=180), clock.ago(days=6)
    for line in _PLATFORM_WORKLOADS.strip().splitlines():
        release, ns, name, kind, replicas, image = line.split()
        labels = {
            "app.kubernetes.io/component": name.removeprefix(f"{release}-"),
            "app.kubernetes.io/instance": release,
            "app.kubernetes.io/managed-by": "Helm",
            "app.kubernetes.io/part-of": release,
            **flux_labels("HelmRelease", release, "bigbang"),
        }
        objects.append(
            workload(
                ns,
                name,
                f"{IRONBANK}/{image}",
                created,
                kind=kind,
                labels=labels,
                annotations=helm_annotations(release, ns),
                replicas=int(replicas),
                generation=3,
                at=at,
            )
        )
    objects.append(
        workload(
            "kube-system",
            "coredns",
            "rancher/hardened-coredns:v1.12.2-build20250611",
            clock.ago(days=212),
            labels={"k8s-app": "kube-dns", "app.kubernetes.io/instance": "rke2-coredns"},
            replicas=2,
        )
    )


# --- Argo CD -------------------------------------------------------------------------------------

AppResource = tuple[str, str, str, str, str]  # group, kind, namespace, name, sync status


def _resources(entries: list[AppResource], health: dict[str, str] | None = None) -> list[Obj]:
    out = []
    for group, kind, ns, name, sync in entries:
        r: Obj = {}
        if group:
            r["group"] = group
        if health is not None:
            r["health"] = {"status": health.get(name, "Healthy")}
        r["kind"] = kind
        r["name"] = name
        if ns:
            r["namespace"] = ns
        r["status"] = sync
        r["version"] = GROUP_VERSIONS[group]
        out.append(r)
    return out


def _sync_result(entries: list[AppResource], revision: str, source: Obj | None) -> Obj:
    result: Obj = {
        "resources": [
            {
                "group": group,
                "hookPhase": "Running",
                "kind": kind,
                "message": f"{kind.lower()}{'.' + group if group else ''}/{name} configured",
                "name": name,
                "namespace": ns,
                "status": "Synced",
                "syncPhase": "Sync",
                "version": GROUP_VERSIONS[group],
            }
            for group, kind, ns, name, _ in entries
        ],
        "revision": revision,
    }
    if source is not None:
        result["source"] = source
    return result


def _app_labels_from_helm() -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": "Helm",
        **flux_labels("HelmRelease", "argocd", "bigbang"),
    }


def application(
    clock: Clock,
    name: str,
    *,
    project: str,
    destination_namespace: str,
    resources: list[AppResource],
    revision: str,
    source: Obj | None = None,
    sources: list[Obj] | None = None,
    revisions: list[str] | None = None,
    source_type: str = "Kustomize",
    source_types: list[str] | None = None,
    sync_status: str = "Synced",
    health: str = "Healthy",
    persisted_health: dict[str, str] | None = None,
    automated: bool = True,
    sync_options: list[str] | None = None,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
    owner: Obj | None = None,
    generation: int = 1,
    created: str,
    synced_at: str,
    health_since: str,
    images: list[str] | None = None,
    app_of_apps: bool = False,
    operation_revision: str | None = None,
) -> Obj:
    spec: Obj = {
        "destination": {"namespace": destination_namespace, "server": IN_CLUSTER},
        "project": project,
    }
    if sources is not None:
        spec["sources"] = sources
    else:
        spec["source"] = source
    sync_policy: Obj = {}
    if automated:
        sync_policy["automated"] = {"enabled": True, "prune": True, "selfHeal": True}
    if sync_options:
        sync_policy["syncOptions"] = sync_options
    sync_policy["retry"] = {
        "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"},
        "limit": 5,
    }
    spec["syncPolicy"] = sync_policy

    op_revision = operation_revision or revision
    compared: Obj = {"destination": spec["destination"]}
    if sources is not None:
        compared["sources"] = sources
    else:
        compared["source"] = source
    sync: Obj = {"comparedTo": compared, "status": sync_status}
    if revisions is not None:
        sync["revisions"] = revisions
    else:
        sync["revision"] = revision
    history_entry: Obj = {
        "deployStartedAt": synced_at,
        "deployedAt": synced_at,
        "id": generation % 97 + 3,
        "initiatedBy": {"automated": True} if automated else {"username": "admin"},
    }
    operation: Obj = {
        "initiatedBy": {"automated": True} if automated else {"username": "admin"},
        "retry": {"limit": 5},
        "sync": {"syncStrategy": {"hook": {}}},
    }
    if revisions is not None:
        history_entry.update(revisions=revisions, sources=sources)
        operation["sync"]["revisions"] = revisions
        sync_result = _sync_result(resources, revisions[0], None)
        sync_result["revisions"] = revisions
        sync_result["sources"] = sources
    else:
        history_entry.update(revision=op_revision, source=source)
        operation["sync"]["revision"] = op_revision
        sync_result = _sync_result(resources, op_revision, source)
    status: Obj = {
        "controllerNamespace": ARGOCD_NAMESPACE,
        "health": {"lastTransitionTime": health_since, "status": health},
        "history": [history_entry],
        "operationState": {
            "finishedAt": synced_at,
            "message": "successfully synced (all tasks run)",
            "operation": operation,
            "phase": "Succeeded",
            "startedAt": synced_at,
            "syncResult": sync_result,
        },
        "reconciledAt": clock.ago(minutes=1),
        "resources": _resources(resources, persisted_health),
        "sourceHydrator": {},
        "summary": {},
        "sync": sync,
    }
    if persisted_health is None:
        # Argo CD >= 3.0 keeps per-resource health out of the CR.
        status["resourceHealthSource"] = "appTree"
    if source_types is not None:
        status["sourceTypes"] = source_types
    else:
        status["sourceType"] = source_type
    if images:
        status["summary"]["images"] = images
    if app_of_apps:
        status["summary"]["isAppOfApps"] = True
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": meta(
            "Application",
            name,
            ARGOCD_NAMESPACE,
            created,
            labels=labels,
            annotations=annotations,
            generation=generation,
            finalizers=["resources-finalizer.argocd.argoproj.io"],
            owner=owner,
        ),
        "spec": spec,
        "status": status,
    }


def _argocd(clock: Clock, objects: list[Obj]) -> None:
    created = clock.ago(days=120)
    helm_rendered = {
        "labels": _app_labels_from_helm(),
        "annotations": helm_annotations("argocd", "argocd"),
    }

    objects.append(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": meta("AppProject", "default", ARGOCD_NAMESPACE, created, generation=1),
            "spec": {
                "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
                "destinations": [{"namespace": "*", "server": "*"}],
                "sourceRepos": ["*"],
            },
            "status": {},
        }
    )
    objects.append(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": meta(
                "AppProject",
                "applications",
                ARGOCD_NAMESPACE,
                created,
                generation=4,
                finalizers=["resources-finalizer.argocd.argoproj.io"],
                **helm_rendered,
            ),
            "spec": {
                # The ClusterRole and istio-system entries are the loopholes the dashboard flags.
                "clusterResourceWhitelist": [
                    {"group": "rbac.authorization.k8s.io", "kind": "ClusterRole"}
                ],
                "description": "Mission applications deployed on top of Big Bang",
                "destinations": [
                    *({"namespace": ns, "server": IN_CLUSTER} for ns in ARGO_APP_NAMESPACES),
                    {"namespace": "istio-system", "server": IN_CLUSTER},
                    {"namespace": "monitoring", "server": IN_CLUSTER},
                ],
                "sourceRepos": [
                    "https://code.example.mil/apps/*",
                    "https://charts.example.mil/*",
                    "https://github.com/stefanprodan/podinfo.git",
                ],
            },
            "status": {},
        }
    )

    # Root app-of-apps: rendered by the Flux HelmRelease bigbang/argocd, manages the team apps.
    root_revision = sha1("argocd-apps/main")
    children = ["portfolio", "data-platform", "ai-services"]
    root_source = {
        "path": "apps/production",
        "repoURL": "https://code.example.mil/platform/argocd-apps.git",
        "targetRevision": "main",
    }
    objects.append(
        application(
            clock,
            "platform-apps",
            project="default",
            destination_namespace=ARGOCD_NAMESPACE,
            source=root_source,
            revision=root_revision,
            resources=[
                ("argoproj.io", "Application", ARGOCD_NAMESPACE, c, "Synced") for c in children
            ],
            generation=412,
            created=created,
            synced_at=clock.ago(hours=3),
            health_since=clock.ago(days=30),
            app_of_apps=True,
            source_type="Directory",
            **helm_rendered,
        )
    )

    def child_annotations(app: str) -> dict[str, str]:
        return {
            "argocd.argoproj.io/tracking-id": tracking_id(
                "platform-apps", "argoproj.io", "Application", ARGOCD_NAMESPACE, app
            )
        }

    # portfolio: healthy, but reaches into Flux's namespaces (violations 1 and 2).
    portfolio_rev = sha1("apps/portfolio/main")
    portfolio_resources: list[AppResource] = [
        ("", "ConfigMap", "portfolio", "portfolio-config", "Synced"),
        ("", "Service", "portfolio", "portfolio-api", "Synced"),
        ("", "Service", "portfolio", "portfolio-web", "Synced"),
        ("apps", "Deployment", "portfolio", "portfolio-api", "Synced"),
        ("apps", "Deployment", "portfolio", "portfolio-web", "Synced"),
        ("autoscaling", "HorizontalPodAutoscaler", "portfolio", "portfolio-api", "Synced"),
        ("networking.istio.io", "VirtualService", "istio-system", "portfolio", "Synced"),
        ("", "ConfigMap", "monitoring", "grafana-dashboard-portfolio", "Synced"),
    ]
    objects.append(
        application(
            clock,
            "portfolio",
            project="applications",
            destination_namespace="portfolio",
            source={
                "path": "deploy/overlays/production",
                "repoURL": "https://code.example.mil/apps/portfolio.git",
                "targetRevision": "main",
            },
            revision=portfolio_rev,
            resources=portfolio_resources,
            labels={"team": "portfolio"},
            annotations=child_annotations("portfolio"),
            generation=1873,
            created=clock.ago(days=95),
            synced_at=clock.ago(hours=5),
            health_since=clock.ago(hours=5),
            images=[
                "registry.example.mil/portfolio/api:2.14.0",
                "registry.example.mil/portfolio/web:2.14.0",
            ],
        )
    )

    # data-platform: OutOfSync (manual sync), owns a ClusterRole (violation 3).
    dp_synced = sha1("apps/data-platform/main~2")
    dp_head = sha1("apps/data-platform/main")
    dp_resources: list[AppResource] = [
        ("", "ConfigMap", "data-platform", "pipeline-config", "OutOfSync"),
        ("", "Service", "data-platform", "airflow-webserver", "Synced"),
        ("", "ServiceAccount", "data-platform", "spark", "Synced"),
        ("apps", "Deployment", "data-platform", "airflow-scheduler", "Synced"),
        ("apps", "Deployment", "data-platform", "ingest-worker", "OutOfSync"),
        ("batch", "CronJob", "data-platform", "nightly-compaction", "Synced"),
        ("rbac.authorization.k8s.io", "ClusterRole", "", "data-platform-spark", "Synced"),
        # Its argocd-server answers carry it masked; Tidewatch drops it (docs/argocd-server.md).
        ("", "Secret", "data-platform", "pipeline-credentials", "Synced"),
    ]
    dp = application(
        clock,
        "data-platform",
        project="applications",
        destination_namespace="data-platform",
        source={
            "path": "k8s/production",
            "repoURL": "https://code.example.mil/apps/data-platform.git",
            "targetRevision": "main",
        },
        revision=dp_head,
        operation_revision=dp_synced,
        resources=dp_resources,
        sync_status="OutOfSync",
        automated=False,
        labels={"team": "data-platform"},
        annotations=child_annotations("data-platform"),
        generation=2291,
        created=clock.ago(days=88),
        synced_at=clock.ago(days=2),
        health_since=clock.ago(days=2),
        images=["registry.example.mil/data/ingest-worker:0.31.2", "apache/airflow:3.0.4"],
    )
    dp["status"]["conditions"] = [
        {
            "lastTransitionTime": clock.ago(hours=20),
            "message": "Application has 1 orphaned resources",
            "type": "OrphanedResourceWarning",
        }
    ]
    objects.append(dp)

    # ai-services: multi-source (chart + values from Git), persisted health, rollout in flight.
    chart_version = "2.3.0"
    values_rev = sha1("apps/ai-services-config/main")
    ai_sources = [
        {
            "chart": "inference-gateway",
            "helm": {
                "releaseName": "inference-gateway",
                "valueFiles": ["$values/ai-services/production/values.yaml"],
            },
            "repoURL": "https://charts.example.mil/ai",
            "targetRevision": chart_version,
        },
        {
            "ref": "values",
            "repoURL": "https://code.example.mil/apps/ai-services-config.git",
            "targetRevision": "main",
        },
    ]
    ai_resources: list[AppResource] = [
        ("", "Service", "ai-services", "embedding-service", "Synced"),
        ("", "Service", "ai-services", "inference-gateway", "Synced"),
        ("apps", "Deployment", "ai-services", "embedding-service", "Synced"),
        ("apps", "Deployment", "ai-services", "inference-gateway", "Synced"),
        ("policy", "PodDisruptionBudget", "ai-services", "inference-gateway", "Synced"),
    ]
    objects.append(
        application(
            clock,
            "ai-services",
            project="applications",
            destination_namespace="ai-services",
            sources=ai_sources,
            revision=chart_version,
            revisions=[chart_version, values_rev],
            source_types=["Helm", "Directory"],
            resources=ai_resources,
            health="Progressing",
            persisted_health={"inference-gateway": "Progressing"},
            labels={"team": "ai-services"},
            annotations=child_annotations("ai-services"),
            generation=904,
            created=clock.ago(days=41),
            synced_at=clock.ago(minutes=6),
            health_since=clock.ago(minutes=6),
            images=[
                "registry.example.mil/ai/inference-gateway:2.3.0",
                "registry.example.mil/ai/embeddings:1.8.1",
            ],
        )
    )
    # The persisted layout carries a message on the resource that is still rolling out.
    for entry in objects[-1]["status"]["resources"]:
        if entry["kind"] == "Deployment" and entry["name"] == "inference-gateway":
            entry["health"]["message"] = (
                "Waiting for rollout to finish: 1 of 2 updated replicas are available..."
            )

    # sandbox-experiments: created by hand, into an undeclared namespace (violation 6).
    objects.append(
        application(
            clock,
            "sandbox-experiments",
            project="default",
            destination_namespace="sandbox",
            source={
                "path": "deploy",
                "repoURL": "https://code.example.mil/research/llm-playground.git",
                "targetRevision": "HEAD",
            },
            revision=sha1("research/llm-playground/HEAD"),
            resources=[
                ("", "Service", "sandbox", "llm-playground", "Synced"),
                ("apps", "Deployment", "sandbox", "llm-playground", "Synced"),
            ],
            sync_options=["CreateNamespace=true"],
            source_type="Directory",
            generation=57,
            created=clock.ago(days=9),
            synced_at=clock.ago(days=1),
            health_since=clock.ago(days=1),
            images=["registry.example.mil/research/llm-playground:latest"],
        )
    )

    # ApplicationSet demo-apps (rendered by Flux) and the Applications it generates.
    appset_uid = uid("ApplicationSet", ARGOCD_NAMESPACE, "demo-apps")
    appset_meta = meta(
        "ApplicationSet",
        "demo-apps",
        ARGOCD_NAMESPACE,
        clock.ago(days=60),
        generation=2,
        finalizers=["resources-finalizer.argocd.argoproj.io"],
        **helm_rendered,
    )
    envs = ["dev", "staging"]
    podinfo_rev = "6.9.2"
    template_source = {
        "kustomize": {"nameSuffix": "-{{.env}}"},
        "path": "kustomize",
        "repoURL": "https://github.com/stefanprodan/podinfo.git",
        "targetRevision": podinfo_rev,
    }
    appset_at = clock.ago(days=3)
    objects.append(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": appset_meta,
            "spec": {
                "generators": [{"list": {"elements": [{"env": e} for e in envs]}}],
                "goTemplate": True,
                "goTemplateOptions": ["missingkey=error"],
                "template": {
                    "metadata": {"labels": {"team": "demo"}, "name": "demo-apps-{{.env}}"},
                    "spec": {
                        "destination": {"namespace": "demo-apps", "server": IN_CLUSTER},
                        "project": "applications",
                        "source": template_source,
                        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
                    },
                },
            },
            "status": {
                "conditions": [
                    {
                        "lastTransitionTime": appset_at,
                        "message": "Successfully generated parameters for all Applications",
                        "reason": "ApplicationSetUpToDate",
                        "status": "False",
                        "type": "ErrorOccurred",
                    },
                    {
                        "lastTransitionTime": appset_at,
                        "message": "Successfully generated parameters for all Applications",
                        "reason": "ParametersGenerated",
                        "status": "True",
                        "type": "ParametersGenerated",
                    },
                    {
                        "lastTransitionTime": appset_at,
                        "message": "ApplicationSet up to date",
                        "reason": "ApplicationSetUpToDate",
                        "status": "True",
                        "type": "ResourcesUpToDate",
                    },
                ],
                "health": {"status": "Healthy"},
                "resources": [
                    {
                        "group": "argoproj.io",
                        "health": {"status": "Healthy"},
                        "kind": "Application",
                        "name": f"demo-apps-{e}",
                        "namespace": ARGOCD_NAMESPACE,
                        "status": "Synced",
                        "version": "v1alpha1",
                    }
                    for e in envs
                ],
                "resourcesCount": len(envs),
            },
        }
    )
    for env in envs:
        source = {**template_source, "kustomize": {"nameSuffix": f"-{env}"}}
        objects.append(
            application(
                clock,
                f"demo-apps-{env}",
                project="applications",
                destination_namespace="demo-apps",
                source=source,
                revision=sha1(f"podinfo/{podinfo_rev}"),
                resources=[
                    ("", "Service", "demo-apps", f"podinfo-{env}", "Synced"),
                    ("apps", "Deployment", "demo-apps", f"podinfo-{env}", "Synced"),
                    (
                        "autoscaling",
                        "HorizontalPodAutoscaler",
                        "demo-apps",
                        f"podinfo-{env}",
                        "Synced",
                    ),
                ],
                labels={"team": "demo"},
                owner={
                    "apiVersion": "argoproj.io/v1alpha1",
                    "blockOwnerDeletion": True,
                    "controller": True,
                    "kind": "ApplicationSet",
                    "name": "demo-apps",
                    "uid": appset_uid,
                },
                generation=233 if env == "dev" else 198,
                created=appset_at,
                synced_at=clock.ago(days=3),
                health_since=clock.ago(days=3),
                images=[f"ghcr.io/stefanprodan/podinfo:{podinfo_rev}"],
            )
        )

    _argo_workloads(clock, objects)


# "Application namespace name replicas ready image" for workloads Argo CD synced.
_ARGO_WORKLOADS = """
portfolio portfolio portfolio-api 3 3 registry.example.mil/portfolio/api:2.14.0
portfolio portfolio portfolio-web 2 2 registry.example.mil/portfolio/web:2.14.0
data-platform data-platform airflow-scheduler 1 1 apache/airflow:3.0.4
data-platform data-platform ingest-worker 4 4 registry.example.mil/data/ingest-worker:0.31.2
ai-services ai-services inference-gateway 2 1 registry.example.mil/ai/inference-gateway:2.3.0
ai-services ai-services embedding-service 2 2 registry.example.mil/ai/embeddings:1.8.1
demo-apps-dev demo-apps podinfo-dev 1 1 ghcr.io/stefanprodan/podinfo:6.9.2
demo-apps-staging demo-apps podinfo-staging 2 2 ghcr.io/stefanprodan/podinfo:6.9.2
sandbox-experiments sandbox llm-playground 1 1 registry.example.mil/research/llm-playground:latest
"""


def _argo_workloads(clock: Clock, objects: list[Obj]) -> None:
    """Workloads synced by Argo CD, with annotation tracking (the 3.x default)."""
    for line in _ARGO_WORKLOADS.strip().splitlines():
        app, ns, name, replicas, ready, image = line.split()
        rolling = int(ready) < int(replicas)
        objects.append(
            workload(
                ns,
                name,
                image,
                clock.ago(days=30),
                labels={"app.kubernetes.io/part-of": app},
                annotations={
                    "argocd.argoproj.io/tracking-id": tracking_id(
                        app, "apps", "Deployment", ns, name
                    )
                },
                replicas=int(replicas),
                ready=int(ready),
                updated=int(ready),
                generation=7 if rolling else 5,
                progressing=f'ReplicaSet "{name}-7c9f8d6b54" is progressing.' if rolling else None,
                at=clock.ago(minutes=6) if rolling else clock.ago(days=2),
            )
        )


# --- live objects both tools touch ----------------------------------------------------------------


def fields_v1(sections: dict[str, tuple[str, ...]], *, update: bool) -> Obj:
    """A FieldsV1 set: ``{"metadata.labels": ("team",)}`` -> ``{"f:metadata": {"f:labels": ...}}``.

    Update entries own the maps they created (``.``); Apply entries list only what the applier
    sent. An empty key tuple owns the field whole (an atomic list such as ``rules``).
    """
    out: Obj = {}
    for path, keys in sections.items():
        node = out
        for part in path.split("."):
            node = node.setdefault(f"f:{part}", {})
        if update and keys:
            node["."] = {}
        for key in sorted(keys):
            node[f"f:{key}"] = {}
    return out


def field_write(manager: str, operation: str, api_version: str, at: str, fields: Obj) -> Obj:
    # Keys in ManagedFieldsEntry struct order, as the API server writes them.
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": at,
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
    }


def _last_applied(manifest: Obj) -> str:
    # kubectl (which Argo CD's client-side apply uses) stores compact JSON with sorted keys.
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")) + "\n"


def _contested_objects(clock: Clock) -> list[Obj]:
    """The live objects behind violations 2 and 3, with the managedFields that show who wrote.

    ConfigMap ``monitoring/grafana-dashboard-portfolio``: rendered by the Big Bang ``monitoring``
    release (helm-controller, an Update, at its last upgrade six days ago) and server-side applied
    by Argo CD for ``portfolio`` at its sync five hours ago. Argo CD sent the same dashboard, so
    both managers own ``data.portfolio.json``; Argo CD wrote last, and whichever side changes it
    next gets reverted by the other. ClusterRole ``data-platform-spark``: Argo CD's client-side
    apply (an Update, with kubectl's last-applied annotation) at data-platform's last sync.
    """
    dashboard_name = "grafana-dashboard-portfolio"
    helm_at, argo_at = clock.ago(days=6), clock.ago(hours=5)
    helm_labels = {
        "app": "kube-prometheus-stack-grafana",
        "app.kubernetes.io/instance": "monitoring",
        "app.kubernetes.io/managed-by": "Helm",
        "app.kubernetes.io/part-of": "kube-prometheus-stack",
        "grafana_dashboard": "1",  # picked up by Grafana's dashboard sidecar
        **flux_labels("HelmRelease", "monitoring", "bigbang"),
    }
    argo_labels = {"grafana_dashboard": "1", "team": "portfolio"}
    argo_annotations = {
        "argocd.argoproj.io/sync-options": "ServerSideApply=true",
        "argocd.argoproj.io/tracking-id": tracking_id(
            "portfolio", "", "ConfigMap", "monitoring", dashboard_name
        ),
    }
    requests = (
        'sum by (destination_workload) (rate(istio_requests_total{destination_workload_namespace="'
        'portfolio"}[5m]))'
    )
    dashboard = {
        "panels": [
            {
                "datasource": {"type": "prometheus", "uid": "prometheus"},
                "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
                "id": 1,
                "targets": [{"expr": requests, "refId": "A"}],
                "title": "Requests per second",
                "type": "timeseries",
            }
        ],
        "schemaVersion": 41,
        "tags": ["portfolio"],
        "title": "Portfolio",
        "uid": "portfolio-overview",
        "version": 7,
    }
    configmap: Obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(
            "ConfigMap",
            dashboard_name,
            "monitoring",
            clock.ago(days=27),  # added to the monitoring values at the release's previous upgrade
            labels={**helm_labels, **argo_labels},
            annotations={**helm_annotations("monitoring", "monitoring"), **argo_annotations},
        ),
        "data": {"portfolio.json": json.dumps(dashboard, indent=2, sort_keys=True)},
    }
    configmap["metadata"]["managedFields"] = [
        field_write(
            "helm-controller",
            "Update",
            "v1",
            helm_at,
            fields_v1(
                {
                    "data": ("portfolio.json",),
                    "metadata.annotations": tuple(helm_annotations("monitoring", "monitoring")),
                    "metadata.labels": tuple(helm_labels),
                },
                update=True,
            ),
        ),
        field_write(
            "argocd-controller",
            "Apply",
            "v1",
            argo_at,
            fields_v1(
                {
                    "data": ("portfolio.json",),
                    "metadata.annotations": tuple(argo_annotations),
                    "metadata.labels": tuple(argo_labels),
                },
                update=False,
            ),
        ),
    ]

    role_name = "data-platform-spark"
    role_labels = {"app.kubernetes.io/name": "spark", "app.kubernetes.io/part-of": "data-platform"}
    tracking = {
        "argocd.argoproj.io/tracking-id": tracking_id(
            "data-platform", CLUSTER_ROLE[0], CLUSTER_ROLE[1], "", role_name
        )
    }
    # PolicyRule keys in struct order, as the API server writes them.
    rules = [
        {
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            "apiGroups": ["sparkoperator.k8s.io"],
            "resources": ["sparkapplications", "scheduledsparkapplications"],
        },
        {
            "verbs": ["get"],
            "apiGroups": ["sparkoperator.k8s.io"],
            "resources": ["sparkapplications/status", "scheduledsparkapplications/status"],
        },
        {
            # A ClusterRole because the Spark driver starts executors in any namespace it is
            # given: the reach the ownership rules flag.
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "watch"],
            "apiGroups": [""],
            "resources": ["configmaps", "persistentvolumeclaims", "pods", "services"],
        },
    ]
    applied = {
        "apiVersion": f"{CLUSTER_ROLE[0]}/v1",
        "kind": CLUSTER_ROLE[1],
        "metadata": {"annotations": tracking, "labels": role_labels, "name": role_name},
        "rules": rules,
    }
    last_applied = {"kubectl.kubernetes.io/last-applied-configuration": _last_applied(applied)}
    role: Obj = {
        "apiVersion": applied["apiVersion"],
        "kind": CLUSTER_ROLE[1],
        "metadata": meta(
            CLUSTER_ROLE[1],
            role_name,
            None,
            clock.ago(days=88),  # with the data-platform Application
            labels=role_labels,
            annotations={**last_applied, **tracking},
        ),
        "rules": rules,
    }
    role["metadata"]["managedFields"] = [
        field_write(
            "argocd-controller",
            "Update",
            applied["apiVersion"],
            clock.ago(days=2),
            fields_v1(
                {
                    "metadata.annotations": (*last_applied, *tracking),
                    "metadata.labels": tuple(role_labels),
                    "rules": (),
                },
                update=True,
            ),
        )
    ]
    return [configmap, role]


def _namespaces(clock: Clock) -> list[Obj]:
    out = [
        namespace(
            "flux-system",
            clock.ago(days=212),
            {
                "app.kubernetes.io/instance": "flux-system",
                "app.kubernetes.io/part-of": "flux",
                "app.kubernetes.io/version": FLUX_VERSION,
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/warn-version": "latest",
                **flux_labels("Kustomization", "flux-system", "flux-system"),
            },
        ),
        namespace(
            "bigbang",
            clock.ago(days=180),
            {"owner": "bigbang", **flux_labels("Kustomization", "environment", "bigbang")},
        ),
    ]
    for name, pkg, istio in [
        ("istio-system", "istiod", False),
        ("cert-manager", "cert-manager", True),
        ("monitoring", "monitoring", True),
        ("gitlab", "gitlab", True),
        ("argocd", "argocd", True),
    ]:
        labels = bigbang_labels(pkg)
        if istio:
            labels["istio-injection"] = "enabled"
        out.append(
            namespace(
                name,
                clock.ago(days=180),
                labels,
                annotations=helm_annotations("bigbang", "bigbang"),
            )
        )
    for name in ARGO_APP_NAMESPACES:
        out.append(
            namespace(
                name,
                clock.ago(days=150),
                {
                    "istio-injection": "enabled",
                    "team": name,
                    **flux_labels("Kustomization", "tenants", "flux-system"),
                },
            )
        )
    out.append(namespace("kube-system", clock.ago(days=212)))
    out.append(namespace("default", clock.ago(days=212)))
    # Created by Argo CD's CreateNamespace=true for sandbox-experiments: nobody declared it.
    out.append(namespace("sandbox", clock.ago(days=9)))
    return out


def _events(clock: Clock, objects: list[Obj]) -> list[Obj]:
    def find(kind: str, ns: str, name: str) -> Obj:
        for obj in objects:
            m = obj["metadata"]
            if obj["kind"] == kind and m.get("namespace") == ns and m["name"] == name:
                return obj
        raise LookupError(f"{kind} {ns}/{name}")

    gitlab = find("HelmRelease", "bigbang", "gitlab")
    istiod = find("HelmRelease", "bigbang", ISTIOD_DRIFT[0])
    drifted = next(c for c in istiod["status"]["conditions"] if c["type"] == "Drifted")
    failed = next(c for c in gitlab["status"]["conditions"] if c["type"] == "Released")["message"]
    rollback = next(c for c in gitlab["status"]["conditions"] if c["type"] == "Remediated")[
        "message"
    ]
    revision = {"helm.toolkit.fluxcd.io/revision": "9.3.2-bb.0"}
    fleet = find("GitRepository", "flux-system", "flux-system")
    fleet_rev = fleet["status"]["artifact"]["revision"]
    return [
        # Eventf without annotations, once per interval while the drift lasts (aggregated).
        event(
            clock,
            istiod,
            reason="DriftDetected",
            message=drifted["message"],
            type_="Warning",
            component="helm-controller",
            count=DRIFT_MINUTES // 2,
            first=clock.ago(minutes=DRIFT_MINUTES),
            last=clock.ago(minutes=1),
        ),
        event(
            clock,
            gitlab,
            reason="UpgradeFailed",
            message=failed,
            type_="Warning",
            component="helm-controller",
            count=1,
            first=clock.ago(minutes=48),
            last=clock.ago(minutes=48),
            annotations=revision,
        ),
        event(
            clock,
            gitlab,
            reason="RollbackSucceeded",
            message=rollback,
            type_="Normal",
            component="helm-controller",
            count=1,
            first=clock.ago(minutes=46),
            last=clock.ago(minutes=46),
            annotations=revision,
        ),
        event(
            clock,
            find("Kustomization", "flux-system", "platform-certificates"),
            reason="DependencyNotReady",
            message="Dependencies do not meet ready condition, retrying in 30s",
            type_="Normal",
            component="kustomize-controller",
            count=17,
            first=clock.ago(minutes=11),
            last=clock.ago(seconds=25),
        ),
        event(
            clock,
            find("Kustomization", "flux-system", "cert-manager-issuers"),
            reason="Progressing",
            message="ClusterIssuer/letsencrypt-dod configured\nClusterIssuer/platform-ca unchanged",
            type_="Normal",
            component="kustomize-controller",
            count=1,
            first=clock.ago(minutes=2),
            last=clock.ago(minutes=2),
            annotations={"kustomize.toolkit.fluxcd.io/revision": fleet_rev},
        ),
        event(
            clock,
            fleet,
            reason="NewArtifact",
            message="stored artifact for commit 'Rotate ACME account for letsencrypt-dod issuer'",
            type_="Normal",
            component="source-controller",
            count=1,
            first=clock.ago(minutes=4),
            last=clock.ago(minutes=4),
            annotations={"source.toolkit.fluxcd.io/revision": fleet_rev},
        ),
        event(
            clock,
            find("Application", ARGOCD_NAMESPACE, "data-platform"),
            reason="ResourceUpdated",
            message="Updated sync status: Synced -> OutOfSync",
            type_="Normal",
            component="argocd-application-controller",
            count=1,
            first=clock.ago(hours=20),
            last=clock.ago(hours=20),
        ),
        event(
            clock,
            find("Application", ARGOCD_NAMESPACE, "ai-services"),
            reason="OperationCompleted",
            message="Sync operation to 2.3.0 succeeded",
            type_="Normal",
            component="argocd-application-controller",
            count=1,
            first=clock.ago(minutes=6),
            last=clock.ago(minutes=6),
        ),
        event(
            clock,
            find("Application", ARGOCD_NAMESPACE, "ai-services"),
            reason="ResourceUpdated",
            message="Updated health status: Healthy -> Progressing",
            type_="Normal",
            component="argocd-application-controller",
            count=1,
            first=clock.ago(minutes=6),
            last=clock.ago(minutes=6),
        ),
    ]


def build_platform(now: datetime | None = None) -> list[dict[str, Any]]:
    """Every object of the platform, namespaces first (the order a cluster would create them)."""
    clock = Clock(now or datetime.now(UTC))
    objects: list[Obj] = _namespaces(clock)
    _flux_system(clock, objects)
    _bigbang(clock, objects)
    _platform_workloads(clock, objects)
    _argocd(clock, objects)
    objects.extend(_controller_pods(clock, objects))
    objects.extend(_contested_objects(clock))
    objects.extend(_monitors())
    objects.extend(_events(clock, objects))
    return with_all_managed_fields(objects)


def _controller_pods(clock: Clock, objects: list[Obj]) -> list[Obj]:
    """The Pods of Flux's and Argo CD's workloads (what restarts and metrics are read from)."""
    return [
        pod
        for obj in objects
        if obj.get("kind") in ("Deployment", "StatefulSet")
        and obj["metadata"].get("namespace") in ("flux-system", "argocd")
        for pod in pods_for(obj, clock.now)
    ]


def _monitors() -> list[Obj]:
    """Flux's controllers are scraped (the PodMonitor Flux documents); Argo CD's are not: a
    realistic gap the ADR scorecard should catch."""
    return [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PodMonitor",
            "metadata": {
                "name": "flux-system",
                "namespace": "flux-system",
                "uid": uid("PodMonitor", "flux-system", "flux-system"),
                "labels": {
                    "app.kubernetes.io/part-of": "flux",
                    "kustomize.toolkit.fluxcd.io/name": "flux-system",
                    "kustomize.toolkit.fluxcd.io/namespace": "flux-system",
                },
            },
            "spec": {
                "namespaceSelector": {"matchNames": ["flux-system"]},
                "selector": {"matchLabels": {"app.kubernetes.io/part-of": "flux"}},
                "podMetricsEndpoints": [{"port": "http-prom", "relabelings": []}],
            },
        }
    ]
