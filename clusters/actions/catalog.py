"""Which actions each kind has, and whether one can run on an object right now (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from clusters.actions.patches import is_suspended, running_operation


@dataclass(frozen=True)
class KindInfo:
    tool: str
    group: str
    version: str  # used when the object is not stored with one
    plural: str


FLUX_KINDS: dict[str, KindInfo] = {
    kind: KindInfo("flux", group, version, plural)
    for kind, group, version, plural in (
        ("Kustomization", "kustomize.toolkit.fluxcd.io", "v1", "kustomizations"),
        ("HelmRelease", "helm.toolkit.fluxcd.io", "v2", "helmreleases"),
        ("GitRepository", "source.toolkit.fluxcd.io", "v1", "gitrepositories"),
        ("OCIRepository", "source.toolkit.fluxcd.io", "v1", "ocirepositories"),
        ("HelmRepository", "source.toolkit.fluxcd.io", "v1", "helmrepositories"),
        ("HelmChart", "source.toolkit.fluxcd.io", "v1", "helmcharts"),
        ("Bucket", "source.toolkit.fluxcd.io", "v1", "buckets"),
        ("Receiver", "notification.toolkit.fluxcd.io", "v1", "receivers"),
        ("ImageRepository", "image.toolkit.fluxcd.io", "v1", "imagerepositories"),
        ("ImagePolicy", "image.toolkit.fluxcd.io", "v1", "imagepolicies"),
        ("ImageUpdateAutomation", "image.toolkit.fluxcd.io", "v1", "imageupdateautomations"),
    )
}
ARGO_KINDS: dict[str, KindInfo] = {
    "Application": KindInfo("argocd", "argoproj.io", "v1alpha1", "applications")
}
KINDS: dict[str, KindInfo] = {**FLUX_KINDS, **ARGO_KINDS}

# flux reconcile --with-source exists for these: the kinds that name a source.
WITH_SOURCE = frozenset({"Kustomization", "HelmRelease", "HelmChart"})


@dataclass(frozen=True)
class Action:
    name: str
    label: str
    description: str
    params: tuple[str, ...] = ()


FLUX_ACTIONS = {
    a.name: a
    for a in (
        Action("reconcile", "Reconcile", "Ask the controller to reconcile now (flux reconcile)."),
        Action(
            "reconcile-with-source",
            "Reconcile with source",
            "Reconcile the source first, then the object (flux reconcile --with-source).",
        ),
        Action("suspend", "Suspend", "Stop reconciling: spec.suspend = true (flux suspend)."),
        Action("resume", "Resume", "Reconcile again: spec.suspend removed (flux resume)."),
        Action(
            "force",
            "Force",
            "One-off install or upgrade of the release (flux reconcile hr --force).",
        ),
        Action("reset", "Reset", "Reset the failure counts (flux reconcile hr --reset)."),
    )
}
ARGO_ACTIONS = {
    a.name: a
    for a in (
        Action("refresh", "Refresh", "Compare with git again (argocd app get --refresh)."),
        Action(
            "hard-refresh",
            "Hard refresh",
            "Regenerate the manifests, then compare (argocd app get --hard-refresh).",
        ),
        Action(
            "sync",
            "Sync",
            "Apply the desired state (argocd app sync).",
            ("revision", "prune"),
        ),
        Action("terminate", "Terminate", "Stop the running operation (argocd app terminate-op)."),
    )
}


def actions_of(kind: str) -> list[Action]:
    """The actions ``kind`` has (none for a kind Tidewatch does not act on)."""
    if kind in ARGO_KINDS:
        return list(ARGO_ACTIONS.values())
    if kind not in FLUX_KINDS:
        return []
    names = ["reconcile", "suspend", "resume"]
    if kind in WITH_SOURCE:
        names.insert(1, "reconcile-with-source")
    if kind == "HelmRelease":
        names += ["force", "reset"]
    return [FLUX_ACTIONS[n] for n in names]


def find(kind: str, action: str) -> Action | None:
    return next((a for a in actions_of(kind) if a.name == action), None)


def why_not(kind: str, action: str, obj: dict[str, Any]) -> str:
    """Why ``action`` cannot run on ``obj`` as it is ("" when it can): the refusals the CLIs
    themselves make, checked on the stored object for the offer and on the live one before
    writing."""
    if kind in FLUX_KINDS:
        if action in ("reconcile", "reconcile-with-source", "force", "reset"):
            if is_suspended(obj):
                return (
                    "it is suspended: resume it first (flux reconcile refuses a suspended object)"
                )
            if kind == "HelmRepository" and (obj.get("spec") or {}).get("type") == "oci":
                return "an OCI HelmRepository is static: it has nothing to reconcile"
        if action == "suspend" and is_suspended(obj):
            return "it is suspended already"
        if action == "resume" and not is_suspended(obj):
            return "it is not suspended"
        return ""
    if action == "sync" and obj.get("operation"):
        return "another operation is already in progress"
    if action == "terminate" and not running_operation(obj):
        return "no operation is running"
    return ""


@dataclass(frozen=True)
class Ref:
    kind: str
    namespace: str
    name: str


def source_of(kind: str, obj: dict[str, Any]) -> Ref | None:
    """The source ``flux reconcile --with-source`` reconciles first, as the CLI finds it."""
    spec = obj.get("spec") or {}
    namespace = (obj.get("metadata") or {}).get("namespace", "")
    if kind == "Kustomization":
        ref = spec.get("sourceRef") or {}
        if not ref.get("kind") or not ref.get("name"):
            return None
        return Ref(ref["kind"], ref.get("namespace") or namespace, ref["name"])
    if kind == "HelmChart":
        ref = spec.get("sourceRef") or {}
        if not ref.get("kind") or not ref.get("name"):
            return None
        return Ref(ref["kind"], namespace, ref["name"])
    if kind == "HelmRelease":
        chart_ref = spec.get("chartRef")
        if chart_ref:
            return Ref(
                chart_ref["kind"], chart_ref.get("namespace") or namespace, chart_ref["name"]
            )
        source_ref = ((spec.get("chart") or {}).get("spec") or {}).get("sourceRef") or {}
        name = (obj.get("metadata") or {}).get("name", "")
        # helm-controller names the HelmChart it makes <namespace>-<name>.
        return Ref("HelmChart", source_ref.get("namespace") or namespace, f"{namespace}-{name}")
    return None
