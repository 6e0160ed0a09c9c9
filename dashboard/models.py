"""Access for automation: read-only API tokens (``python manage.py create_api_token NAME``)."""

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


class ApiToken(models.Model):
    """A bearer token for ``/api/`` (GET only) and ``/metrics``.

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

    class Meta:
        ordering = ["name"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.token_prefix}…)"

    @classmethod
    def issue(cls, name: str) -> tuple[ApiToken, str]:
        """Create a token named ``name``; returns the row and the token (shown once)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = cls.objects.create(
            name=name, token_hash=hash_token(token), token_prefix=token[: len(TOKEN_PREFIX) + 5]
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
