"""The URLconf of a site with TIDEWATCH_OIDC_ISSUER set (dashboard/urls.py adds these routes at
import time, which a test cannot redo)."""

from __future__ import annotations

from dashboard.oidc_urls import urlpatterns as oidc_urlpatterns
from dashboard.urls import handler400, handler404, handler500
from dashboard.urls import urlpatterns as site_urlpatterns

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]

urlpatterns = site_urlpatterns + oidc_urlpatterns
