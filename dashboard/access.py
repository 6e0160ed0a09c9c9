"""Who may see what.

- ``/healthz`` and ``/readyz`` are open: kubelet and load balancers have no session.
- ``/login`` and ``/logout`` are open: they are how a session starts and ends; so are
  ``/oidc/authenticate`` and ``/oidc/callback`` (single sign-on, routed only when configured).
- ``/admin/`` and ``/static/`` look after themselves (the admin has its own, staff-only login).
- ``/api/``: a logged-in session, or ``Authorization: Bearer <API token>`` for automation
  (GET and HEAD; a token with scope ``operate`` may also POST actions: dashboard/actions_api.py),
  or anonymous GETs when TIDEWATCH_ANONYMOUS_READ is on. A bearer token
  that is wrong is refused (401) even then: a caller presenting a credential wants to know it is
  bad. Refusals are JSON.
- ``/metrics``: with TIDEWATCH_METRICS_TOKEN set, only that bearer token or an API token; without
  it, like ``/api/`` (session, API token, or anonymous read).
- Every other page: a logged-in session, or anonymous GETs with TIDEWATCH_ANONYMOUS_READ.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse

from dashboard.models import OPERATE, ApiToken

OPEN_PREFIXES = ("/healthz", "/readyz", "/admin/", "/static/")
OPEN_PATHS = frozenset({"/login", "/logout", "/oidc/authenticate", "/oidc/callback"})
READ_METHODS = ("GET", "HEAD")


class LoginRequiredUnlessAnonymousRead:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        if path == "/metrics":
            return self._metrics(request)
        if path.startswith("/api/"):
            return self._api(request)
        if request.user.is_authenticated or _anonymous_read(request):
            return self.get_response(request)
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)

    def _api(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        token = bearer_token(request)
        if token is not None:
            row = ApiToken.authenticate(token)
            if row is None:
                return _unauthorized("invalid API token")
            if request.method not in READ_METHODS and (
                row.scope != OPERATE or not is_action_path(path)
            ):
                # Unchanged wording: read-only installs answer exactly as before actions existed.
                return JsonResponse({"error": "API tokens are read-only"}, status=403)
            request.api_token = row  # type: ignore[attr-defined]
            return self.get_response(request)
        if request.user.is_authenticated or _anonymous_read(request):
            return self.get_response(request)
        return _unauthorized("authentication required")

    def _metrics(self, request: HttpRequest) -> HttpResponse:
        token = bearer_token(request)
        configured = settings.TIDEWATCH_METRICS_TOKEN
        if token is not None:
            if configured and hmac.compare_digest(token.encode(), configured.encode()):
                return self.get_response(request)
            if ApiToken.authenticate(token) is not None:
                return self.get_response(request)
            return _unauthorized("invalid token")
        if configured:
            return _unauthorized("bearer token required")
        if request.user.is_authenticated or _anonymous_read(request):
            return self.get_response(request)
        return _unauthorized("authentication required")


def is_action_path(path: str) -> bool:
    """``/api/v1/objects/<cluster>/<kind>/<namespace>/<name>/actions/<action>``."""
    parts = path.split("/")
    return len(parts) == 10 and parts[1:4] == ["api", "v1", "objects"] and parts[8] == "actions"


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer`` header; None without one ("" if empty)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def _anonymous_read(request: HttpRequest) -> bool:
    return settings.TIDEWATCH_ANONYMOUS_READ and request.method in READ_METHODS


def _unauthorized(message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=401)
    response["WWW-Authenticate"] = 'Bearer realm="tidewatch"'
    return response
