from __future__ import annotations

from django.contrib import admin
from django.urls import path

from dashboard import api, views

urlpatterns = [
    path("", views.overview, name="overview"),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/clusters", api.clusters, name="api-clusters"),
    path("api/v1/namespaces", api.namespaces, name="api-namespaces"),
    path("api/v1/objects", api.objects, name="api-objects"),
    path(
        "api/v1/objects/<str:cluster>/<str:kind>/<str:namespace>/<str:name>",
        api.object_detail,
        name="api-object",
    ),
    path("admin/", admin.site.urls),
]
