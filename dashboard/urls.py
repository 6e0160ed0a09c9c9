from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import path, register_converter

from dashboard import (
    action_views,
    actions_api,
    api,
    auth_views,
    browse_views,
    controller_views,
    metrics,
    object_views,
    ownership_views,
    views,
)
from dashboard.links import NameConverter

# Every segment that holds a name from a cluster: any non-empty string round-trips (links.py).
register_converter(NameConverter, "name")

handler400 = "dashboard.errors.bad_request"
handler404 = "dashboard.errors.page_not_found"
handler500 = "dashboard.errors.server_error"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("login", auth_views.LoginView.as_view(), name="login"),
    # POST only (Django refuses GET): a link or an <img> cannot sign anyone out.
    path("logout", auth_views.LogoutView.as_view(), name="logout"),
    path("metrics", metrics.metrics, name="metrics"),
    path(
        "o/<name:cluster>/<name:kind>/<name:namespace>/<name:name>",
        object_views.object_page,
        name="object",
    ),
    # Actions in the browser: 404 while TIDEWATCH_ACTIONS is off (dashboard/action_views.py).
    path(
        "o/<name:cluster>/<name:kind>/<name:namespace>/<name:name>/actions/<name:action>/confirm",
        action_views.confirm,
        name="action-confirm",
    ),
    path(
        "o/<name:cluster>/<name:kind>/<name:namespace>/<name:name>/actions/<name:action>",
        action_views.run,
        name="action-run",
    ),
    path(
        "o/<name:cluster>/<name:kind>/<name:namespace>/<name:name>/actions/wait/<int:attempt_id>",
        action_views.wait,
        name="action-wait",
    ),
    path("audit", action_views.audit_page, name="audit"),
    path("n/<name:cluster>/<name:namespace>", browse_views.namespace_page, name="namespace"),
    path("search", browse_views.search, name="search"),
    path(
        "clusters/<name:cluster>/controllers",
        controller_views.controllers_page,
        name="controllers",
    ),
    path("controllers", controller_views.versions_page, name="controller-versions"),
    path("api/v1/controllers", controller_views.controllers_api, name="api-controllers"),
    path("ownership", ownership_views.ownership_page, name="ownership"),
    path("scorecard", ownership_views.scorecard_page, name="scorecard"),
    path("api/v1/violations", ownership_views.violations_api, name="api-violations"),
    path("api/v1/scorecard", ownership_views.scorecard_api, name="api-scorecard"),
    path("api/v1/clusters", api.clusters, name="api-clusters"),
    path("api/v1/namespaces", api.namespaces, name="api-namespaces"),
    path("api/v1/objects", api.objects, name="api-objects"),
    path(
        "api/v1/objects/<name:cluster>/<name:kind>/<name:namespace>/<name:name>",
        api.object_detail,
        name="api-object",
    ),
    path(
        "api/v1/objects/<name:cluster>/<name:kind>/<name:namespace>/<name:name>/history",
        api.object_history,
        name="api-object-history",
    ),
    path(
        "api/v1/objects/<name:cluster>/<name:kind>/<name:namespace>/<name:name>/events",
        api.object_events,
        name="api-object-events",
    ),
    # Actions: every route answers 404 while TIDEWATCH_ACTIONS is off (dashboard/actions_api.py).
    path(
        "api/v1/objects/<name:cluster>/<name:kind>/<name:namespace>/<name:name>/actions",
        actions_api.object_actions,
        name="api-object-actions",
    ),
    path(
        "api/v1/objects/<name:cluster>/<name:kind>/<name:namespace>/<name:name>/actions/<name:action>",
        actions_api.run_action,
        name="api-object-action",
    ),
    path("api/v1/audit", actions_api.audit, name="api-audit"),
    path("admin/", admin.site.urls),
]

if settings.TIDEWATCH_OIDC_ISSUER:
    # Single sign-on; without an issuer these routes do not exist.
    from dashboard.oidc_urls import urlpatterns as oidc_urlpatterns

    urlpatterns += oidc_urlpatterns
