"""The exact writes the Flux CLI and the Argo CD API server send for each action (pure).

Flux (fluxcd/flux2 cmd/flux): every write is controller-runtime's ``client.MergeFrom`` patch,
i.e. a JSON merge patch (``application/merge-patch+json``) holding the difference between the
object as read and as changed:

- ``flux reconcile`` (requestReconciliation) diffs the object's metadata after setting
  ``reconcile.fluxcd.io/requestedAt`` to ``time.Now().Format(time.RFC3339Nano)``; with
  ``--force`` / ``--reset`` on a HelmRelease it also sets ``reconcile.fluxcd.io/forceAt`` /
  ``reconcile.fluxcd.io/resetAt`` to the same instant.
- ``flux suspend`` / ``flux resume`` diff the whole typed object after setting
  ``spec.suspend``. The field is ``omitempty``, so resuming *removes* it (``null``) and a write
  that changes nothing is the empty patch ``{}`` (still sent).

Argo CD (argoproj/argo-cd):

- refresh (util/argo.RefreshApp) is a merge patch of two annotations,
  ``argocd.argoproj.io/refresh`` (``normal`` or ``hard``) and
  ``argocd.argoproj.io/refresh-timestamp`` (RFC3339Nano).
- sync (server/application Sync + util/argo.SetAppOperation) reads the Application and
  updates it, guarded by the resourceVersion it read: ``operation`` set,
  ``status.operationState`` removed.
- terminate (server/application TerminateOperation) updates it the same way with
  ``status.operationState.phase`` set to ``Terminating``.

Tidewatch sends those two changes as a merge patch that carries the resourceVersion read
(the API server refuses it with 409 if the object moved, exactly as it refuses a stale
update), not as a PUT of the whole object: the same change lands, a field Tidewatch does not
know is never rewritten, and the write ClusterRole stays ``patch`` only (the Application CRD
has no status subresource, so ``status`` is written through the object, as argocd-server does).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

MERGE_PATCH = "application/merge-patch+json"

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
FORCE_AT = "reconcile.fluxcd.io/forceAt"
RESET_AT = "reconcile.fluxcd.io/resetAt"
ARGO_REFRESH = "argocd.argoproj.io/refresh"
ARGO_REFRESH_TIMESTAMP = "argocd.argoproj.io/refresh-timestamp"


class Refused(ValueError):
    """The tool itself would refuse this write (e.g. a sync while an operation runs)."""


def timestamp(now: datetime | None = None) -> str:
    """``now`` as Go's ``time.RFC3339Nano`` prints it in UTC: fraction without trailing zeros,
    none at all on a whole second, and ``Z``."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    text = now.strftime("%Y-%m-%dT%H:%M:%S")
    if now.microsecond:
        text += "." + f"{now.microsecond:06d}".rstrip("0")
    return text + "Z"


def reconcile_patch(ts: str, *, force: bool = False, reset: bool = False) -> dict[str, Any]:
    """``flux reconcile`` (``--force`` / ``--reset`` on a HelmRelease)."""
    annotations = {REQUESTED_AT: ts}
    if force:
        annotations[FORCE_AT] = ts
    if reset:
        annotations[RESET_AT] = ts
    return {"metadata": {"annotations": dict(sorted(annotations.items()))}}


def is_suspended(obj: dict[str, Any]) -> bool:
    return (obj.get("spec") or {}).get("suspend") is True


def suspend_patch(live: dict[str, Any]) -> dict[str, Any]:
    """``flux suspend``: the whole-object diff, so nothing when it is suspended already."""
    return {} if is_suspended(live) else {"spec": {"suspend": True}}


def resume_patch(live: dict[str, Any]) -> dict[str, Any]:
    """``flux resume``: ``suspend: false`` is omitted by the typed object: the diff removes it."""
    return {"spec": {"suspend": None}} if is_suspended(live) else {}


def refresh_patch(ts: str, *, hard: bool = False) -> dict[str, Any]:
    """Argo CD refresh: the controller compares again (``hard`` also regenerates manifests)."""
    return {
        "metadata": {
            "annotations": {ARGO_REFRESH: "hard" if hard else "normal", ARGO_REFRESH_TIMESTAMP: ts}
        }
    }


def sync_operation(
    app: dict[str, Any], username: str, *, revision: str = "", prune: bool = False
) -> dict[str, Any]:
    """The ``operation`` the Argo CD API server writes for a sync of ``app``.

    The API server resolves the revision to a commit with its repo server; Tidewatch has none,
    so it writes the revision asked for (or the source's targetRevision) and the controller
    resolves it when it runs the sync. Fields are those Go's encoding/json prints: omitempty
    drops false and empty values, but ``retry`` is a struct and always appears.
    """
    spec = app.get("spec") or {}
    policy = spec.get("syncPolicy") or {}
    sync: dict[str, Any] = {}
    sources = spec.get("sources") or []
    if sources:
        if revision:
            raise Refused("a revision can only be given for an Application with one source")
        revisions = [s.get("targetRevision") or "" for s in sources]
        sync["sources"] = copy.deepcopy(sources)
        if any(revisions):
            sync["revisions"] = revisions
    else:
        source = spec.get("source") or {}
        target = source.get("targetRevision") or ""
        if revision and revision != (target or "HEAD") and policy.get("automated") is not None:
            # As the API server: a pinned sync would be undone by the next automated sync.
            raise Refused(
                f"cannot sync to {revision}: auto-sync is enabled and follows {target or 'HEAD'}"
            )
        wanted = revision or target
        if wanted:
            sync["revision"] = wanted
        sync["source"] = copy.deepcopy(source)
    if prune:
        sync["prune"] = True
    if policy.get("syncOptions"):
        sync["syncOptions"] = list(policy["syncOptions"])
    return {
        "initiatedBy": {"username": username} if username else {},
        "retry": copy.deepcopy(policy.get("retry") or {}),
        "sync": sync,
    }


def sync_patch(
    live: dict[str, Any], username: str, *, revision: str = "", prune: bool = False
) -> dict[str, Any]:
    """The merge patch that starts a sync, as SetAppOperation changes the Application."""
    if live.get("operation"):
        raise Refused("another operation is already in progress")
    return {
        "metadata": {"resourceVersion": _resource_version(live)},
        "operation": sync_operation(live, username, revision=revision, prune=prune),
        "status": {"operationState": None},
    }


def running_operation(app: dict[str, Any]) -> bool:
    state = (app.get("status") or {}).get("operationState") or {}
    return bool(app.get("operation")) and state.get("phase") == "Running"


def terminate_patch(live: dict[str, Any]) -> dict[str, Any]:
    """The merge patch that stops the running operation, as TerminateOperation changes it."""
    if not live.get("operation") or not (live.get("status") or {}).get("operationState"):
        raise Refused("Unable to terminate operation. No operation is in progress")
    return {
        "metadata": {"resourceVersion": _resource_version(live)},
        "status": {"operationState": {"phase": "Terminating"}},
    }


def _resource_version(live: dict[str, Any]) -> str:
    return str((live.get("metadata") or {}).get("resourceVersion") or "")
