"""Actions over the API (README "Actions"):

- ``GET  /api/v1/objects/<cluster>/<kind>/<namespace>/<name>/actions``: what the object offers
  and the exact writes each would send;
- ``POST .../actions/<action>`` (JSON body for params): run it, audited whatever comes of it;
- ``GET  /api/v1/audit``: the attempts, newest first.

All three are 404 while TIDEWATCH_ACTIONS is off. A session user needs CSRF and the operator
role; a bearer token needs scope ``operate`` (dashboard/access.py refuses read tokens' POSTs).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe
from kubernetes import client as k8s

from clusters.actions import catalog, events, patches
from clusters.actions.perform import (
    DENIED_BY_TIDEWATCH,
    FAILED,
    Outcome,
    Params,
    Target,
    perform,
)
from clusters.impersonation import ImpersonationError, acting_client
from clusters.kube import KubeError, build_api_client
from clusters.models import Cluster, GitOpsObject
from clusters.registry import spec_of
from clusters.request_deadline import request_deadline
from clusters.store.version import bump
from dashboard import request_input, roles, selectors
from dashboard.models import OPERATE, ActionAttempt
from dashboard.pagination import paginated
from dashboard.roles import KubeIdentity

log = logging.getLogger("tidewatch.actions")

TOKEN_USER_PREFIX = "tidewatch-token:"
_HTTP_STATUS = {DENIED_BY_TIDEWATCH: 403, FAILED: 502}


def _require_enabled() -> str:
    mode = settings.TIDEWATCH_ACTIONS
    if mode == "off":
        raise Http404("actions are off")
    return mode


@require_safe
def object_actions(
    request: HttpRequest, cluster: str, kind: str, namespace: str, name: str
) -> JsonResponse:
    """The actions the stored object offers, each with the writes it would send now."""
    mode = _require_enabled()
    obj = selectors.object_detail(cluster, kind, namespace, name)
    if obj is None or not catalog.actions_of(obj.kind):
        raise Http404(f"no {kind} {namespace}/{name} with actions stored for cluster {cluster}")
    who = _actor(request)[0]
    offers = [_offer(obj, action, who) for action in catalog.actions_of(obj.kind)]
    return JsonResponse({"mode": mode, "canAct": _may_act(request) == "", "actions": offers})


def _offer(obj: GitOpsObject, action: catalog.Action, username: str) -> dict[str, Any]:
    why = catalog.why_not(obj.kind, action.name, obj.raw)
    requests: list[dict[str, Any]] = []
    try:
        requests = preview(obj, action.name, username)
    except patches.Refused as exc:
        why = why or str(exc)
    return {
        "name": action.name,
        "label": action.label,
        "description": action.description,
        "params": list(action.params),
        "available": not why,
        "whyNot": why,
        "requests": requests,
    }


def preview(
    obj: GitOpsObject, action: str, username: str, params: Params | None = None
) -> list[dict[str, Any]]:
    """The writes ``action`` would send, worked out from the stored object (perform.py works
    them out again from the live one; only the timestamp and a newer state can differ)."""
    params = params or Params()
    target = Target(obj.kind, obj.namespace, obj.name, obj.version)
    ts = patches.timestamp()

    def patch(t: Target, body: dict[str, Any]) -> dict[str, Any]:
        return {"method": "PATCH", "path": t.path, "contentType": patches.MERGE_PATCH, "body": body}

    if action in ("refresh", "hard-refresh"):
        return [patch(target, patches.refresh_patch(ts, hard=action == "hard-refresh"))]
    if action == "sync":
        body = patches.sync_patch(obj.raw, username, revision=params.revision, prune=params.prune)
        return [patch(target, body)]
    if action == "terminate":
        return [patch(target, patches.terminate_patch(obj.raw))]
    if action == "suspend":
        return [patch(target, patches.suspend_patch(obj.raw))]
    if action == "resume":
        return [patch(target, patches.resume_patch(obj.raw))]
    chain = [target]
    if action == "reconcile-with-source":
        chain = _stored_sources(obj) + chain
    return [
        patch(
            t,
            patches.reconcile_patch(
                ts, force=t is target and action == "force", reset=t is target and action == "reset"
            ),
        )
        for t in chain
    ]


def _stored_sources(obj: GitOpsObject) -> list[Target]:
    chain: list[Target] = []
    kind, raw = obj.kind, obj.raw
    while kind in catalog.WITH_SOURCE and len(chain) < 2:
        ref = catalog.source_of(kind, raw)
        if ref is None or ref.kind not in catalog.FLUX_KINDS:
            break
        stored = GitOpsObject.objects.filter(
            cluster=obj.cluster, kind=ref.kind, namespace=ref.namespace, name=ref.name
        ).first()
        chain.insert(0, Target(ref.kind, ref.namespace, ref.name, stored.version if stored else ""))
        if stored is None:
            break
        kind, raw = stored.kind, stored.raw
    return chain


@csrf_exempt  # bearer tokens carry no CSRF cookie; sessions are checked below
@require_POST
def run_action(
    request: HttpRequest, cluster: str, kind: str, namespace: str, name: str, action: str
) -> JsonResponse:
    mode = _require_enabled()
    obj = selectors.object_detail(cluster, kind, namespace, name)
    if obj is None:
        raise Http404(f"no {kind} {namespace}/{name} stored for cluster {cluster}")
    if catalog.find(obj.kind, action) is None:
        raise Http404(f"{obj.kind} has no action {action!r}")
    attempt, outcome = act(request, obj, action, _params, mode)
    status = 200
    if outcome.result != ActionAttempt.ALLOWED:
        status = outcome.status or _HTTP_STATUS.get(outcome.result, 502)
    return JsonResponse(attempt_json(attempt), status=status)


ParamsReader = Callable[[HttpRequest], tuple[Params | None, str]]


def act(
    request: HttpRequest, obj: GitOpsObject, action: str, read_params: ParamsReader, mode: str
) -> tuple[ActionAttempt, Outcome]:
    """Check, run and audit ``action`` on ``obj``: the one path of the API's POST and of the
    object page's Confirm (dashboard/action_views.py), which differ only in how they read the
    parameters (a JSON body, a form)."""
    who, identity = _actor(request)
    attempt = ActionAttempt(
        user=who,
        cluster=obj.cluster.name,
        kind=obj.kind,
        namespace=obj.namespace,
        name=obj.name,
        action=action,
        mode=mode,
    )
    refusal = _may_act(request)
    params: Params | None = None
    if not refusal:
        params, refusal = read_params(request)
        attempt.params = {"revision": params.revision, "prune": params.prune} if params else {}
    if refusal or params is None:
        outcome = Outcome(DENIED_BY_TIDEWATCH, refusal)
    else:
        outcome = _perform(obj, action, params, identity, mode)
    _record(attempt, outcome, obj)
    return attempt, outcome


def _may_act(request: HttpRequest) -> str:
    """Why Tidewatch refuses this caller ("" if it may act)."""
    token = getattr(request, "api_token", None)
    if token is not None:
        return "" if token.scope == OPERATE else "this API token is read-only (scope read)"
    if not request.user.is_authenticated:
        return "sign in to act"
    if request.method == "POST":
        rejected = CsrfViewMiddleware(lambda r: None).process_view(request, None, (), {})
        if rejected is not None:
            return "CSRF check failed: send the csrftoken cookie's value as X-CSRFToken"
    if not roles.can_operate(request.user):
        return (
            f"{request.user.get_username()} is not an operator "
            f"(group {settings.TIDEWATCH_OPERATOR_GROUP})"
        )
    return ""


def actor_name(request: HttpRequest) -> str:
    """Who an attempt by this request is recorded as (the sync's initiatedBy.username)."""
    return _actor(request)[0]


def _actor(request: HttpRequest) -> tuple[str, KubeIdentity]:
    token = getattr(request, "api_token", None)
    if token is not None:
        username = TOKEN_USER_PREFIX + token.name
        return username, KubeIdentity(username, ())
    if not request.user.is_authenticated:
        return "anonymous", KubeIdentity("system:anonymous", ())
    identity = roles.kube_identity(request)
    return identity.username, identity


def _params(request: HttpRequest) -> tuple[Params | None, str]:
    if not request.body.strip():
        return Params(), ""
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        return None, "the body must be a JSON object"
    if not isinstance(body, dict):
        return None, "the body must be a JSON object"
    revision = body.get("revision", "")
    prune = body.get("prune", False)
    if not isinstance(revision, str) or len(revision) > 500 or "\x00" in revision:
        return None, "revision must be a string (at most 500 characters)"
    if not isinstance(prune, bool):
        return None, "prune must be true or false"
    return Params(revision=revision, prune=prune), ""


def _client_for(cluster: Cluster, identity: KubeIdentity, mode: str) -> k8s.ApiClient:
    """The client an action is sent with: Tidewatch's own credentials, or (impersonate) a
    client whose requests carry Impersonate-User / Impersonate-Group for ``identity``."""
    api = build_api_client(spec_of(cluster))
    try:
        return acting_client(api, mode, identity)
    except ImpersonationError:
        api.close()
        raise


def _perform(
    obj: GitOpsObject, action: str, params: Params, identity: KubeIdentity, mode: str
) -> Outcome:
    timeout = float(settings.TIDEWATCH_ACTION_TIMEOUT)
    try:
        api = _client_for(obj.cluster, identity, mode)
    except KubeError as exc:
        return Outcome(FAILED, f"cannot reach cluster {obj.cluster.name}: {exc.message}")
    except ImpersonationError as exc:
        return Outcome(DENIED_BY_TIDEWATCH, f"cannot act as {identity.username}: {exc}")
    target = Target(obj.kind, obj.namespace, obj.name, obj.version)
    # The versions this cluster serves, as stored: the sources --with-source reaches.
    versions = dict(
        GitOpsObject.objects.filter(cluster=obj.cluster, tool="flux")
        .order_by()
        .values_list("kind", "version")
        .distinct()
    )
    try:
        with api, request_deadline(timeout * 3):
            return perform(
                api,
                target,
                action,
                params,
                username=identity.username,
                timeout=timeout,
                versions=versions,
            )
    except Exception as exc:  # never a 500 for an action: the attempt is still recorded
        log.exception("action %s on %s failed unexpectedly", action, target.path)
        return Outcome(FAILED, f"{type(exc).__name__}: {exc}"[:500])


def _write_event(obj: GitOpsObject, attempt: ActionAttempt, outcome: Outcome) -> str:
    live = outcome.live or {
        "apiVersion": f"{obj.group}/{obj.version}",
        "kind": obj.kind,
        "metadata": {"name": obj.name, "namespace": obj.namespace, "uid": obj.uid},
    }
    message = f"{attempt.user} requested {attempt.action} via Tidewatch"
    try:
        # Tidewatch's own client: the record is Tidewatch's, and an impersonated user need not
        # be allowed to create Events.
        with build_api_client(spec_of(obj.cluster)) as api:
            timeout = float(settings.TIDEWATCH_ACTION_TIMEOUT)
            with request_deadline(timeout):
                return events.write_event(api, events.event_body(live, message), timeout)
    except KubeError as exc:
        return exc.message
    except Exception as exc:
        log.exception("writing the action event failed")
        return f"{type(exc).__name__}: {exc}"[:300]


def _record(attempt: ActionAttempt, outcome: Outcome, obj: GitOpsObject) -> None:
    attempt.outcome = outcome.result
    attempt.message = outcome.message
    attempt.status = outcome.status
    attempt.patch = outcome.sent
    if outcome.result == ActionAttempt.ALLOWED:
        attempt.event_error = _write_event(obj, attempt, outcome)
    with transaction.atomic():
        attempt.save()
        bump()  # open object pages show the attempt in their History at the next poll
    log.info(
        "action %s %s %s/%s/%s by %s (%s): %s%s",
        attempt.action,
        attempt.kind,
        attempt.cluster,
        attempt.namespace,
        attempt.name,
        attempt.user,
        attempt.mode,
        attempt.outcome,
        f" ({attempt.message})" if attempt.outcome != ActionAttempt.ALLOWED else "",
    )


def attempt_json(row: ActionAttempt) -> dict[str, Any]:
    return {
        "id": row.pk,
        "at": row.created_at.isoformat() if row.created_at else None,
        "user": row.user,
        "cluster": row.cluster,
        "kind": row.kind,
        "namespace": row.namespace,
        "name": row.name,
        "action": row.action,
        "params": row.params,
        "requests": row.patch,
        "mode": row.mode,
        "outcome": row.outcome,
        "status": row.status,
        "message": row.message,
        "eventError": row.event_error,
    }


@require_safe
def audit(request: HttpRequest) -> JsonResponse:
    """Every attempt, newest first; ``?cluster=&namespace=&kind=&name=&outcome=`` narrow it."""
    _require_enabled()
    rules = {
        "cluster": request_input.Text(request_input.TEXT_LIMIT),
        "namespace": request_input.Text(request_input.NAMESPACE_LIMIT),
        "kind": request_input.Text(request_input.TEXT_LIMIT),
        "name": request_input.Text(request_input.NAMESPACE_LIMIT),
        "outcome": request_input.Choice(tuple(o for o, _ in ActionAttempt.OUTCOMES), "outcome"),
    }
    wanted = {k: v for k, v in request_input.read(request, rules).items() if v}
    if "kind" in wanted:
        wanted["kind__iexact"] = wanted.pop("kind")
    rows = ActionAttempt.objects.filter(**wanted)
    return paginated(request, rows, "attempts", attempt_json)
