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
