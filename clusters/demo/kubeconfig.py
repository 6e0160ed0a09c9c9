"""A kubeconfig pointing at a demo cluster, so every client loads it like any other cluster."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml

PathLike = str | os.PathLike[str]


def _pem_data(path: PathLike) -> str:
    # The *-data fields keep the kubeconfig self-contained, as `kubectl config view --raw` and
    # cloud CLIs write it; the client must then decode it, which is the path worth exercising.
    return base64.b64encode(Path(path).read_bytes()).decode("ascii")


def kubeconfig_dict(
    url: str,
    token: str | None,
    context: str = "demo",
    *,
    ca_cert: PathLike | None = None,
    client_cert: PathLike | None = None,
    client_key: PathLike | None = None,
) -> dict[str, object]:
    """A kubeconfig with one context. ``token=None`` and no client certificate: no credentials."""
    if (client_cert is None) != (client_key is None):
        raise ValueError("client_cert and client_key go together")
    user = f"{context}-user"
    cluster: dict[str, str] = {"server": url}
    if ca_cert is not None:
        cluster["certificate-authority-data"] = _pem_data(ca_cert)
    credentials: dict[str, str] = {}
    if token is not None:
        credentials["token"] = token
    if client_cert is not None and client_key is not None:
        credentials["client-certificate-data"] = _pem_data(client_cert)
        credentials["client-key-data"] = _pem_data(client_key)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
        "current-context": context,
    }


def write_kubeconfig(
    path: PathLike,
    url: str,
    token: str | None,
    context: str = "demo",
    *,
    ca_cert: PathLike | None = None,
    client_cert: PathLike | None = None,
    client_key: PathLike | None = None,
) -> Path:
    """Write (atomically, mode 0600: it holds a token or key) and return the path.

    ``ca_cert`` (a PEM file) goes in as ``certificate-authority-data``; ``client_cert`` and
    ``client_key`` as ``client-certificate-data``/``client-key-data``, with or without a token.
    """
    document = kubeconfig_dict(
        url, token, context, ca_cert=ca_cert, client_cert=client_cert, client_key=client_key
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(document, fh, sort_keys=False)
    os.replace(tmp, target)
    return target
