"""HEAD answers wherever GET does (health probes and uptime checkers use it): every URL of the
project is listed here, and a new one without an entry fails the coverage test."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from dashboard.models import ActionAttempt

pytestmark = pytest.mark.django_db

# One concrete URL per named route.
URLS = {
    "overview": "/?cluster=demo",
    "healthz": "/healthz",
    "readyz": "/readyz",
    "login": "/login",
    "metrics": "/metrics",
    "object": "/o/demo/HelmRelease/bigbang/gitlab",
    "namespace": "/n/demo/gitlab",
    "search": "/search?q=gitlab",
    "ownership": "/ownership?tool=flux",
    "scorecard": "/scorecard",
    "controllers": "/clusters/demo/controllers",
    "controller-versions": "/controllers",
    "api-controllers": "/api/v1/controllers?cluster=demo",
    "api-violations": "/api/v1/violations",
    "api-scorecard": "/api/v1/scorecard",
    "api-clusters": "/api/v1/clusters",
    "api-namespaces": "/api/v1/namespaces",
    "api-objects": "/api/v1/objects",
    "api-object": "/api/v1/objects/demo/HelmRelease/bigbang/gitlab",
    "api-object-history": "/api/v1/objects/demo/HelmRelease/bigbang/gitlab/history",
    "api-object-events": "/api/v1/objects/demo/HelmRelease/bigbang/gitlab/events",
    "api-object-actions": "/api/v1/objects/demo/HelmRelease/bigbang/gitlab/actions",
    "api-audit": "/api/v1/audit",
    "action-confirm": "/o/demo/HelmRelease/bigbang/gitlab/actions/reconcile/confirm",
    "action-wait": "/o/demo/HelmRelease/bigbang/gitlab/actions/wait/1",
    "audit": "/audit",
}
# Signing out is a POST with CSRF, never a GET; so is running an action.
POST_ONLY = {"logout", "api-object-action", "action-run"}
# These answer only with TIDEWATCH_ACTIONS on (404 otherwise: tests/dashboard/test_actions_api.py).
NEED_ACTIONS = {"api-object-actions", "api-audit", "action-confirm", "action-wait", "audit"}


def route_names() -> set[str]:
    """Every named route of the project outside the admin (which is Django's)."""
    names: set[str] = set()
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLPattern) and entry.name:
            names.add(entry.name)
        elif isinstance(entry, URLResolver) and entry.app_name != "admin":
            names.update(p.name for p in entry.url_patterns if p.name)
    return names


def test_every_route_is_covered():
    assert route_names() == set(URLS) | POST_ONLY
    for name, url in URLS.items():
        assert resolve(url.split("?")[0]).url_name == name
    action = "/api/v1/objects/demo/HelmRelease/bigbang/gitlab/actions/reconcile"
    assert resolve(action).url_name == "api-object-action"
    assert resolve(URLS["action-confirm"][: -len("/confirm")]).url_name == "action-run"


@pytest.mark.parametrize("name", URLS)
def test_head_answers_like_get(client, polled, django_user_model, name, settings):
    if name in NEED_ACTIONS:
        settings.TIDEWATCH_ACTIONS = "service-account"
    if name == "action-wait":  # the line that follows attempt 1
        ActionAttempt.objects.create(
            pk=1, user="rita", cluster="demo", kind="HelmRelease", namespace="bigbang",
            name="gitlab", action="reconcile", mode="service-account", outcome="allowed",
        )  # fmt: skip
    if name != "login":  # the login page sends a signed-in user on
        client.force_login(django_user_model.objects.create_user("rita", password="x" * 12))
    url = URLS[name]
    got = client.get(url)
    head = client.head(url)
    assert got.status_code == 200, name
    assert head.status_code == got.status_code, name
    assert head["Content-Type"] == got["Content-Type"], name
    assert head.content == b"", name


@pytest.mark.parametrize("url", ["/", "/api/v1/clusters", "/readyz?checks=database", "/admin/"])
def test_head_works_signed_out_as_far_as_get_does(client, settings, url):
    settings.TIDEWATCH_ANONYMOUS_READ = False
    got, head = client.get(url), client.head(url)
    assert head.status_code == got.status_code, url
    assert head.get("Location") == got.get("Location"), url
