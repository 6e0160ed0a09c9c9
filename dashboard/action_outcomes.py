"""What the browser says about actions (pure): the outcome badge and sentence, the conflict an
action may worsen, the controller a page waits for and whether the stored object has settled."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from clusters.actions import patches
from clusters.ownership.inputs import display

# The status palette (icon, tone) for each outcome: allowed green, a refusal amber or red.
OUTCOME_STYLE = {
    "allowed": ("✓", "ok", "allowed"),
    "denied-by-tidewatch": ("⊘", "warn", "denied by Tidewatch"),
    "denied-by-kubernetes": ("⛔", "bad", "denied by Kubernetes"),
    "failed": ("✕", "bad", "failed"),
}

CONTROLLERS = {
    "Kustomization": "kustomize-controller",
    "HelmRelease": "helm-controller",
    "GitRepository": "source-controller",
    "OCIRepository": "source-controller",
    "HelmRepository": "source-controller",
    "HelmChart": "source-controller",
    "Bucket": "source-controller",
    "Receiver": "notification-controller",
    "ImageRepository": "image-reflector-controller",
    "ImagePolicy": "image-reflector-controller",
    "ImageUpdateAutomation": "image-automation-controller",
    "Application": "the Argo CD application controller",
}

# Actions that make the controller apply the object's resources again: they can worsen a
# conflict over a resource another owner applies too. Refresh only compares; suspend and
# terminate stop applying.
APPLYING = {
    "reconcile": "reconciling",
    "reconcile-with-source": "reconciling",
    "force": "force-upgrading",
    "reset": "reconciling",
    "resume": "resuming",
    "sync": "syncing",
}
UNSETTLED = frozenset({"Progressing", "Unknown"})


@dataclass(frozen=True)
class Badge:
    icon: str
    tone: str
    text: str


def outcome_badge(outcome: str) -> Badge:
    icon, tone, text = OUTCOME_STYLE.get(outcome, ("?", "warn", outcome))
    return Badge(icon, tone, text)


def result_sentence(label: str, outcome: str, message: str, status: int | None) -> str:
    """The answer to Confirm in one sentence."""
    message = message.rstrip(".")
    if outcome == "allowed":
        return f"Allowed: {message}."
    if outcome == "denied-by-tidewatch":
        return f"Denied by Tidewatch, nothing was sent: {message}."
    if outcome == "denied-by-kubernetes":
        return f"Denied by Kubernetes (HTTP {status}): {message}."
    return f"{label} failed{f' (HTTP {status})' if status else ''}: {message}."


def resource_display(resource: str) -> str:
    """ "apps/Deployment:ns/name" (clusters.ownership resource_key) as a sentence names it."""
    group_kind, _, rest = resource.partition(":")
    kind = group_kind.rpartition("/")[2]
    namespace, _, name = rest.partition("/")
    return display(kind, namespace, name)


def conflict_sentences(
    action: str, kind: str, namespace: str, name: str, violations: list[Any]
) -> list[str]:
    """For each violation naming the object: the conflict ``action`` may worsen, e.g.
    "Syncing argocd/portfolio re-applies ConfigMap monitoring/grafana-dashboard-portfolio,
    which HelmRelease bigbang/monitoring also applies (TW002)."."""
    verb = APPLYING.get(action)
    if verb is None:
        return []
    me = f"{kind}/{namespace}/{name}"
    sentences = []
    for v in violations:
        others = [_key_display(k) for k in v.object_keys if k != me]
        subject = f"{verb.capitalize()} {namespace}/{name}"
        if v.resource and others:
            also = " and ".join(others)
            sentences.append(
                f"{subject} re-applies {resource_display(v.resource)}, which {also} also "
                f"{'applies' if len(others) == 1 else 'apply'} ({v.code})."
            )
        else:
            sentences.append(f"{subject} may worsen {v.code}: {v.title.rstrip('.')}.")
    return sentences


def _key_display(key: str) -> str:
    kind, _, rest = key.partition("/")
    namespace, _, name = rest.partition("/")
    return display(kind, namespace, name)


def _when(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _sent_annotation(sent: list[dict[str, Any]], key: str) -> str:
    """The value the last write sent for annotation ``key`` (the object's own patch is last)."""
    for write in reversed(sent or []):
        value = (((write.get("body") or {}).get("metadata") or {}).get("annotations") or {}).get(
            key
        )
        if value:
            return str(value)
    return ""


def settled(
    action: str,
    sent: list[dict[str, Any]],
    requested: datetime,
    user: str,
    raw: dict[str, Any],
    status: str,
) -> str:
    """Whether the stored object shows the action handled: "" while waiting, else one sentence.

    Flux: ``status.lastHandledReconcileAt`` equals the ``requestedAt`` sent and the status is
    no longer progressing; suspend/resume: ``spec.suspend`` stored as asked. Argo CD: the
    operation this user started has finished; a refresh is handled once the controller removed
    the annotation and reconciled after it was asked."""
    state = raw.get("status") or {}
    spec = raw.get("spec") or {}
    if action in ("suspend", "resume"):
        if (spec.get("suspend") is True) == (action == "suspend"):
            return "stored as suspended." if action == "suspend" else "stored as resumed."
        return ""
    if action in ("refresh", "hard-refresh"):
        annotations = (raw.get("metadata") or {}).get("annotations") or {}
        reconciled = _when(state.get("reconciledAt"))
        sent_at = _when(_sent_annotation(sent, patches.ARGO_REFRESH_TIMESTAMP)) or requested
        if patches.ARGO_REFRESH in annotations or reconciled is None:
            return ""
        # reconciledAt has whole seconds: compared at that precision.
        if reconciled >= sent_at.replace(microsecond=0):
            return f"refreshed; it is {status}."
        return ""
    if action in ("sync", "terminate"):
        op = state.get("operationState") or {}
        phase = op.get("phase", "")
        started = _when(op.get("startedAt"))
        mine = ((op.get("operation") or {}).get("initiatedBy") or {}).get("username") == user
        if raw.get("operation") or phase in ("", "Running", "Terminating"):
            return ""
        if action == "sync" and not (
            mine and started and started >= requested.replace(microsecond=0)
        ):
            return ""
        return f"operation {phase}; it is {status}."
    requested_at = _sent_annotation(sent, patches.REQUESTED_AT)
    if not requested_at or state.get("lastHandledReconcileAt") != requested_at:
        return ""
    if status in UNSETTLED:
        return ""
    return f"reconcile handled; it is {status}."
