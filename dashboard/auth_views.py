"""Sign in and out for people (any active user, not only staff; the admin keeps its own
staff-only login at /admin/login/)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.contrib.auth import views as auth_views
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
