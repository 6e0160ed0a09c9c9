"""Actions in the browser (docs/actions.md "In the browser"): the object page's panel, the
confirmation showing the exact writes, Confirm (the API's own code path, actions_api.act), the
"waiting for the controller" line and the audit page. Everything 404s while TIDEWATCH_ACTIONS is
off, and the object page renders no panel at all then."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from clusters.actions import catalog, patches
from clusters.actions.perform import Params
from clusters.models import GitOpsObject
from dashboard import action_outcomes, actions_api, request_input, roles, selectors
from dashboard.bounds import page_numbers
from dashboard.links import object_url
from dashboard.models import ActionAttempt
from dashboard.object_ownership import object_ownership
from dashboard.object_timeline import Identity, attempts

PARTIALS = "dashboard/partials/actions.html"
RECENT_ATTEMPTS = 5
REVISION_LIMIT = 500


def enabled() -> bool:
    return settings.TIDEWATCH_ACTIONS != "off"


def actions_context(request: HttpRequest) -> dict[str, Any]:
    """Template context for every page: the nav's Audit link, the demo sign-in hint."""
    return {"actions_on": enabled(), "demo_sign_in": settings.TIDEWATCH_DEMO_SIGN_IN}


def who_may_act(request: HttpRequest) -> str:
    """Why the signed-in reader cannot act ("" for an operator): shown beside the disabled
    buttons, in the words of the role check the POST makes."""
    user = request.user
    if not user.is_authenticated:
        return "Signed out: sign in as an operator to act."
    role = roles.role_of(user)
    if role == "operator":
        return ""
    who = "Viewer" if role == "viewer" else f"{user.get_username()} has no role"
    return f"{who}: operators can act (group {settings.TIDEWATCH_OPERATOR_GROUP})."


def panel_context(request: HttpRequest, obj: GitOpsObject | None) -> dict[str, Any] | None:
    """What the object page's Actions panel shows; None (no panel) when actions are off or the
    kind has none. Stored state only: the POST checks the live object again."""
    if not enabled() or obj is None or not catalog.actions_of(obj.kind):
        return None
    why = who_may_act(request)
    offers = []
    for action in catalog.actions_of(obj.kind):
        not_now = catalog.why_not(obj.kind, action.name, obj.raw)
        offers.append({"action": action, "why_not": not_now, "disabled": bool(why or not_now)})
    recent = list(attempts(_identity(obj))[:RECENT_ATTEMPTS])
    return {
        "obj": obj,
        "offers": offers,
        "why_not_operator": why,
        "recent": [_row(a) for a in recent],
        "audit_query": _audit_query(obj),
        "mode": settings.TIDEWATCH_ACTIONS,
    }


def _identity(obj: GitOpsObject) -> Identity:
    return Identity(obj.cluster.name, obj.kind, obj.namespace, obj.name)


def _audit_query(obj: GitOpsObject) -> str:
    return urlencode(
        {
            "cluster": obj.cluster.name,
            "kind": obj.kind,
            "namespace": obj.namespace,
            "name": obj.name,
        }
    )


def _row(attempt: ActionAttempt) -> dict[str, Any]:
    return {
        "attempt": attempt,
        "badge": action_outcomes.outcome_badge(attempt.outcome),
        "url": object_url(attempt.cluster, attempt.kind, attempt.namespace, attempt.name),
    }


def _stored(cluster: str, kind: str, namespace: str, name: str, action: str) -> GitOpsObject:
    if not enabled():
        raise Http404("actions are off")
    obj = selectors.object_detail(cluster, kind, namespace, name)
    if obj is None:
        raise Http404(f"no {kind} {namespace}/{name} stored for cluster {cluster}")
    if catalog.find(obj.kind, action) is None:
        raise Http404(f"{obj.kind} has no action {action!r}")
    return obj


def form_params(request: HttpRequest) -> tuple[Params | None, str]:
    """Sync's revision and prune from the confirmation form (or its preview's query)."""
    data = request.POST if request.method == "POST" else request.GET
    revision = data.get("revision", "").strip()
    if len(revision) > REVISION_LIMIT or "\x00" in revision:
        return None, f"revision must be at most {REVISION_LIMIT} characters"
    return Params(revision=revision, prune=data.get("prune") in ("on", "true", "1")), ""


@require_safe
def confirm(
    request: HttpRequest, cluster: str, kind: str, namespace: str, name: str, action: str
) -> HttpResponse:
    """The confirmation: the writes Confirm will send (actions_api.preview, the builders the
    POST uses) and the conflict the action may worsen."""
    obj = _stored(cluster, kind, namespace, name, action)
    spec = catalog.find(obj.kind, action)
    params, refusal = form_params(request)
    who = actions_api.actor_name(request)
    requests: list[dict[str, Any]] = []
    if params is not None:
        try:
            requests = actions_api.preview(obj, action, who, params)
        except patches.Refused as exc:
            refusal = str(exc)
    refusal = refusal or catalog.why_not(obj.kind, action, obj.raw)
    for write in requests:
        write["pretty"] = json.dumps(write["body"], indent=2)
    violations = object_ownership(obj).violations
    context = {
        "obj": obj,
        "action": spec,
        "params": params or Params(),
        "requests": requests,
        "refusal": refusal,
        "why_not_operator": who_may_act(request),
        "conflicts": action_outcomes.conflict_sentences(
            action, obj.kind, obj.namespace, obj.name, violations
        ),
    }
    return render(request, PARTIALS + "#action-confirm", context)


@csrf_exempt  # CSRF is checked by actions_api.act, so that a failed check is audited too
@require_POST
def run(
    request: HttpRequest, cluster: str, kind: str, namespace: str, name: str, action: str
) -> HttpResponse:
    """Confirm: the same checks, write and audit row as the API's POST, answered in a sentence."""
    obj = _stored(cluster, kind, namespace, name, action)
    attempt, outcome = actions_api.act(
        request, obj, action, form_params, settings.TIDEWATCH_ACTIONS
    )
    spec = catalog.find(obj.kind, action)
    label = spec.label if spec else action
    context = {
        "obj": obj,
        "attempt": attempt,
        "badge": action_outcomes.outcome_badge(attempt.outcome),
        "sentence": action_outcomes.result_sentence(
            label, attempt.outcome, attempt.message, attempt.status
        ),
        "controller": action_outcomes.CONTROLLERS.get(obj.kind, "the controller"),
        "waiting": attempt.outcome == ActionAttempt.ALLOWED,
        "live_poll_ms": settings.TIDEWATCH_LIVE_POLL_MS,
        "actions": panel_context(request, obj),
    }
    # 200 whatever the outcome: htmx swaps 2xx answers only, and the sentence is the answer.
    return render(request, PARTIALS + "#action-result", context)


@require_safe
def wait(
    request: HttpRequest, cluster: str, kind: str, namespace: str, name: str, attempt_id: int
) -> HttpResponse:
    """The "Waiting for <controller> …" line, polled until the stored object shows the action
    handled; then one sentence (and no more polling)."""
    if not enabled():
        raise Http404("actions are off")
    attempt = ActionAttempt.objects.filter(
        pk=attempt_id, cluster=cluster, namespace=namespace, name=name, kind__iexact=kind
    ).first()
    obj = selectors.object_detail(cluster, kind, namespace, name)
    if attempt is None or obj is None:
        raise Http404("no such attempt on a stored object")
    done = action_outcomes.settled(
        attempt.action, attempt.patch, attempt.created_at, attempt.user, obj.raw, obj.status
    )
    context = {
        "obj": obj,
        "attempt": attempt,
        "done": done,
        "controller": action_outcomes.CONTROLLERS.get(obj.kind, "the controller"),
        "live_poll_ms": settings.TIDEWATCH_LIVE_POLL_MS,
        # Settled: the buttons follow the stored state again (Resume after Suspend ...).
        "actions": panel_context(request, obj) if done else None,
    }
    return render(request, PARTIALS + "#action-wait", context)


AUDIT_RULES = {
    "cluster": request_input.Text(request_input.TEXT_LIMIT),
    "user": request_input.Text(request_input.TEXT_LIMIT),
    "kind": request_input.Text(request_input.TEXT_LIMIT),
    "namespace": request_input.Text(request_input.NAMESPACE_LIMIT),
    "name": request_input.Text(request_input.NAMESPACE_LIMIT),
    "outcome": request_input.Choice(tuple(o for o, _ in ActionAttempt.OUTCOMES), "outcome"),
}


@require_safe
def audit_page(request: HttpRequest) -> HttpResponse:
    """Every attempt, newest first, a page of TIDEWATCH_PAGE_ROWS at a time: two queries (count
    and page) however many rows there are."""
    if not enabled():
        raise Http404("actions are off")
    wanted = {k: v for k, v in request_input.read(request, AUDIT_RULES).items() if v}
    lookups = dict(wanted)
    if "kind" in lookups:
        lookups["kind__iexact"] = lookups.pop("kind")
    rows = ActionAttempt.objects.filter(**lookups).order_by("-created_at", "-id")
    paginator = Paginator(rows, settings.TIDEWATCH_PAGE_ROWS)
    number = page_numbers(request.GET, ("page",)).get("page", 1)
    page = paginator.get_page(number)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "rows": [_row(a) for a in page.object_list],
        "wanted": wanted,
        "outcomes": [(o, action_outcomes.outcome_badge(o)) for o, _ in ActionAttempt.OUTCOMES],
        "query": query.urlencode(),
        "total": paginator.count,
    }
    return render(request, "dashboard/audit.html", context)
