"""A kubeconfig pointing at a demo cluster, so every client loads it like any other cluster."""

from __future__ import annotations

import os
from pathlib import Path

import yaml


def kubeconfig_dict(url: str, token: str, context: str = "demo") -> dict[str, object]:
    user = f"{context}-user"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": context, "cluster": {"server": url}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
        "current-context": context,
    }


def write_kubeconfig(
    path: str | os.PathLike[str], url: str, token: str, context: str = "demo"
) -> Path:
    """Write (atomically, mode 0600: it holds a bearer token) and return the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(kubeconfig_dict(url, token, context), fh, sort_keys=False)
    os.replace(tmp, target)
    return target
