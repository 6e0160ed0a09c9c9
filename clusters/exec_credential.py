"""kubeconfig ``exec`` plugins (``aws eks get-token``, ``kubelogin`` ...) run with a time limit.

The kubernetes client runs an exec plugin with ``communicate()`` and no timeout, so a plugin
that never exits hangs the poll for ever and outlives it. Tidewatch runs the plugin itself, in
its own process group with stdin closed, reads at most ``MAX_OUTPUT_BYTES`` within the timeout,
and kills the whole group when either is exceeded. The credential it prints replaces ``exec``
in the in-memory kubeconfig the client then loads (never written anywhere), exactly as the
client would have used it; an expiring credential is renewed the same bounded way.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kubernetes import client as k8s
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.dateutil import parse_rfc3339
from kubernetes.config.kube_config import ConfigNode, KubeConfigLoader, KubeConfigMerger

# An ExecCredential is a few kilobytes; more is a plugin gone wrong, not a credential.
MAX_OUTPUT_BYTES = 1024 * 1024


class ExecPluginError(ConfigException):
    """The plugin failed, answered nonsense, or was killed. ``reason`` is stable and short."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Credential:
    token: str = ""
    client_certificate: str = ""  # PEM
    client_key: str = ""  # PEM
    expires: datetime | None = None


def load_kubeconfig(
    path: str, context: str | None, configuration: k8s.Configuration, exec_timeout: float
) -> None:
    """``kubernetes.config.load_kube_config`` with the exec plugin (if the context's user has
    one that the client would run) bounded by ``exec_timeout`` seconds."""
    merged = KubeConfigMerger(path).config
    if merged is None:
        raise ConfigException("Invalid kube-config file. No configuration found.")
    loader = KubeConfigLoader(config_dict=merged, config_base_path=None, active_context=context)
    user_node = _named(merged, "users", _context_field(loader.current_context, "user"))
    user = user_node.value if user_node is not None else None
    plugin: dict[str, Any] | None = None
    if isinstance(user, dict) and isinstance(user.get("exec"), dict):
        plugin = user.pop("exec")
        # The client prefers an auth-provider or a token to exec: then exec never runs.
        if user.get("auth-provider") or user.get("token") or user.get("tokenFile"):
            plugin = None
    if plugin is None or user is None:
        loader.load_and_set(configuration)
        return
    cluster_node = _named(merged, "clusters", _context_field(loader.current_context, "cluster"))
    cluster = cluster_node.value if cluster_node is not None else None
    # The client runs the plugin in the directory of the kubeconfig that names the cluster.
    where = cluster_node.path if cluster_node is not None else user_node.path
    cwd = os.path.dirname(os.path.abspath(where)) if where else None

    def fetch() -> Credential:
        return run_exec_plugin(plugin, cwd=cwd, cluster=cluster, timeout=exec_timeout)

    credential = fetch()
    _put(user, credential)
    loader.load_and_set(configuration)
    if credential.expires is not None:
        configuration.refresh_api_key_hook = _renewer(fetch, credential.expires)


def _renewer(
    fetch: Callable[[], Credential], expires: datetime
) -> Callable[[k8s.Configuration], None]:
    """The client's hook before each request: an expired token is fetched again, bounded."""
    state = {"expires": expires}

    def refresh(configuration: k8s.Configuration) -> None:
        if datetime.now(UTC) < state["expires"]:
            return
        credential = fetch()
        if credential.token:
            configuration.api_key["BearerToken"] = f"Bearer {credential.token}"
        state["expires"] = credential.expires or datetime.max.replace(tzinfo=UTC)

    return refresh


def _put(user: dict[str, Any], credential: Credential) -> None:
    if credential.token:
        user["token"] = credential.token
    else:
        user["client-certificate-data"] = _b64(credential.client_certificate)
        user["client-key-data"] = _b64(credential.client_key)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode("ascii")


def _named(merged: ConfigNode, section: str, name: Any) -> ConfigNode | None:
    for node in merged.value.get(section) or []:
        value = node.value if isinstance(node, ConfigNode) else node
        if isinstance(value, dict) and value.get("name") == name:
            inner = value.get(section[:-1])
            path = node.path if isinstance(node, ConfigNode) else merged.path
            if not isinstance(inner, dict):
                return None
            return ConfigNode(f"{section}[{name}]", inner, path)
    return None


def _context_field(context: Any, field: str) -> Any:
    inner = context.get("context") if isinstance(context, dict) else None
    return inner.get(field) if isinstance(inner, dict) else None


def run_exec_plugin(
    plugin: dict[str, Any],
    *,
    cwd: str | None,
    cluster: dict[str, Any] | None,
    timeout: float,
) -> Credential:
    """Run one exec plugin as kubectl would (non-interactive) and return its credential."""
    command = plugin.get("command")
    api_version = plugin.get("apiVersion")
    if not command or not api_version:
        raise ExecPluginError("ConfigInvalid", "exec: the plugin needs command and apiVersion")
    args = [str(command), *(str(a) for a in plugin.get("args") or [])]
    env = os.environ.copy()
    for item in plugin.get("env") or []:
        if isinstance(item, dict) and "name" in item:
            env[str(item["name"])] = str(item.get("value", ""))
    spec: dict[str, Any] = {"interactive": False}
    if plugin.get("provideClusterInfo") and cluster is not None:
        spec["cluster"] = dict(cluster)
        for extension in cluster.get("extensions") or []:
            if isinstance(extension, dict) and extension.get("name") == (
                "client.authentication.k8s.io/exec"
            ):
                spec["cluster"]["config"] = extension.get("extension")
                break
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": api_version, "kind": "ExecCredential", "spec": spec}
    )
    name = os.path.basename(args[0])
    code, stdout, stderr = run_bounded(args, env=env, cwd=cwd, timeout=timeout, name=name)
    if code != 0:
        detail = " ".join(stderr.decode("utf-8", "replace").split())[:300]
        said = f": {detail}" if detail else ""
        raise ExecPluginError("ExecFailed", f"exec plugin {name} exited with {code}{said}")
    return _parse_credential(stdout, api_version, name)


def _parse_credential(stdout: bytes, api_version: str, name: str) -> Credential:
    # Never quote the output: it is a credential.
    try:
        data = json.loads(stdout)
    except ValueError:
        raise ExecPluginError(
            "ExecFailed", f"exec plugin {name} printed something that is not JSON"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("status"), dict):
        raise ExecPluginError("ExecFailed", f"exec plugin {name} printed no ExecCredential status")
    if data.get("apiVersion") != api_version:
        raise ExecPluginError(
            "ExecFailed", f"exec plugin {name} answered another apiVersion than {api_version}"
        )
    status = data["status"]
    expires = None
    if status.get("expirationTimestamp"):
        try:
            expires = parse_rfc3339(status["expirationTimestamp"])
        except (ValueError, TypeError):
            raise ExecPluginError(
                "ExecFailed", f"exec plugin {name} gave an unreadable expirationTimestamp"
            ) from None
    if status.get("token"):
        return Credential(token=str(status["token"]), expires=expires)
    if status.get("clientCertificateData") and status.get("clientKeyData"):
        return Credential(
            client_certificate=str(status["clientCertificateData"]),
            client_key=str(status["clientKeyData"]),
            expires=expires,
        )
    raise ExecPluginError(
        "ExecFailed", f"exec plugin {name} gave neither a token nor a client certificate and key"
    )


def run_bounded(
    args: list[str],
    *,
    env: dict[str, str],
    cwd: str | None,
    timeout: float,
    name: str,
    max_output: int = MAX_OUTPUT_BYTES,
) -> tuple[int, bytes, bytes]:
    """Run ``args`` to completion within ``timeout`` seconds and ``max_output`` bytes of output,
    or kill its whole process group and raise ExecPluginError."""
    try:
        process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            start_new_session=True,  # its own process group: children are killed with it
        )
    except OSError as exc:
        raise ExecPluginError(
            "ExecFailed", f"exec plugin {name} cannot be started: {exc}"
        ) from None
    deadline = time.monotonic() + timeout
    output = {process.stdout: bytearray(), process.stderr: bytearray()}
    try:
        with selectors.DefaultSelector() as selector:
            for stream in output:
                selector.register(stream, selectors.EVENT_READ)
            while selector.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _timed_out(name, timeout)
                for key, _ in selector.select(remaining):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                        continue
                    output[key.fileobj] += chunk
                    if sum(len(b) for b in output.values()) > max_output:
                        raise ExecPluginError(
                            "ExecFailed",
                            f"exec plugin {name} printed more than {max_output} bytes; killed",
                        )
        try:
            code = process.wait(max(deadline - time.monotonic(), 0.0))
        except subprocess.TimeoutExpired:
            raise _timed_out(name, timeout) from None
    except BaseException:
        _kill(process)
        raise
    finally:
        for stream in output:
            stream.close()
    return code, bytes(output[process.stdout]), bytes(output[process.stderr])


def _timed_out(name: str, timeout: float) -> ExecPluginError:
    return ExecPluginError(
        "ExecTimeout",
        f"exec plugin {name} did not finish within {timeout:g}s (TIDEWATCH_EXEC_TIMEOUT); killed",
    )


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        process.kill()
    process.wait()
