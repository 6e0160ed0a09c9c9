"""400, 404 and 500 answers: JSON under /api/, a styled page (templates/<code>.html) elsewhere.

Wired as Django's handler400/404/500 (dashboard/urls.py). With DEBUG on, Django shows its own
technical pages instead.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.template.response import TemplateResponse
from django.utils.encoding import escape_uri_path

from dashboard.request_input import InvalidInput, Problem


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    problems: tuple[Problem, ...] = ()
    if isinstance(exception, InvalidInput):
        problems = exception.problems
    message = "; ".join(p.message for p in problems) or "bad request"
    if _wants_json(request):
        body = {"error": message, "problems": [p.to_json() for p in problems]}
        return JsonResponse(body, status=400)
    bad = {p.parameter for p in problems}
    kept = [(k, v) for k, v in request.GET.items() if k not in bad and "\x00" not in k + v]
    query = f"?{urlencode(kept)}" if kept else ""
    retry = None if "path" in bad else escape_uri_path(request.path) + query
    context = {"problems": problems, "message": message, "retry": retry}
    return _render(request, "400.html", context, 400)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    # Http404("…") raised by a view says what is missing; the resolver's own says nothing useful.
    reason = exception.args[0] if exception and exception.args else ""
    message = reason if isinstance(reason, str) and reason else "Tidewatch has no such page."
    if _wants_json(request):
        return JsonResponse({"error": message}, status=404)
    return _render(request, "404.html", {"message": message}, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"error": "internal error; the server log has the details"}, status=500)
    # No request context: whatever failed (the database, a context processor) must not fail
    # again while the error page renders.
    return HttpResponse(loader.get_template("500.html").render(), status=500)


def _render(request: HttpRequest, template: str, context: dict, status: int) -> HttpResponse:
    response = TemplateResponse(request, template, context, status=status)
    return response.render()
