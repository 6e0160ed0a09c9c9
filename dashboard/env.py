"""Typed helpers for settings read from the environment.

A bad value fails at start-up with ImproperlyConfigured naming the variable, instead of
surfacing later as a confusing runtime error.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"{name} must be set")
        return default
    return value


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {value!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {value!r}") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {number}")
    return number


def env_list(name: str, default: list[str] | None) -> list[str]:
    """A comma-separated list; ``default=None`` makes it required and non-empty."""
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"{name} must be set")
        return default
    items = [item.strip() for item in value.split(",") if item.strip()]
    if default is None and not items:
        raise ImproperlyConfigured(f"{name} must list at least one value")
    return items


def env_secret(name: str, default: str | None = None) -> str:
    """Read NAME, or the file named by NAME_FILE (mounted Kubernetes/Docker secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name!r} cannot be read: {exc}") from None
    return env_str(name, default)


def database_config(url: str, base_dir: Path) -> dict:
    """DATABASE_URL → Django DATABASES['default']; only sqlite and postgres are supported."""
    import dj_database_url

    if not (url.startswith("sqlite:") or url.startswith(("postgres://", "postgresql://"))):
        raise ImproperlyConfigured(
            f"DATABASE_URL must start with sqlite:/// or postgres://, got {url.split(':')[0]!r}"
        )
    try:
        config = dj_database_url.parse(url, conn_max_age=60)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is invalid: {exc}") from None
    if config["ENGINE"].endswith("sqlite3"):
        name = Path(config["NAME"] or "")
        if not name.is_absolute():
            name = base_dir / name
        name.parent.mkdir(parents=True, exist_ok=True)
        config["NAME"] = str(name)
        # Poll writes and page reads overlap; WAL lets readers proceed during a write. With WAL,
        # synchronous=NORMAL syncs at checkpoints instead of every commit: a crash of the
        # process loses nothing, a power cut may lose the last commits (never corrupts), which
        # the next poll writes again — the store is a cache of the clusters.
        # BEGIN IMMEDIATE: a transaction takes the write lock when it starts, waiting up to
        # ``timeout`` for it. A deferred one that read first fails at once with "database is
        # locked" when another connection wrote meanwhile (a watcher's applier and its derive
        # thread write side by side), whatever the timeout.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
        }
        config["CONN_MAX_AGE"] = 0
    return config
