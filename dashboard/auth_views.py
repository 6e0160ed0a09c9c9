"""Sign in and out for people (any active user, not only staff; the admin keeps its own
staff-only login at /admin/login/)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import Resolver404, resolve
from django.utils.http import url_has_allowed_host_and_scheme

# Pages a sign-in must not land on: the login form again, or a POST-only logout.
NOT_A_DESTINATION = frozenset({"login", "logout"})


def safe_next(url: str, allowed_hosts: set[str], require_https: bool) -> bool:
    """``next`` is followed only to a page of this site that exists; anything else (another
    host, a scheme, a path that would 404) falls back to the overview."""
    if not url_has_allowed_host_and_scheme(url, allowed_hosts, require_https=require_https):
        return False
    path = unquote(urlsplit(url).path)
    if not path.startswith("/"):
        return False
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.url_name not in NOT_A_DESTINATION


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_redirect_url(self) -> str:
        url = self.request.POST.get(
            self.redirect_field_name, self.request.GET.get(self.redirect_field_name, "")
        )
        if url and safe_next(url, self.get_success_url_allowed_hosts(), self.request.is_secure()):
            return url
        return ""  # LoginView then goes to LOGIN_REDIRECT_URL: the overview

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        from dashboard.oidc import login_page_context  # oidc imports safe_next from here

        return {**super().get_context_data(**kwargs), **login_page_context()}


class LogoutView(auth_views.LogoutView):
    """Ends the Django session; with single sign-on and TIDEWATCH_OIDC_LOGOUT_AT_PROVIDER, the
    provider's session too (RP-initiated logout) when it advertises an end_session_endpoint."""

    def post(self, request, *args, **kwargs) -> HttpResponse:
        if not (settings.TIDEWATCH_OIDC_ISSUER and settings.TIDEWATCH_OIDC_LOGOUT_AT_PROVIDER):
            return super().post(request, *args, **kwargs)
        from dashboard.oidc import provider_logout_url
        from dashboard.oidc_provider import ProviderUnavailable, discover

        try:
            provider = discover()
        except ProviderUnavailable:
            provider = None
        destination = provider_logout_url(request, provider)  # before the session is gone
        response = super().post(request, *args, **kwargs)
        response["Location"] = destination
        return response
