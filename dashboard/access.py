"""Who may see what: every page needs a login unless TIDEWATCH_ANONYMOUS_READ is on."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse

# Liveness and readiness must answer without a session: kubelet and load balancers have none.
OPEN_PREFIXES = ("/healthz", "/readyz", "/admin/", "/static/")


class LoginRequiredUnlessAnonymousRead:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._allowed(request):
            return self.get_response(request)
        if request.path.startswith("/api/"):
            return JsonResponse({"error": "authentication required"}, status=401)
        return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)

    @staticmethod
    def _allowed(request: HttpRequest) -> bool:
        if request.path.startswith(OPEN_PREFIXES) or request.user.is_authenticated:
            return True
        return settings.TIDEWATCH_ANONYMOUS_READ and request.method in ("GET", "HEAD")
