"""How long ago, in the words every page uses."""

from __future__ import annotations

from datetime import timedelta


def age(delta: timedelta) -> str:
    """ "42s", "5 min", "3 h", "2 days"."""
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
