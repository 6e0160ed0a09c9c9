"""OpenID Connect single sign-on through mozilla-django-oidc: authorization code flow with PKCE,
state and nonce as the library keeps them, the ID token's RS256 signature checked against the
provider's JWKS, and its issuer and audience checked here (the library leaves both unchecked).

Each sign-in puts the user in exactly the Tidewatch groups their groups claim maps to
(dashboard/identity.py) and keeps the claim's groups (at most TIDEWATCH_OIDC_MAX_GROUPS) in
``request.session["tidewatch_kube_groups"]`` for Kubernetes impersonation. Every way a sign-in
can fail ends on a page that says why in one sentence, with no session.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
import requests
from django.conf import settings
from django.contrib import auth
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.generic import View
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings
from mozilla_django_oidc.views import (
    OIDCAuthenticationCallbackView,
    OIDCAuthenticationRequestView,
)

from dashboard.auth_views import safe_next
from dashboard.identity import set_role_groups
from dashboard.oidc_claims import (
    MAX_USERNAME_LENGTH,
    groups_from_claims,
    roles_for_groups,
    username_from_claims,
)
from dashboard.oidc_provider import ProviderConfig, ProviderUnavailable, discover

logger = logging.getLogger(__name__)

SESSION_GROUPS_KEY = "tidewatch_kube_groups"
SESSION_ID_TOKEN_KEY = "oidc_id_token"


def library_setting(attr: str, *default: object) -> object:
    """mozilla-django-oidc's OIDC_* settings, derived from the TIDEWATCH_OIDC_* ones so there is
    one place to configure and the security choices (RS256, PKCE, nonce) cannot be turned off."""
    values = {
        "OIDC_RP_CLIENT_ID": settings.TIDEWATCH_OIDC_CLIENT_ID,
        "OIDC_RP_CLIENT_SECRET": settings.TIDEWATCH_OIDC_CLIENT_SECRET,
        "OIDC_RP_SCOPES": settings.TIDEWATCH_OIDC_SCOPES,
        "OIDC_RP_SIGN_ALGO": "RS256",
        "OIDC_RP_IDP_SIGN_KEY": None,
        "OIDC_USE_PKCE": True,
        "OIDC_PKCE_CODE_CHALLENGE_METHOD": "S256",
        "OIDC_USE_NONCE": True,
        "OIDC_ALLOW_UNSECURED_JWT": False,
        "OIDC_VERIFY_SSL": True,
        "OIDC_TOKEN_USE_BASIC_AUTH": False,
        "OIDC_TIMEOUT": settings.TIDEWATCH_OIDC_TIMEOUT,
        "OIDC_STORE_ID_TOKEN": settings.TIDEWATCH_OIDC_LOGOUT_AT_PROVIDER,
        "OIDC_STORE_ACCESS_TOKEN": False,
        "OIDC_AUTHENTICATION_CALLBACK_URL": "oidc_authentication_callback",
        "OIDC_CREATE_USER": True,
        "LOGIN_REDIRECT_URL": settings.LOGIN_REDIRECT_URL,
    }
    if attr in values:
        return values[attr]
    return import_from_settings(attr, *default)


def provider_name() -> str:
    """What the button says: TIDEWATCH_OIDC_PROVIDER_NAME, else the issuer's host."""
    if settings.TIDEWATCH_OIDC_PROVIDER_NAME:
        return settings.TIDEWATCH_OIDC_PROVIDER_NAME
    return urlsplit(settings.TIDEWATCH_OIDC_ISSUER).hostname or "single sign-on"


def login_page_context() -> dict[str, object]:
    """The login page's single sign-on part: nothing when OIDC is off."""
    if not settings.TIDEWATCH_OIDC_ISSUER:
        return {}
    try:
        discover()
        error = ""
    except ProviderUnavailable as exc:
        error = str(exc)
    return {"oidc": {"name": provider_name(), "error": error}}


@dataclass(frozen=True)
class Failure:
    """Why a sign-in did not complete: one sentence and the status of the page that says it."""

    message: str
    status: int = 400


class SignInRefused(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def failure_page(request: HttpRequest, failure: Failure) -> HttpResponse:
    return render(
        request,
        "registration/oidc_failed.html",
        {"message": failure.message, "provider": provider_name()},
        status=failure.status,
    )


def _token_error(exc: requests.HTTPError) -> Failure:
    response = exc.response
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = body.get("error", "") if isinstance(body, dict) else ""
    if code == "invalid_client" or response.status_code == 401:
        return Failure(
            f"{provider_name()} refused Tidewatch's client credentials ({code or 'HTTP 401'}): "
            "an administrator must check TIDEWATCH_OIDC_CLIENT_ID and "
            "TIDEWATCH_OIDC_CLIENT_SECRET.",
            502,
        )
    path = urlsplit(response.url).path if response.url else ""
    return Failure(
        f"{provider_name()} answered HTTP {response.status_code}{', ' + code if code else ''}"
        f" at {path or 'its token endpoint'} during sign-in: please sign in again.",
        502,
    )


class OIDCBackend(OIDCAuthenticationBackend):
    """Signs people in from the callback of a flow this site started; every other authenticate()
    call (the local login form) passes through untouched."""

    get_settings = staticmethod(library_setting)

    def __init__(self, *args: object, **kwargs: object) -> None:
        # Django builds a backend for every request with a session (get_user) and every local
        # login: no discovery here, only in authenticate().
        self.UserModel = get_user_model()
        self.OIDC_RP_CLIENT_ID = settings.TIDEWATCH_OIDC_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.TIDEWATCH_OIDC_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = "RS256"
        self.OIDC_RP_IDP_SIGN_KEY = None

    def authenticate(self, request: HttpRequest | None, **kwargs: object):
        # Only CallbackView passes code_verifier: a password POST with ?code=&state= is not ours.
        if request is None or "code_verifier" not in kwargs or not settings.TIDEWATCH_OIDC_ISSUER:
            return None
        try:
            self.provider = discover()
            self.OIDC_OP_TOKEN_ENDPOINT = self.provider.token_endpoint
            self.OIDC_OP_USER_ENDPOINT = self.provider.userinfo_endpoint
            self.OIDC_OP_JWKS_ENDPOINT = self.provider.jwks_uri
            return super().authenticate(request, **kwargs)
        except ProviderUnavailable as exc:
            failure = Failure(str(exc), 502)
        except SignInRefused as exc:
            failure = exc.failure
        except requests.HTTPError as exc:
            failure = _token_error(exc) if exc.response is not None else Failure(str(exc), 502)
        except requests.RequestException as exc:
            failure = Failure(
                f"{provider_name()} could not be reached during sign-in ({type(exc).__name__}): "
                "please try again.",
                502,
            )
        except (SuspiciousOperation, jwt.PyJWTError) as exc:
            failure = Failure(f"The ID token from {provider_name()} was refused: {exc}", 400)
        logger.warning("OIDC sign-in failed: %s", failure.message)
        request.tidewatch_oidc_failure = failure
        return None

    def verify_token(self, token: str, **kwargs: object) -> dict:
        payload = super().verify_token(token, **kwargs)
        # The library checks signature, expiry and nonce; issuer and audience are ours to check.
        if payload.get("iss") != self.provider.issuer:
            raise SuspiciousOperation(f"it was issued by {payload.get('iss')!r}")
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("it was issued for another client")
        return payload

    def get_userinfo(self, access_token: str, id_token: str, payload: dict) -> dict:
        """The ID token's claims, with the userinfo endpoint's on top when there is one (many
        providers put groups only there)."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT:
            userinfo = super().get_userinfo(access_token, id_token, payload)
            if userinfo.get("sub") != payload.get("sub"):
                # Raised as a refusal: the library would swallow a SuspiciousOperation here.
                raise SignInRefused(
                    Failure(f"{provider_name()}'s userinfo answer is for another subject.", 400)
                )
            claims.update(userinfo)
        return claims

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict):
        claims = self.get_userinfo(access_token, id_token, payload)
        name = provider_name()
        username = username_from_claims(claims, settings.TIDEWATCH_OIDC_USERNAME_CLAIM)
        if not username or len(username) > MAX_USERNAME_LENGTH:
            raise SignInRefused(
                Failure(
                    f"{name} sent no usable user name "
                    f"({settings.TIDEWATCH_OIDC_USERNAME_CLAIM}, email or sub).",
                    403,
                )
            )
        claim = settings.TIDEWATCH_OIDC_GROUPS_CLAIM
        roles = roles_for_groups(
            groups_from_claims(claims, claim),
            settings.TIDEWATCH_OIDC_OPERATOR_GROUPS,
            settings.TIDEWATCH_OIDC_VIEWER_GROUPS,
            settings.TIDEWATCH_OIDC_DEFAULT_ROLE,
        )
        user = self.UserModel.objects.filter(username=username).first()
        if user is not None and user.has_usable_password():
            # A local account (it has a password): single sign-on must not take it over.
            raise SignInRefused(
                Failure(
                    f"A Tidewatch account named {username} already exists with a password: "
                    "sign in with the form, or ask an administrator to remove it.",
                    403,
                )
            )
        if user is not None and not user.is_active:
            raise SignInRefused(Failure(f"The Tidewatch account {username} is disabled.", 403))
        if not roles:
            if user is not None:
                set_role_groups(user, roles)  # refused now, and no role left from before
            raise SignInRefused(
                Failure(
                    f"{username} is in none of the {name} groups that give a Tidewatch role "
                    f"(claim {claim!r}): ask an administrator for access.",
                    403,
                )
            )
        email = claims.get("email") if isinstance(claims.get("email"), str) else ""
        with transaction.atomic():
            if user is None:
                user = self.UserModel.objects.create_user(username, email=email)  # no password
            elif email and user.email != email:
                user.email = email
                user.save(update_fields=["email"])
            set_role_groups(user, roles)
        user.tidewatch_kube_groups = groups_from_claims(
            claims, claim, settings.TIDEWATCH_OIDC_MAX_GROUPS
        )
        logger.info("OIDC sign-in: %s as %s", username, " and ".join(sorted(roles)))
        return user


class AuthenticateView(OIDCAuthenticationRequestView):
    """GET /oidc/authenticate?next=…: to the provider's authorization endpoint."""

    get_settings = staticmethod(library_setting)

    def __init__(self, **kwargs: object) -> None:
        View.__init__(self, **kwargs)  # the endpoint comes from discovery, at request time

    def get(self, request: HttpRequest) -> HttpResponse:
        try:
            provider = discover()
        except ProviderUnavailable as exc:
            return failure_page(request, Failure(str(exc), 503))
        self.OIDC_OP_AUTH_ENDPOINT = provider.authorization_endpoint
        self.OIDC_RP_CLIENT_ID = settings.TIDEWATCH_OIDC_CLIENT_ID
        response = super().get(request)
        next_url = request.GET.get("next", "")
        allowed = {request.get_host()}
        request.session["oidc_login_next"] = (
            next_url if next_url and safe_next(next_url, allowed, request.is_secure()) else None
        )
        return response


class CallbackView(OIDCAuthenticationCallbackView):
    """GET /oidc/callback?code=…&state=…: the provider sends the browser back here."""

    get_settings = staticmethod(library_setting)

    def get(self, request: HttpRequest) -> HttpResponse:
        state = request.GET.get("state", "")
        states = request.session.get("oidc_states")
        known = isinstance(states, dict) and state in states
        if request.GET.get("error"):
            if known:
                del states[state]
                request.session.modified = True
            code = request.GET["error"][:100]
            detail = request.GET.get("error_description", "")[:300]
            logger.warning("OIDC sign-in refused by the provider: %s %s", code, detail)
            return failure_page(
                request,
                Failure(
                    f"{provider_name()} did not sign you in "
                    f"({code}{': ' + detail if detail else ''}).",
                    403,
                ),
            )
        if not request.GET.get("code") or not known:
            # Not an answer to a sign-in started in this browser (forged, replayed, or from
            # another tab's session): refused before any request to the provider.
            logger.warning("OIDC callback with an unknown state refused")
            return failure_page(
                request,
                Failure(
                    "This sign-in answer does not belong to a sign-in started in this browser "
                    "(unknown or already used state): please start again.",
                    400,
                ),
            )
        return super().get(request)

    def login_failure(self) -> HttpResponse:
        failure = getattr(self.request, "tidewatch_oidc_failure", None) or Failure(
            "Single sign-on did not complete: please start again.", 400
        )
        if self.request.user.is_authenticated:
            auth.logout(self.request)
        return failure_page(self.request, failure)

    def login_success(self) -> HttpResponse:
        response = super().login_success()
        # After auth.login, which may have started a new session for this user.
        self.request.session[SESSION_GROUPS_KEY] = self.user.tidewatch_kube_groups
        return response


def provider_logout_url(request: HttpRequest, provider: ProviderConfig | None) -> str:
    """Where signing out sends the browser: the provider's end_session_endpoint (RP-initiated
    logout) when configured and advertised, else Tidewatch's login page."""
    login = reverse(settings.LOGOUT_REDIRECT_URL)
    id_token = request.session.get(SESSION_ID_TOKEN_KEY)
    if provider is None or not provider.end_session_endpoint or not id_token:
        return login
    query = urlencode(
        {
            "id_token_hint": id_token,
            "client_id": settings.TIDEWATCH_OIDC_CLIENT_ID,
            "post_logout_redirect_uri": request.build_absolute_uri(login),
        }
    )
    return f"{provider.end_session_endpoint}?{query}"
