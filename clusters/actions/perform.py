"""Run one action against a cluster through the kubernetes client; never raises.

The caller chooses the ApiClient: Tidewatch's own (service-account mode) or one that
impersonates the signed-in user, so that the cluster's RBAC decides (impersonate mode).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import urllib3
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from clusters.actions import catalog, patches

log = logging.getLogger(__name__)

ALLOWED = "allowed"
DENIED_BY_TIDEWATCH = "denied-by-tidewatch"
DENIED_BY_KUBERNETES = "denied-by-kubernetes"
FAILED = "failed"
# An update that lost a race with a controller is read again and retried, as argocd does.
CONFLICT_RETRIES = 3


@dataclass(frozen=True)
class Target:
    kind: str
    namespace: str
    name: str
    version: str = ""  # the stored version; the catalog's when empty

    @property
    def info(self) -> catalog.KindInfo:
        return catalog.KINDS[self.kind]

    @property
    def api_version(self) -> str:
        return f"{self.info.group}/{self.version or self.info.version}"

    @property
    def path(self) -> str:
        return (
            f"/apis/{self.api_version}/namespaces/{self.namespace}/{self.info.plural}/{self.name}"
        )


@dataclass(frozen=True)
class Params:
    revision: str = ""
    prune: bool = False


@dataclass
class Outcome:
    result: str  # ALLOWED, DENIED_BY_TIDEWATCH, DENIED_BY_KUBERNETES or FAILED
    message: str
    status: int | None = None  # the cluster's HTTP status, when it answered with an error
    # Each write sent: method, path, contentType and the body (for an update: the change).
    sent: list[dict[str, Any]] = field(default_factory=list)
    live: dict[str, Any] | None = None  # the object as last read or written


class _Stop(Exception):
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome


def perform(
    api: k8s.ApiClient,
    target: Target,
    action: str,
    params: Params,
    *,
    username: str,
    timeout: float = 10.0,
    versions: Mapping[str, str] | None = None,
) -> Outcome:
    """Do ``action`` on ``target`` as the CLI would; the outcome says what the cluster said.
    ``versions`` (kind -> served version) names the version of a source ``--with-source``
    reaches; the catalog's otherwise."""
    if catalog.find(target.kind, action) is None:
        return Outcome(DENIED_BY_TIDEWATCH, f"{target.kind} has no action {action!r}")
    run = _Run(k8s.CustomObjectsApi(api), timeout, versions or {})
    try:
        if action in ("refresh", "hard-refresh"):
            ts = patches.timestamp()
            run.patch(target, patches.refresh_patch(ts, hard=action == "hard-refresh"))
        elif action in ("sync", "terminate"):
            run.update(target, action, params, username)
        elif action in ("suspend", "resume"):
            live = run.get(target)
            build = patches.suspend_patch if action == "suspend" else patches.resume_patch
            run.patch(target, build(live))
        else:
            run.reconcile(target, action)
    except _Stop as stop:
        stop.outcome.sent = run.sent
        return stop.outcome
    return Outcome(ALLOWED, _done(target, action), sent=run.sent, live=run.live)


def _done(target: Target, action: str) -> str:
    return f"{action} requested for {target.kind} {target.namespace}/{target.name}"


class _Run:
    def __init__(
        self, api: k8s.CustomObjectsApi, timeout: float, versions: Mapping[str, str]
    ) -> None:
        self.api = api
        self.timeout = timeout
        self.versions = versions
        self.sent: list[dict[str, Any]] = []
        self.live: dict[str, Any] | None = None

    def _call(self, target: Target, fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        info = target.info
        try:
            result = fn(
                info.group,
                target.version or info.version,
                target.namespace,
                info.plural,
                target.name,
                *args,
                _request_timeout=(min(5.0, self.timeout), self.timeout),
                **kwargs,
            )
        except ApiException as exc:
            raise _Stop(_from_api_exception(target, exc)) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            message = f"cluster unreachable or too slow: {type(exc).__name__}: {exc}"
            raise _Stop(Outcome(FAILED, message[:500])) from None
        self.live = result
        return result

    def get(self, target: Target) -> dict[str, Any]:
        return self._call(target, self.api.get_namespaced_custom_object)

    def patch(self, target: Target, body: dict[str, Any]) -> None:
        self.sent.append(
            {
                "method": "PATCH",
                "path": target.path,
                "contentType": patches.MERGE_PATCH,
                "body": body,
            }
        )
        self._call(
            target,
            self.api.patch_namespaced_custom_object,
            body,
            _content_type=patches.MERGE_PATCH,
        )

    def reconcile(self, target: Target, action: str) -> None:
        chain = [target]
        if action == "reconcile-with-source":
            chain = self._with_sources(target)
        else:
            self._refuse_if(target, action, self.get(target))
        ts = patches.timestamp()
        for step in chain:
            is_object = step is target
            body = patches.reconcile_patch(
                ts,
                force=is_object and action == "force",
                reset=is_object and action == "reset",
            )
            self.patch(step, body)

    def _with_sources(self, target: Target) -> list[Target]:
        """Sources first, deepest first, the object last, as ``--with-source`` does; each is
        read, and a suspended one stops the action as it stops the CLI."""
        chain: list[Target] = []
        step: Target | None = target
        while step is not None and len(chain) < 3:
            live = self.get(step)
            self._refuse_if(step, "reconcile", live)
            chain.insert(0, step)
            ref = catalog.source_of(step.kind, live) if step.kind in catalog.WITH_SOURCE else None
            if ref is not None and ref.kind not in catalog.FLUX_KINDS:
                raise _Stop(
                    Outcome(DENIED_BY_TIDEWATCH, f"cannot reconcile a source of kind {ref.kind}")
                )
            step = (
                Target(ref.kind, ref.namespace, ref.name, self.versions.get(ref.kind, ""))
                if ref
                else None
            )
        return chain

    def _refuse_if(self, target: Target, action: str, live: dict[str, Any]) -> None:
        reason = catalog.why_not(target.kind, action, live)
        if reason:
            message = f"{target.kind} {target.namespace}/{target.name}: {reason}"
            raise _Stop(Outcome(DENIED_BY_TIDEWATCH, message))

    def update(self, target: Target, action: str, params: Params, username: str) -> None:
        """Sync or terminate: read, build the patch guarded by the resourceVersion read, send;
        a 409 (the Application moved in between) is read and tried again, as argocd does."""
        for attempt in range(CONFLICT_RETRIES):
            live = self.get(target)
            try:
                if action == "sync":
                    body = patches.sync_patch(
                        live, username, revision=params.revision, prune=params.prune
                    )
                else:
                    self._refuse_if(target, action, live)
                    body = patches.terminate_patch(live)
            except patches.Refused as exc:
                raise _Stop(Outcome(DENIED_BY_TIDEWATCH, str(exc))) from None
            try:
                self.patch(target, body)
                return
            except _Stop as stop:
                if stop.outcome.status != 409 or attempt == CONFLICT_RETRIES - 1:
                    raise


def _from_api_exception(target: Target, exc: ApiException) -> Outcome:
    status = int(exc.status or 0)
    message = _status_message(exc) or f"HTTP {status} {exc.reason or ''}".strip()
    if status in (401, 429) or status >= 500 or status == 0:
        return Outcome(FAILED, message, status)
    return Outcome(DENIED_BY_KUBERNETES, message, status)


def _status_message(exc: ApiException) -> str:
    """The cluster's own reason, from its Status body."""
    try:
        body = json.loads(exc.body or b"")
    except (TypeError, ValueError):
        return ""
    return str(body.get("message") or "")[:1000] if isinstance(body, dict) else ""
