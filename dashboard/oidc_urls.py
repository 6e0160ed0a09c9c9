"""Single sign-on routes (dashboard/oidc.py), included by dashboard/urls.py only when
TIDEWATCH_OIDC_ISSUER is set. The redirect URI to register at the provider is
<site>/oidc/callback."""

from __future__ import annotations

from django.urls import path

from dashboard import oidc

urlpatterns = [
    path("oidc/authenticate", oidc.AuthenticateView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback", oidc.CallbackView.as_view(), name="oidc_authentication_callback"),
]
