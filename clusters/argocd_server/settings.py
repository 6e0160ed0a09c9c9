"""The optional ``argocd:`` block of a clusters.yaml entry::

    argocd:
      url: https://argocd.example.mil          # argocd-server (with its --rootpath, if any)
      tokenFile: /var/run/secrets/argocd/token # or tokenEnv: ARGOCD_TOKEN (exactly one)
      caFile: /etc/tidewatch/argocd-ca.pem      # optional CA bundle for the server's certificate
      timeoutSeconds: 10                        # optional, per request (connect and read)

Only where the token is kept is stored (the file's path or the variable's name), never the
token: it is read when a request is made, so a rotated token is picked up without a restart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

KEYS = {"url", "tokenFile", "tokenEnv", "caFile", "timeoutSeconds"}
MAX_TIMEOUT = 300
MAX_TEXT = 500  # as long as a stored kubeconfig path may be
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ArgoConfigError(ValueError):
    """The block cannot be used; the message says why in one sentence."""


@dataclass(frozen=True)
class ArgoServer:
    url: str
    token_file: str = ""
    token_env: str = ""
    ca_file: str = ""
    timeout: float | None = None  # None: TIDEWATCH_ARGOCD_TIMEOUT

    def as_dict(self) -> dict[str, Any]:
        """What the Cluster row keeps (Cluster.argocd): where the token is, never the token."""
        data: dict[str, Any] = {"url": self.url}
        if self.token_file:
            data["tokenFile"] = self.token_file
        if self.token_env:
            data["tokenEnv"] = self.token_env
        if self.ca_file:
            data["caFile"] = self.ca_file
        if self.timeout is not None:
            data["timeoutSeconds"] = self.timeout
        return data


def parse_argocd(raw: Any, base: Path) -> ArgoServer:
    """Validate the block; relative file paths are relative to clusters.yaml (``base``)."""
    if not isinstance(raw, dict):
        raise ArgoConfigError("argocd must be a mapping with url and tokenFile or tokenEnv")
    unknown = sorted(str(key) for key in set(raw) - KEYS)
    if unknown:
        raise ArgoConfigError(f"argocd: unknown keys {', '.join(unknown)}"[:300])
    texts: dict[str, str] = {}
    for key in ("url", "tokenFile", "tokenEnv", "caFile"):
        value = raw.get(key)
        if value is None:
            texts[key] = ""
            continue
        if not isinstance(value, str) or not value.strip():
            raise ArgoConfigError(f"argocd.{key} must be a non-empty string")
        if "\x00" in value or len(value) > MAX_TEXT:
            raise ArgoConfigError(f"argocd.{key} must be at most {MAX_TEXT} characters, no NUL")
        texts[key] = value.strip()
    url = texts["url"].rstrip("/")
    if not url:
        raise ArgoConfigError("argocd.url is required (the argocd-server address)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ArgoConfigError(f"argocd.url must be an http:// or https:// address, got {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ArgoConfigError("argocd.url must have no query, fragment or credentials")
    if bool(texts["tokenFile"]) == bool(texts["tokenEnv"]):
        raise ArgoConfigError(
            "argocd needs exactly one of tokenFile (a file holding the token) or tokenEnv "
            "(the name of an environment variable holding it)"
        )
    if texts["tokenEnv"] and not ENV_NAME_RE.match(texts["tokenEnv"]):
        raise ArgoConfigError("argocd.tokenEnv must be an environment variable name")
    timeout = raw.get("timeoutSeconds")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 < timeout <= MAX_TIMEOUT
    ):
        raise ArgoConfigError(
            f"argocd.timeoutSeconds must be a number of seconds above 0 and at most "
            f"{MAX_TIMEOUT}, got {str(timeout)[:40]!r}"
        )
    return ArgoServer(
        url=url,
        token_file=_path(texts["tokenFile"], base),
        token_env=texts["tokenEnv"],
        ca_file=_path(texts["caFile"], base),
        timeout=float(timeout) if timeout is not None else None,
    )


def _path(value: str, base: Path) -> str:
    if not value:
        return ""
    expanded = Path(value).expanduser()
    return str(expanded if expanded.is_absolute() else base / expanded)


def server_of(stored: Any) -> ArgoServer | None:
    """The ArgoServer a Cluster row keeps (Cluster.argocd), or None when none is configured."""
    if not isinstance(stored, dict) or not stored.get("url"):
        return None
    timeout = stored.get("timeoutSeconds")
    return ArgoServer(
        url=str(stored["url"]),
        token_file=str(stored.get("tokenFile") or ""),
        token_env=str(stored.get("tokenEnv") or ""),
        ca_file=str(stored.get("caFile") or ""),
        timeout=float(timeout) if isinstance(timeout, (int, float)) else None,
    )
