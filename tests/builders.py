"""Small builders of Kubernetes objects for tests that need more objects than the demo has."""

from __future__ import annotations

# The namespaces issue 2 says the demo overview must list (ADR-003's platform and apps).
ADR_NAMESPACES = frozenset(
    {
        "flux-system",
        "bigbang",
        "istio-system",
        "monitoring",
        "gitlab",
        "cert-manager",
        "argocd",
        "portfolio",
        "data-platform",
        "ai-services",
        "demo-apps",
    }
)


def extra_application(index: int) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": f"extra-{index}", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://git.example/apps.git", "path": f"apps/{index}"},
            "destination": {
                "server": "https://kubernetes.default.svc",
                "namespace": f"team-{index % 10}",
            },
        },
        "status": {"sync": {"status": "Synced"}, "health": {"status": "Healthy"}},
    }


# -- argocd-server detail rows (clusters.models.ArgoAppDetail; shapes in its docstring) ----------


def argo_resource(
    group: str,
    kind: str,
    namespace: str,
    name: str,
    *,
    sync: str = "Synced",
    health: tuple[str, str] | None = ("Healthy", ""),
    diff: list[tuple[str, str, str, str]] | None = None,
    diff_truncated: bool = False,
) -> dict:
    """One entry of ``ArgoAppDetail.resources``; ``diff``: (path, change, live, target)."""
    version = "v1"
    return {
        "group": group,
        "version": version,
        "kind": kind,
        "namespace": namespace,
        "name": name,
        "sync": sync,
        "health": {"status": health[0], "message": health[1]} if health else None,
        "diff": (
            [{"path": p, "change": c, "live": lv, "target": t} for p, c, lv, t in diff]
            if diff is not None
            else None
        ),
        "diffTruncated": diff_truncated,
    }


def argo_node(
    uid: str,
    group: str,
    kind: str,
    namespace: str,
    name: str,
    *,
    parents: tuple[str, ...] = (),
    health: tuple[str, str] | None = None,
    info: dict[str, str] | None = None,
    images: tuple[str, ...] = (),
) -> dict:
    """One node of ``ArgoAppDetail.tree``."""
    return {
        "uid": uid,
        "group": group,
        "version": "v1",
        "kind": kind,
        "namespace": namespace,
        "name": name,
        "parents": list(parents),
        "health": {"status": health[0], "message": health[1]} if health else None,
        "info": [{"name": k, "value": v} for k, v in (info or {}).items()],
        "images": list(images),
    }


def argo_detail(obj, resources: list[dict], tree: list[dict] = (), **fields):
    """The ArgoAppDetail row of the stored Application ``obj``, read a minute ago unless
    ``fields`` say otherwise (``error``, ``fetched_at`` ...)."""
    from datetime import timedelta

    from django.utils import timezone

    from clusters.models import ArgoAppDetail

    now = timezone.now()
    values = {
        "cluster": obj.cluster,
        "app_resource_version": obj.resource_version,
        "fetched_at": now - timedelta(minutes=1),
        "attempted_at": now - timedelta(minutes=1),
        "resources": resources,
        "tree": list(tree),
    } | fields
    return ArgoAppDetail.objects.update_or_create(obj=obj, defaults=values)[0]


# --- controller workloads as stored rows (the Controllers view) --------------------------------

FLUX_IMAGE = "ghcr.io/fluxcd/{name}:v1.6.0"
ARGOCD_IMAGE = "quay.io/argoproj/argocd:v3.1.8"


def stored_cluster(name: str, **fields):
    """A Cluster row whose Deployments and StatefulSets were listed (no poll)."""
    from django.utils import timezone

    from clusters.models import Cluster, KindState

    cluster = Cluster.objects.create(name=name, last_success_at=timezone.now(), **fields)
    for kind in ("Deployment", "StatefulSet"):
        KindState.objects.create(
            cluster=cluster,
            tool="core",
            group="apps",
            kind=kind,
            last_attempt_at=timezone.now(),
            last_success_at=timezone.now(),
        )
    return cluster


def controller_row(
    cluster,
    namespace: str,
    name: str,
    *,
    kind: str = "Deployment",
    labels: dict | None = None,
    images: list | None = None,
    ready: int = 1,
    desired: int = 1,
    restarts: int = 0,
    usage: dict | None = None,
    usage_reason: str = "",
):
    from clusters.models import Workload

    return Workload.objects.create(
        cluster=cluster,
        kind=kind,
        namespace=namespace,
        name=name,
        resource_version="1",
        labels=labels or {},
        images=images or [],
        ready=ready,
        desired=desired,
        pods=desired,
        restarts=restarts,
        usage=usage,
        usage_reason=usage_reason,
    )


FLUX_REQUIRED = (
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
)
ARGOCD_REQUIRED = (
    ("server", "Deployment"),
    ("repo-server", "Deployment"),
    ("application-controller", "StatefulSet"),
)


def flux_install(cluster, version: str = "v2.7.3", **overrides) -> None:
    """Flux's four required controllers as ``flux install`` labels them; ``overrides`` by
    controller name: fields for controller_row."""
    for name in FLUX_REQUIRED:
        fields = {
            "labels": {
                "app.kubernetes.io/component": name,
                "app.kubernetes.io/instance": "flux-system",
                "app.kubernetes.io/part-of": "flux",
                "app.kubernetes.io/version": version,
            },
            "images": [FLUX_IMAGE.format(name=name)],
            **overrides.get(name, {}),
        }
        controller_row(cluster, "flux-system", name, **fields)


def argocd_install(cluster, image: str = ARGOCD_IMAGE, **overrides) -> None:
    """Argo CD's three required components as its manifests label them (no version label)."""
    for component, kind in ARGOCD_REQUIRED:
        name = f"argocd-{component}"
        fields = {
            "kind": kind,
            "labels": {
                "app.kubernetes.io/component": component,
                "app.kubernetes.io/name": name,
                "app.kubernetes.io/part-of": "argocd",
            },
            "images": [image],
            **overrides.get(name, {}),
        }
        controller_row(cluster, "argocd", name, **fields)
