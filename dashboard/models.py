"""Access for automation: API tokens (``python manage.py create_api_token NAME [--scope operate]``),
and the audit trail of actions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import models
from django.utils import timezone

TOKEN_PREFIX = "tw_"
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


READ = "read"
OPERATE = "operate"
SCOPES = [(READ, "read"), (OPERATE, "operate")]


class ApiToken(models.Model):
    """A bearer token for ``/api/`` and ``/metrics``: GET only, unless its scope is ``operate``,
    which may also POST actions (when TIDEWATCH_ACTIONS is on).

    Only the SHA-256 of the token is stored: the token itself is shown once, when it is made, and
    cannot be recovered. Deleting the row revokes it. Tokens are random (256 bits), so a plain
    hash is enough; no salt or slow hash is needed as it would be for a password.
    """

    name = models.CharField(max_length=100, unique=True)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The first characters, to tell tokens apart in the admin; not enough to use one.
    token_prefix = models.CharField(max_length=12, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    scope = models.CharField(max_length=10, choices=SCOPES, default=READ)

    class Meta:
        ordering = ["name"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.token_prefix}…)"

    @classmethod
    def issue(cls, name: str, scope: str = READ) -> tuple[ApiToken, str]:
        """Create a token named ``name``; returns the row and the token (shown once)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(
            name=name,
            token_hash=hash_token(token),
            token_prefix=token[: len(TOKEN_PREFIX) + 5],
            scope=scope,
        )
        return row, token

    @classmethod
    def authenticate(cls, token: str) -> ApiToken | None:
        """The token row for ``token``, or None; records the use (at most once a minute)."""
        if not token:
            return None
        row = cls.objects.filter(token_hash=hash_token(token)).first()
        if row is None:
            return None
        now = timezone.now()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            cls.objects.filter(pk=row.pk).update(last_used_at=now)
            row.last_used_at = now
        return row


class ActionAttempt(models.Model):
    """One attempt at an action, whatever came of it: the audit trail (``GET /api/v1/audit``)."""

    ALLOWED = "allowed"
    DENIED_BY_TIDEWATCH = "denied-by-tidewatch"
    DENIED_BY_KUBERNETES = "denied-by-kubernetes"
    FAILED = "failed"
    OUTCOMES = [
        (ALLOWED, "allowed"),
        (DENIED_BY_TIDEWATCH, "denied by Tidewatch"),
        (DENIED_BY_KUBERNETES, "denied by Kubernetes"),
        (FAILED, "failed"),
    ]

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # Names, not foreign keys: the record outlives users, tokens and clusters.
    user = models.CharField(max_length=200)  # username, or "token:<name>" for an API token
    cluster = models.CharField(max_length=100)
    kind = models.CharField(max_length=100)
    namespace = models.CharField(max_length=253)
    name = models.CharField(max_length=253)
    action = models.CharField(max_length=50)
    params = models.JSONField(default=dict, blank=True)
    # The writes sent (method, path, contentType, body); empty when nothing was sent.
    patch = models.JSONField(default=list, blank=True)
    mode = models.CharField(max_length=20)  # TIDEWATCH_ACTIONS at the time
    outcome = models.CharField(max_length=30, choices=OUTCOMES)
    status = models.PositiveSmallIntegerField(null=True, blank=True)  # the cluster's HTTP status
    message = models.TextField(blank=True)
    event_error = models.TextField(blank=True)  # why the Kubernetes Event was not written

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["cluster", "kind", "namespace", "name"])]

    def __str__(self) -> str:
        return f"{self.user} {self.action} {self.kind} {self.namespace}/{self.name}: {self.outcome}"
