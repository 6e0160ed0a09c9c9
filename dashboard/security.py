"""Content-Security-Policy header (Django 5.2 has no built-in CSP support).

Every page is built to run under the strict policy in ``settings.TIDEWATCH_CSP``: scripts and
styles come only from static files, never inline, and htmx runs with ``allowEval`` off (its
``hx-trigger`` filters and ``hx-on`` would need ``'unsafe-eval'``).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.TIDEWATCH_CSP
        if policy and HEADER not in response:
            response[HEADER] = policy
        return response
