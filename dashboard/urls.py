from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import path

from dashboard import api, auth_views, browse_views, metrics, object_views, ownership_views, views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("login", auth_views.LoginView.as_view(), name="login"),
    # POST only (Django refuses GET): a link or an <img> cannot sign anyone out.
    path("logout", LogoutView.as_view(), name="logout"),
    path("metrics", metrics.metrics, name="metrics"),
    path("o/<cluster>/<kind>/<namespace>/<name>", object_views.object_page, name="object"),
    # <path:>: an Argo CD destination namespace is free text in the CR and may hold a "/".
    path("n/<str:cluster>/<path:namespace>", browse_views.namespace_page, name="namespace"),
    path("search", browse_views.search, name="search"),
    path("ownership", ownership_views.ownership_page, name="ownership"),
    path("scorecard", ownership_views.scorecard_page, name="scorecard"),
    path("api/v1/violations", ownership_views.violations_api, name="api-violations"),
    path("api/v1/scorecard", ownership_views.scorecard_api, name="api-scorecard"),
    path("api/v1/clusters", api.clusters, name="api-clusters"),
    path("api/v1/namespaces", api.namespaces, name="api-namespaces"),
    path("api/v1/objects", api.objects, name="api-objects"),
    path(
        "api/v1/objects/<str:cluster>/<str:kind>/<str:namespace>/<str:name>",
        api.object_detail,
        name="api-object",
    ),
    path(
        "api/v1/objects/<str:cluster>/<str:kind>/<str:namespace>/<str:name>/history",
        api.object_history,
        name="api-object-history",
    ),
    path(
        "api/v1/objects/<str:cluster>/<str:kind>/<str:namespace>/<str:name>/events",
        api.object_events,
        name="api-object-events",
    ),
    path("admin/", admin.site.urls),
]
