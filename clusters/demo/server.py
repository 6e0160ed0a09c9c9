"""An HTTP server that answers like a kube-apiserver for the resources the dashboard reads.

It exists so the dashboard, the tests and an offline demo can talk to "a cluster" through the real
``kubernetes`` client: discovery, paged lists with continue tokens, watches (chunked, with
bookmarks and 410 Expired), get, create, update with optimistic concurrency, merge/JSON patch,
status subresources, delete with finalizers. Error answers copy the Status bodies of a real API
server (``shared/reference/apiserver/*.json``) because client code branches on ``reason`` and
``code``, and a 404 for an API group that is not installed is the plain-text page, not a Status.

``metadata.managedFields`` is stored and served as written (``DemoCluster.apply`` keeps it exactly;
an HTTP write without it keeps the stored entries, as the field manager does). An HTTP update or
patch of a Flux or Argo CD object that has entries is recorded as the API server records it (the
writer's entry, ``subresource: status`` for status writes, ``clusters.demo.fields.record_write``);
otherwise the demo records no field managers itself: an object nobody gave managedFields has none.

``DemoCluster.set_fault`` makes chosen requests fail (any status with its real Status body,
Retry-After, delays, truncated bodies) or misbehave as a hostile server would (a continue token
that never runs out, a list of new objects for ever, a body dripped a byte at a time, a gzip
body nobody asked for) for reliability tests.

Under ``/argocd-server`` it is also the demo's argocd-server (``clusters.demo.argocd``): the
resource-tree and managed-resources endpoints, with their own Bearer token (``argocd_token``).

``DemoCluster.start(tls=TlsConfig(...))`` serves HTTPS instead, optionally authenticating client
certificates the way the API server's x509 authenticator does (``clusters.demo.tls`` makes a PKI).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import gzip
import http
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
import yaml

from clusters.demo import argocd as argocd_server
from clusters.demo.crds import find_crd, prune, validator
from clusters.demo.discovery import KUBERNETES_VERSION, Discovery, Resource
from clusters.demo.fields import is_gitops, record_write
from clusters.demo.pods import pod_metrics
from clusters.demo.rbac import AUTHENTICATED, allowed
from clusters.demo.store import (
    DEFAULT_HISTORY,
    AlreadyExistsError,
    ConflictError,
    ExpiredError,
    NotFoundError,
    Semantics,
    Store,
    WatchEvent,
    deep_copy,
    timestamp,
)

DEMO_USER = "system:serviceaccount:tidewatch:tidewatch-reader"
DEFAULT_WATCH_TIMEOUT = 30
MAX_WATCH_TIMEOUT = 300
# A real API server sends a bookmark about once a minute; the demo is faster so short test watches
# see one, and always sends one right before a bookmark-enabled watch ends.
DEFAULT_BOOKMARK_INTERVAL = 5.0
PLAIN_404 = b"404 page not found\n"
HEALTH_PATHS = frozenset({"/healthz", "/livez", "/readyz"})
LOG_ENV = "TIDEWATCH_DEMO_LOG"
_FLOWSCHEMA_UID = "f662574d-25ef-4da0-b1b2-eb2ed40bdf2e"
_PRIORITY_LEVEL_UID = "2a3b5e2f-6d1c-4c38-9a4e-7b0c4a1f9d21"


# --- Status bodies -------------------------------------------------------------------------------


def status_body(
    code: int,
    reason: str,
    message: str,
    details: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A metav1.Status failure, keys in the order the API server writes them."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": metadata or {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def _details(resource: Resource | None, name: str | None = None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if name:
        details["name"] = name
    if resource is not None:
        if resource.group:
            details["group"] = resource.group
        details["kind"] = resource.plural
    return details


def unauthorized() -> dict[str, Any]:
    return status_body(401, "Unauthorized", "Unauthorized")


def not_found(resource: Resource, name: str) -> dict[str, Any]:
    return status_body(
        404, "NotFound", f'{resource.qualified} "{name}" not found', _details(resource, name)
    )


def namespace_not_found(namespace: str) -> dict[str, Any]:
    return status_body(
        404,
        "NotFound",
        f'namespaces "{namespace}" not found',
        {"name": namespace, "kind": "namespaces"},
    )


def forbidden(
    resource: Resource | None,
    verb: str,
    namespace: str | None,
    name: str | None,
    path: str,
    user: str = DEMO_USER,
) -> dict[str, Any]:
    if resource is None:
        return status_body(
            403, "Forbidden", f'forbidden: User "{user}" cannot {verb} path "{path}"', {}
        )
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    subject = f'{resource.qualified} "{name}"' if name else resource.qualified
    message = (
        f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource.plural}" '
        f'in API group "{resource.group}" {scope}'
    )
    return status_body(403, "Forbidden", message, _details(resource, name))


def conflict(resource: Resource, name: str) -> dict[str, Any]:
    message = (
        f'Operation cannot be fulfilled on {resource.qualified} "{name}": the object has been '
        "modified; please apply your changes to the latest version and try again"
    )
    return status_body(409, "Conflict", message, _details(resource, name))


def already_exists(resource: Resource, name: str) -> dict[str, Any]:
    return status_body(
        409,
        "AlreadyExists",
        f'{resource.qualified} "{name}" already exists',
        _details(resource, name),
    )


def watch_expired(requested: int, oldest: int) -> dict[str, Any]:
    return status_body(410, "Expired", f"too old resource version: {requested} ({oldest})")


def continue_expired(token: str) -> dict[str, Any]:
    message = (
        "The provided continue parameter is too old to display a consistent list result. You can "
        "start a new list without the continue parameter, or use the continue token in this "
        "response to retrieve the remainder of the results. Continuing with the provided token "
        "results in an inconsistent list - objects that were created, modified, or deleted between "
        "the time the first chunk was returned and now may show up in the list."
    )
    return status_body(410, "Expired", message, metadata={"continue": token})


def bad_request(message: str) -> dict[str, Any]:
    return status_body(400, "BadRequest", message)


def cause(reason: str, message: str, field: str) -> dict[str, str]:
    return {"reason": reason, "message": message, "field": field}


def invalid(resource: Resource, name: str, causes: list[dict[str, str]]) -> dict[str, Any]:
    listed = [f"{c['field']}: {c['message']}" for c in causes]
    summary = listed[0] if len(listed) == 1 else "[" + ", ".join(listed) + "]"
    qualified = f"{resource.kind}.{resource.group}" if resource.group else resource.kind
    details = {**_details(resource, name), "kind": resource.kind, "causes": causes}
    return status_body(422, "Invalid", f'{qualified} "{name}" is invalid: {summary}', details)


def too_many_requests(retry_after: int) -> dict[str, Any]:
    return status_body(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.",
        {"retryAfterSeconds": retry_after},
    )


def internal_error(cause: str) -> dict[str, Any]:
    return status_body(
        500, "InternalError", f"Internal error occurred: {cause}", {"causes": [{"message": cause}]}
    )


def method_not_allowed() -> dict[str, Any]:
    return status_body(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def unsupported_media_type(content_type: str) -> dict[str, Any]:
    return status_body(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
        f' (got "{content_type}")',
    )


# --- request log -----------------------------------------------------------------------------

# The newest write requests a DemoCluster keeps (DemoCluster.writes): enough for a test's actions.
WRITE_LOG_LIMIT = 200


@dataclass(frozen=True)
class WriteRequest:
    """One write as received: what a test compares with what a CLI sends."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: bytes
    impersonation: tuple[tuple[str, str], ...]  # (header, value), one pair per header line

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None

    def header_values(self, name: str) -> list[str]:
        return [value for header, value in self.impersonation if header == name]


# --- faults --------------------------------------------------------------------------------------


@dataclass
class Fault:
    """An injected answer for requests whose path (with query) contains ``match``.

    ``body`` (any JSON) is sent with ``status`` as is; without a body, an error ``status`` gets the
    Status a real API server would send, and 200 means "answer normally" (useful with ``delay``
    or ``truncate``). ``raw_body`` is sent byte for byte instead (a proxy's HTML page, JSON cut
    short with a matching Content-Length). ``hits`` counts the requests it caught, e.g. to see
    how often a client retried. ``hold`` keeps the request waiting until the test sets it (at
    most HOLD_LIMIT seconds): a poll stopped mid-list for exactly as long as a test needs, where
    a ``delay`` would be a guess about how fast the machine is.

    Hostile servers, on the normal answer: ``endless_continue`` gives every page of a list a
    continue token that leads to the same page again; ``endless_list`` answers every page with
    new objects (renamed copies of the listed ones) and a continue token, for ever; ``drip``
    sends the body one byte every ``drip`` seconds (the status line and headers too with
    ``drip_headers``); ``gzip`` compresses the body and says
    ``Content-Encoding: gzip`` whatever the client asked for.
    """

    match: str
    status: int = 200
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    delay: float = 0.0
    truncate: bool = False
    once: bool = False
    hits: int = 0
    raw_body: bytes | None = None
    endless_continue: bool = False
    endless_list: bool = False
    drip: float = 0.0
    drip_headers: bool = False
    gzip: bool = False
    hold: threading.Event | None = None


# A held request gives up after this long, so a test that forgets to release it cannot hang.
HOLD_LIMIT = 600.0


def _renamed_copies(objects: list[dict[str, Any]], count: int, round_: int) -> list[dict[str, Any]]:
    """``count`` objects never listed before (names unique to this ``round_``)."""
    if not objects:
        return []
    copies = []
    for index in range(count):
        source = objects[index % len(objects)]
        metadata = dict(source.get("metadata") or {})
        metadata["name"] = f"{metadata.get('name', 'object')}-endless-{round_}-{index}"
        metadata["uid"] = str(uuid.uuid4())
        copies.append({**source, "metadata": metadata})
    return copies


# --- selectors -----------------------------------------------------------------------------------

_SET_RE = re.compile(r"^([^\s!=(),]+)\s+(in|notin)\s+\(([^()]*)\)$")
_KEY_RE = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_./]*)?[A-Za-z0-9]$")

Requirement = tuple[str, str, frozenset[str]]  # key, operator, values


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text: str | None) -> list[Requirement]:
    """Equality (=, ==, !=), set (in, notin) and existence (key, !key) requirements."""
    if not text:
        return []
    requirements: list[Requirement] = []
    for part in _split_top_level(text):
        if m := _SET_RE.match(part):
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            requirements.append((m.group(1), m.group(2), values))
        elif "!=" in part:
            key, value = (s.strip() for s in part.split("!=", 1))
            requirements.append((key, "!=", frozenset({value})))
        elif "=" in part:
            key, value = (s.strip() for s in part.replace("==", "=", 1).split("=", 1))
            requirements.append((key, "=", frozenset({value})))
        elif part.startswith("!"):
            requirements.append((part[1:].strip(), "!exists", frozenset()))
        else:
            requirements.append((part, "exists", frozenset()))
    for key, _, _ in requirements:
        if not _KEY_RE.match(key):
            raise ValueError(f"unable to parse requirement: invalid label key {key!r}")
    return requirements


def labels_match(labels: dict[str, str], requirements: list[Requirement]) -> bool:
    for key, op, values in requirements:
        present = key in labels
        value = labels.get(key)
        if op == "=" and value not in values:
            return False
        if op in ("!=", "notin") and present and value in values:
            return False
        if op == "in" and value not in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


def parse_field_selector(text: str | None, custom: bool) -> list[tuple[str, bool, str]]:
    """(dotted path, must equal, value); CRDs only support metadata.name and metadata.namespace."""
    if not text:
        return []
    found = []
    for part in _split_top_level(text):
        negate = "!=" in part
        path, value = part.replace("==", "=", 1).replace("!=", "=", 1).split("=", 1)
        path = path.strip()
        if custom and path not in ("metadata.name", "metadata.namespace"):
            raise ValueError(f"field label not supported: {path}")
        found.append((path, not negate, value.strip()))
    return found


def fields_match(obj: dict[str, Any], requirements: list[tuple[str, bool, str]]) -> bool:
    for path, equal, value in requirements:
        current: Any = obj
        for part in path.split("."):
            current = current.get(part) if isinstance(current, dict) else None
        actual = "" if current is None else str(current)
        if (actual == value) != equal:
            return False
    return True


# --- continue tokens -----------------------------------------------------------------------------

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()


def _go_quote_char(ch: str) -> str:
    # Go's encoding/json quotes the offending character with strconv.Quote rules.
    code = ord(ch)
    if 0x20 <= code < 0x7F:
        return f"'{ch}'"
    if code < 0x20 or code == 0x7F:
        return f"'\\x{code:02x}'"
    return f"'\\u{code:04x}'"


def decode_continue(token: str) -> tuple[str, int]:
    """(start key, resourceVersion) or ValueError with the API server's message."""
    prefix = "continue key is not valid"
    bad = _B64URL.fullmatch(token) is None or len(token) % 4 == 1
    if bad:
        position = next(
            (i for i, c in enumerate(token) if not _B64URL.fullmatch(c)), len(token) - 1
        )
        raise ValueError(f"{prefix}: illegal base64 data at input byte {position}")
    try:
        data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{prefix}: illegal base64 data at input byte 0") from exc
    text = data.decode("latin-1")
    try:
        parsed = json.loads(data)
    except ValueError as exc:
        stripped = text.lstrip()
        if not stripped:
            raise ValueError(f"{prefix}: unexpected end of JSON input") from exc
        char = _go_quote_char(stripped[0])
        raise ValueError(
            f"{prefix}: invalid character {char} looking for beginning of value"
        ) from exc
    if not isinstance(parsed, dict):
        raise ValueError(f"{prefix}: json: cannot unmarshal into Go value of type continueToken")
    version = parsed.get("v")
    if version != "meta.k8s.io/v1":
        raise ValueError(f"{prefix}: server does not recognize this encoded version {version}")
    rv, start = parsed.get("rv"), parsed.get("start")
    if not isinstance(rv, int) or rv == 0:
        raise ValueError(
            f"{prefix}: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        )
    if not isinstance(start, str) or not start:
        raise ValueError(f"{prefix}: encoded start key empty (version meta.k8s.io/v1)")
    return start, rv


# --- managedFields -------------------------------------------------------------------------------


def _resets_managed_fields(value: Any) -> bool:
    # ``[{}]`` is the documented way for a client to clear managedFields.
    return isinstance(value, list) and bool(value) and all(entry == {} for entry in value)


def carry_managed_fields(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """``new`` with the managedFields the API server's field manager would keep for it.

    A request without managedFields (or with an empty list) keeps the stored entries, so a client
    that does not know the field never erases the record of who wrote what; ``[{}]`` clears them;
    any other list replaces them.
    """
    meta = dict(new.get("metadata") or {})
    given = meta.get("managedFields")
    stored = (old or {}).get("metadata", {}).get("managedFields")
    if _resets_managed_fields(given) or (not given and not stored):
        meta.pop("managedFields", None)
    elif not given:
        meta["managedFields"] = stored
    return {**new, "metadata": meta}


def record_managed_fields(
    old: dict[str, Any],
    new: dict[str, Any],
    manager: str,
    operation: str,
    subresource: str | None,
    status_subresource: bool,
) -> dict[str, Any]:
    """``new`` with ``manager``'s write recorded in managedFields, on a Flux or Argo CD object.

    As the field manager does when the request leaves managedFields alone (absent, or as read):
    the writer's entry (``subresource: status`` for a status write) gets the fields it changed
    and the time. Built-ins, objects without managedFields and requests that set managedFields
    themselves keep what ``carry_managed_fields`` gives them.
    """
    given = (new.get("metadata") or {}).get("managedFields")
    stored = (old.get("metadata") or {}).get("managedFields")
    if not stored or not is_gitops(old) or (given and given != stored):
        return new
    entries = record_write(
        old,
        new,
        manager,
        timestamp(),
        subresource=subresource,
        status_subresource=status_subresource,
        operation=operation,
    )
    return {**new, "metadata": {**(new.get("metadata") or {}), "managedFields": entries}}


# --- patches -------------------------------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386. Untouched subtrees are shared with ``target`` (stored objects are immutable)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ValueError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _container(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def json_patch(doc: dict[str, Any], operations: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 on a copy of ``doc``."""
    doc = deep_copy(doc)
    try:
        for op in operations:
            kind, parts = op["op"], _pointer(op["path"])
            if not parts:
                raise ValueError("patching the document root is not supported")
            parent, last = _container(doc, parts[:-1]), parts[-1]
            if kind in ("add", "replace", "copy", "move"):
                if kind == "copy":
                    value = deep_copy(_container(doc, _pointer(op["from"])))
                elif kind == "move":
                    source = _pointer(op["from"])
                    holder = _container(doc, source[:-1])
                    value = holder.pop(int(source[-1]) if isinstance(holder, list) else source[-1])
                    parent = _container(doc, parts[:-1])
                else:
                    value = op["value"]
                if isinstance(parent, list):
                    index = len(parent) if last == "-" else int(last)
                    if kind == "replace":
                        parent[index] = value
                    else:
                        parent.insert(index, value)
                else:
                    if kind == "replace" and last not in parent:
                        raise KeyError(last)
                    parent[last] = value
            elif kind == "remove":
                if isinstance(parent, list):
                    parent.pop(int(last))
                else:
                    del parent[last]
            elif kind == "test":
                if _container(doc, parts) != op.get("value"):
                    raise ValueError(f"testing value {op['path']} failed")
            else:
                raise ValueError(f"unexpected kind: {kind}")
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(
            f"the server rejected our request due to an error in our request: {exc}"
        ) from exc
    return doc


# --- request handling ----------------------------------------------------------------------------


class ApiError(ValueError):
    """An API error answer; from the Python object API it reads as a ValueError."""

    def __init__(
        self,
        body: dict[str, Any] | None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(body.get("message") if body else "404 page not found")
        self.body = body  # None: the plain-text 404 page
        self.status = status or (body.get("code", 500) if body else 404)
        self.headers = headers or {}


def plain_not_found() -> ApiError:
    """What the API server's mux answers for a path nothing serves (e.g. a CRD not installed)."""
    return ApiError(None)


class _Answered(Exception):
    """The response was already written (a streamed error or a deliberately broken stream)."""


@dataclass
class Route:
    kind: str  # health, version, api, apis, group, resource_list, resource
    group: str = ""
    version: str = ""
    resource: Resource | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    verb: str = "get"


def _verb(method: str, name: str | None, watch: bool) -> str:
    if method == "GET":
        return ("watch" if watch else "list") if name is None else "get"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(
        method, method.lower()
    )


def _header_text(value: str) -> str:
    """A header as the client wrote it: http.server decodes the bytes as Latin-1, clients send
    UTF-8 (client-go and clusters/impersonation.py)."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def _is_true(value: str | None) -> bool:
    return value in ("1", "true", "True")


@dataclass(frozen=True)
class TlsConfig:
    """Serve HTTPS with ``cert``/``key`` (PEM files).

    With ``client_ca``, clients are asked for a certificate; one signed by that CA authenticates
    the request without a token, as with the kube-apiserver's ``--client-ca-file``. Unlike the
    real server (which answers 401), a certificate that does not verify fails the TLS handshake:
    the ssl module cannot request a certificate without also verifying it.
    """

    cert: str | os.PathLike[str]
    key: str | os.PathLike[str]
    client_ca: str | os.PathLike[str] | None = None

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(Path(self.cert), Path(self.key))
        if self.client_ca is not None:
            context.verify_mode = ssl.CERT_OPTIONAL
            context.load_verify_locations(cafile=Path(self.client_ca))
        return context


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        cluster: DemoCluster,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.cluster = cluster
        self.ssl_context = ssl_context
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        if self.ssl_context is not None:
            # The handshake waits for the handler thread: a client that connects and says
            # nothing must not stall the accept loop.
            conn = self.ssl_context.wrap_socket(
                conn, server_side=True, do_handshake_on_connect=False
            )
        return conn, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A TLS connection cut short (a client that rejected our CA, stop() under a keep-alive
        # read) is routine for a server, not a traceback.
        if self.ssl_context is not None and isinstance(sys.exc_info()[1], ssl.SSLError):
            return
        # A client that gave up on a slow answer (a deadline) resets the connection.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        # Idle keep-alive connections would otherwise pin handler threads after stop().
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client waits for
    # the delayed ACK (~40 ms) on every request. A real API server disables Nagle too.
    disable_nagle_algorithm = True
    server_version = "kube-apiserver-demo"
    sys_version = ""
    server: _Server
    _fault: Fault | None = None  # the fault answering the current request, if any

    # --- plumbing --------------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        if self.server.cluster.log_requests:
            sys.stderr.write(f"demo-cluster {self.address_string()} {format % args}\n")

    def handle(self) -> None:
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                self.close_connection = True
                if self.server.cluster.log_requests:
                    self.log_message("TLS handshake failed: %s", exc)
                return
        super().handle()

    def _client_certificate_user(self) -> str | None:
        """The common name of a verified client certificate: the user the API server sees."""
        if not isinstance(self.connection, ssl.SSLSocket):
            return None
        certificate = self.connection.getpeercert()
        if not certificate:
            return None
        for rdn in certificate.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return str(value)
        return None

    def do_GET(self) -> None:  # noqa: N802 (stdlib naming)
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        self._handle("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle("DELETE")

    def _written(self, method: str, path: str, query: dict[str, str], body: bytes) -> WriteRequest:
        impersonation = tuple(
            (name, value)
            for name in ("Impersonate-User", "Impersonate-Group", "Impersonate-Uid")
            for value in (self.headers.get_all(name) or [])
        )
        return WriteRequest(
            method, path, query, self.headers.get("Content-Type") or "", body, impersonation
        )

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(
        self,
        status: int,
        payload: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        fault = self._fault
        if fault is not None and fault.gzip:
            payload = gzip.compress(payload)
            headers = {**(headers or {}), "Content-Encoding": "gzip"}
        self._start_response(status, content_type)
        if content_type.startswith("text/plain"):
            self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        if fault is not None and fault.drip:
            # Each byte alone keeps every per-read timeout happy; only a deadline ends it.
            if fault.drip_headers:
                payload = b"".join([*self._headers_buffer, b"\r\n", payload])
                self._headers_buffer = []
            else:
                self.end_headers()
            for index in range(len(payload)):
                self.wfile.write(payload[index : index + 1])
                self.wfile.flush()
                time.sleep(fault.drip)
            return
        self.end_headers()
        if self._truncate:
            # Promise the whole body, deliver half, hang up: the client sees a broken read.
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self._hang_up()
            return
        self.wfile.write(payload)

    def _start_response(self, status: int, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Type", content_type)
        if status != 401:  # priority and fairness only classify authenticated requests
            self.send_header("X-Kubernetes-Pf-Flowschema-Uid", _FLOWSCHEMA_UID)
            self.send_header("X-Kubernetes-Pf-Prioritylevel-Uid", _PRIORITY_LEVEL_UID)

    def _hang_up(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_json(
        self, status: int, obj: Any, custom: bool = False, headers: dict[str, str] | None = None
    ) -> None:
        # Custom resources are unstructured on the server, which writes their keys sorted.
        self._send(
            status, orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if custom else 0), headers=headers
        )

    def _send_error(self, error: ApiError) -> None:
        if error.body is None:
            self._send(404, PLAIN_404, "text/plain; charset=utf-8", error.headers)
        else:
            self._send_json(error.status, error.body, headers=error.headers)

    # --- dispatch --------------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        cluster = self.server.cluster
        self._truncate = False
        self._fault = None
        body = self._read_body()
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if method != "GET":
            cluster.record_write(self._written(method, parts.path, query, body))
        try:
            if argocd_server.is_argocd_path(parts.path):
                self._argocd(method, parts.path, query)
                return
            # Authentication comes first, so even a path that does not exist answers 401.
            authorized = (
                self.headers.get("Authorization") == f"Bearer {cluster.token}"
                or self._client_certificate_user() is not None
            )
            if parts.path not in HEALTH_PATHS and not authorized:
                raise ApiError(unauthorized())
            route = self._route(method, parts.path, query)
            self._authorize_impersonated(route, parts.path)
            fault = cluster._take_fault(self.path)
            if fault is not None:
                self._apply_fault(fault, route, parts.path, query)
            self._execute(method, route, query, body)
        except ApiError as error:
            self._send_error(error)
        except _Answered:
            pass
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as exc:  # a bug in the demo must not look like a hung cluster
            if cluster.log_requests:
                import traceback

                traceback.print_exc()
            self._send_json(500, internal_error(f"demo cluster: {type(exc).__name__}: {exc}"))

    def _argocd(self, method: str, path: str, query: dict[str, str]) -> None:
        """The demo's argocd-server (clusters/demo/argocd.py): its own token, its own errors;
        faults apply to it as to the Kubernetes API (match on ``/argocd-server/...``)."""
        cluster = self.server.cluster
        cluster.count_argocd(self.path)
        if self.headers.get("Authorization") != f"Bearer {cluster.argocd_token}":
            message = (
                "no session information"
                if not self.headers.get("Authorization")
                else "invalid session: token signature is invalid"
            )
            body = argocd_server.error_body(argocd_server.UNAUTHENTICATED, message)
            self._send_json(401, body)
            return
        fault = cluster._take_fault(self.path)
        if fault is not None:
            self._apply_fault(fault, Route("argocd"), path, query)
        if method != "GET":
            self._send_json(405, argocd_server.error_body(12, "method not allowed"))
            return
        status, body = argocd_server.answer(path, query, cluster.store_get)
        self._send_json(status, body)

    def _authorize_impersonated(self, route: Route, path: str) -> None:
        """Requests with ``Impersonate-User`` act as that user (clusters/demo/rbac.py); one
        ``Impersonate-Group`` line per group, as the API server reads them."""
        users = self.headers.get_all("Impersonate-User") or []
        groups = [_header_text(v) for v in self.headers.get_all("Impersonate-Group") or []]
        if not users:
            if groups:
                # The real server's words: Go's %#v of the user it was asked to become.
                listed = ", ".join(json.dumps(g) for g in groups)
                info = (
                    f'&user.DefaultInfo{{Name:"", UID:"", Groups:[]string{{{listed}}}, '
                    "Extra:map[string][]string(nil)}"
                )
                raise ApiError(
                    status_body(
                        400, "BadRequest", f"requested {info} without impersonating a user name"
                    )
                )
            return
        user = _header_text(users[0])
        res = route.resource
        resource = ""
        if res is not None:
            resource = res.plural + (f"/{route.subresource}" if route.subresource else "")
        group = res.group if res is not None else ""
        if not allowed(
            user, [*groups, AUTHENTICATED], route.verb, group, resource, route.namespace
        ):
            raise ApiError(forbidden(res, route.verb, route.namespace, route.name, path, user))

    def _apply_fault(self, fault: Fault, route: Route, path: str, query: dict[str, str]) -> None:
        if fault.hold is not None:
            fault.hold.wait(HOLD_LIMIT)
        if fault.delay:
            time.sleep(fault.delay)
        self._truncate = fault.truncate
        self._fault = fault
        if fault.raw_body is not None:
            headers = dict(fault.headers or {})
            content_type = headers.pop("Content-Type", "application/json")
            self._send(fault.status or 200, fault.raw_body, content_type, headers)
            raise _Answered
        if fault.body is None and fault.status in (200, 0):
            return  # only delayed or truncated: the real answer follows
        headers = dict(fault.headers or {})
        if fault.status == 410 and route.verb == "watch" and fault.body is None:
            # A real API server reports an expired watch as HTTP 200 with one ERROR event.
            rv = int(query.get("resourceVersion") or 1)
            self._stream_error(watch_expired(rv, rv + 1))
            raise _Answered
        if fault.status == 429:
            headers.setdefault("Retry-After", "1")
        body = fault.body
        if body is None:
            body = self._fault_body(fault.status, route, path, query)
        raise ApiError(body, fault.status, headers)

    def _fault_body(
        self, status: int, route: Route, path: str, query: dict[str, str]
    ) -> dict[str, Any]:
        res, name = route.resource, route.name
        if status == 400:
            return bad_request("the server rejected our request for an unknown reason")
        if status == 401:
            return unauthorized()
        if status == 403:
            return forbidden(res, route.verb, route.namespace, name, path)
        if status == 404:
            if res is not None and name:
                return not_found(res, name)
            return status_body(
                404, "NotFound", "the server could not find the requested resource", {}
            )
        if status == 409 and res is not None:
            return conflict(res, name or "")
        if status == 410:
            if query.get("continue"):
                return continue_expired(query["continue"])
            return status_body(
                410, "Expired", "The resourceVersion for the provided list is too old."
            )
        if status == 422 and res is not None:
            return invalid(
                res,
                name or "",
                [cause("FieldValueInvalid", "Invalid value: injected fault", "spec")],
            )
        if status == 429:
            return too_many_requests(1)
        if status == 500:
            return internal_error("etcdserver: request timed out")
        if status == 503:
            return status_body(
                503, "ServiceUnavailable", "the server is currently unable to handle the request"
            )
        if status == 504:
            return status_body(
                504,
                "Timeout",
                "Timeout: request did not complete within the allotted timeout",
                {"retryAfterSeconds": 1},
            )
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        return status_body(status, phrase.replace(" ", ""), phrase.lower())

    def _route(self, method: str, path: str, query: dict[str, str]) -> Route:
        discovery = self.server.cluster.discovery
        segments = [s for s in path.split("/") if s]
        if path in HEALTH_PATHS:
            return Route("health")
        if path in ("/version", "/version/"):  # VersionApi asks for the trailing slash
            return Route("version")
        if not segments or segments[0] not in ("api", "apis"):
            raise plain_not_found()
        if segments[0] == "api":
            if len(segments) == 1:
                return Route("api")
            group, version, rest = "", segments[1], segments[2:]
        else:
            if len(segments) == 1:
                return Route("apis")
            if len(segments) == 2:
                return Route("group", group=segments[1])
            group, version, rest = segments[1], segments[2], segments[3:]
        if not discovery.has_group_version(group, version):
            raise plain_not_found()
        if not rest:
            return Route("resource_list", group=group, version=version)
        namespace = None
        namespace_subresource = not group and len(rest) == 3 and rest[2] in ("status", "finalize")
        if rest[0] == "namespaces" and len(rest) >= 3 and not namespace_subresource:
            namespace, rest = rest[1], rest[2:]
        if len(rest) > 3:
            raise plain_not_found()
        resource = discovery.find(group, version, rest[0])
        if resource is None:
            raise plain_not_found()
        name = rest[1] if len(rest) > 1 else None
        if namespace is not None and not resource.namespaced:
            raise plain_not_found()
        if resource.namespaced and name is not None and namespace is None:
            raise plain_not_found()
        return Route(
            "resource",
            group=group,
            version=version,
            resource=resource,
            namespace=namespace,
            name=name,
            subresource=rest[2] if len(rest) > 2 else None,
            verb=_verb(method, name, _is_true(query.get("watch"))),
        )

    def _execute(self, method: str, route: Route, query: dict[str, str], body: bytes) -> None:
        cluster = self.server.cluster
        discovery = cluster.discovery
        if route.kind in ("health",):
            self._send(200, b"ok", "text/plain; charset=utf-8")
            return
        if route.kind != "resource" and method != "GET":
            raise ApiError(method_not_allowed())
        if route.kind == "version":
            self._send_json(200, KUBERNETES_VERSION)
        elif route.kind == "api":
            self._send_json(
                200,
                discovery.api_versions(
                    f"{self.server.server_address[0]}:{self.server.server_port}"
                ),
            )
        elif route.kind == "apis":
            self._send_json(200, discovery.group_list())
        elif route.kind == "group":
            doc = discovery.group(route.group)
            if doc is None:
                raise plain_not_found()
            self._send_json(200, doc)
        elif route.kind == "resource_list":
            self._send_json(200, discovery.resource_list(route.group, route.version))
        else:
            self._resource(method, route, query, body)

    # --- resources -------------------------------------------------------------------------------

    def _resource(self, method: str, route: Route, query: dict[str, str], body: bytes) -> None:
        res = route.resource
        assert res is not None
        if res.metrics:
            self._metrics(method, route, query)
            return
        if route.subresource is not None and (
            route.subresource != "status" or not res.status_subresource
        ):
            # The CRD handler answers a subresource the CRD does not enable as if the object were
            # missing (patch_argocd_application_status_404.json).
            raise ApiError(not_found(res, route.name or ""))
        if method == "GET":
            if route.name is None:
                if _is_true(query.get("watch")):
                    self._watch(route, query)
                else:
                    self._list(route, query)
            else:
                self._send_object(200, res, self._get(route))
        elif method == "POST" and route.name is None:
            self._send_object(201, res, self._create(route, self._json_body(body)))
        elif method == "PUT" and route.name is not None:
            self._send_object(200, res, self._update(route, self._json_body(body)))
        elif method == "PATCH" and route.name is not None:
            status, obj = self._patch(route, query, body)
            self._send_object(status, res, obj)
        elif method == "DELETE" and route.name is not None:
            self._send_object(200, res, self._delete(route))
        else:
            raise ApiError(method_not_allowed())

    def _metrics(self, method: str, route: Route, query: dict[str, str]) -> None:
        """metrics.k8s.io as metrics-server answers it: get and list only (no watch), computed
        from the Pods at each request, no resourceVersion, label selectors on the Pods'."""
        res = route.resource
        assert res is not None
        if method != "GET" or route.subresource is not None or _is_true(query.get("watch")):
            raise ApiError(method_not_allowed())
        cluster = self.server.cluster
        now = datetime.now(UTC)
        if res.kind != "PodMetrics":  # the demo has no Nodes
            if route.name is not None:
                raise ApiError(not_found(res, route.name))
            items: list[dict[str, Any]] = []
        elif route.name is not None:
            pod = cluster.store.get("", "Pod", route.namespace or "", route.name)
            found = pod_metrics(pod, now) if pod is not None else None
            if found is None:
                raise ApiError(not_found(res, route.name))
            self._send_json(200, {"kind": res.kind, "apiVersion": res.api_version, **found})
            return
        else:
            match, _ = self._selectors(res, {"labelSelector": query.get("labelSelector", "")})
            pods = cluster.store.list("", "Pod", route.namespace)[1]
            items = [m for p in pods if match(p) and (m := pod_metrics(p, now)) is not None]
        if not query.get("continue"):
            cluster.count_list(res)
        body = {"kind": f"{res.kind}List", "apiVersion": res.api_version, "metadata": {}}
        self._send_json(200, {**body, "items": items})

    def _send_object(self, status: int, res: Resource, obj: dict[str, Any]) -> None:
        self._send_json(status, self.server.cluster._present(res, obj), custom=res.custom)

    def _json_body(self, body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ApiError(
                bad_request(f"couldn't get version/kind; json parse error: {exc}")
            ) from exc

    def _get(self, route: Route) -> dict[str, Any]:
        res = route.resource
        assert res is not None and route.name is not None
        obj = self.server.cluster.store.get(res.group, res.kind, route.namespace or "", route.name)
        if obj is None:
            raise ApiError(not_found(res, route.name))
        return obj

    def _check_body(self, route: Route, obj: Any) -> dict[str, Any]:
        res = route.resource
        assert res is not None
        if not isinstance(obj, dict):
            raise ApiError(bad_request("the request body must be a JSON object"))
        obj = dict(obj)
        obj.setdefault("apiVersion", res.api_version)
        obj.setdefault("kind", res.kind)
        if obj["apiVersion"] != res.api_version or obj["kind"] != res.kind:
            raise ApiError(
                bad_request(
                    f"the API version in the data ({obj['apiVersion']}) does not match the "
                    f"expected API version ({res.api_version})"
                    if obj["apiVersion"] != res.api_version
                    else f"the kind in the data ({obj['kind']}) does not match {res.kind}"
                )
            )
        meta = dict(obj.get("metadata") or {})
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != route.namespace:
                raise ApiError(
                    bad_request(
                        "the namespace of the provided object does not match the namespace sent "
                        "on the request"
                    )
                )
            meta["namespace"] = route.namespace
        else:
            meta.pop("namespace", None)
        obj["metadata"] = meta
        return obj

    def _create(self, route: Route, body: Any) -> dict[str, Any]:
        cluster = self.server.cluster
        res = route.resource
        assert res is not None
        obj = self._check_body(route, body)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        if not meta.get("name"):
            raise ApiError(
                invalid(
                    res,
                    "",
                    [
                        cause(
                            "FieldValueRequired",
                            "Required value: name or generateName is required",
                            "metadata.name",
                        )
                    ],
                )
            )
        for server_owned in (
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
        ):
            meta.pop(server_owned, None)
        if res.namespaced and cluster.store.get("", "Namespace", "", route.namespace or "") is None:
            raise ApiError(namespace_not_found(route.namespace or ""))
        obj = cluster._admit(res, carry_managed_fields(None, obj))
        try:
            return cluster.store.create(obj, cluster._semantics(res))
        except AlreadyExistsError as exc:
            raise ApiError(already_exists(res, meta["name"])) from exc

    def _update(self, route: Route, body: Any) -> dict[str, Any]:
        res = route.resource
        assert res is not None and route.name is not None
        obj = self._check_body(route, body)
        meta = obj["metadata"]
        if meta.get("name") != route.name:
            raise ApiError(
                bad_request(
                    f"the name of the object ({meta.get('name')}) does not match the name on the "
                    f"URL ({route.name})"
                )
            )
        expect = meta.get("resourceVersion")
        if res.custom and not expect:
            raise ApiError(
                invalid(
                    res,
                    route.name,
                    [
                        cause(
                            "FieldValueInvalid",
                            "Invalid value: 0x0: must be specified for an update",
                            "metadata.resourceVersion",
                        )
                    ],
                )
            )
        return self._write(route, lambda old: obj, expect)

    def _field_manager(self) -> str:
        # As the API server names a writer: ?fieldManager=, else the User-Agent's product token.
        query = dict(parse_qsl(urlsplit(self.path).query))
        agent = (self.headers.get("User-Agent") or "").split("/")[0]
        return query.get("fieldManager") or agent[:128] or "unknown"

    def _write(
        self,
        route: Route,
        change: Callable[[dict[str, Any]], dict[str, Any]],
        expect_rv: str | None = None,
        operation: str = "Update",
    ) -> dict[str, Any]:
        """Read-modify-write honouring the status subresource split and admission."""
        cluster = self.server.cluster
        res = route.resource
        assert res is not None and route.name is not None
        key = (res.group, res.kind, route.namespace or "", route.name)
        status_only = route.subresource == "status"
        manager = self._field_manager()

        def apply(old: dict[str, Any]) -> dict[str, Any]:
            new = change(old)
            if res.status_subresource:
                if status_only:
                    # Writes to /status change status only, whatever else the body says.
                    new = (
                        {**old, "status": new["status"]}
                        if "status" in new
                        else {k: v for k, v in old.items() if k != "status"}
                    )
                else:
                    new = {k: v for k, v in new.items() if k != "status"}
                    if "status" in old:
                        new["status"] = old["status"]
            new = record_managed_fields(
                old, new, manager, operation, route.subresource, res.status_subresource
            )
            return cluster._admit(res, carry_managed_fields(old, new))

        try:
            return cluster.store.update(key, apply, cluster._semantics(res), expect_rv)
        except NotFoundError as exc:
            raise ApiError(not_found(res, route.name)) from exc
        except ConflictError as exc:
            raise ApiError(conflict(res, route.name)) from exc

    def _patch(
        self, route: Route, query: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        res = route.resource
        assert res is not None and route.name is not None
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type == "application/apply-patch+yaml":
            return self._apply_patch(route, query, body)
        if content_type == "application/strategic-merge-patch+json" and res.custom:
            raise ApiError(unsupported_media_type(content_type))
        if content_type not in (
            "application/merge-patch+json",
            "application/json-patch+json",
            "application/strategic-merge-patch+json",
        ):
            raise ApiError(unsupported_media_type(content_type))
        patch = self._json_body(body)

        def change(old: dict[str, Any]) -> dict[str, Any]:
            if content_type == "application/json-patch+json":
                if not isinstance(patch, list):
                    raise ApiError(
                        bad_request(
                            "json: cannot unmarshal object into Go value of type jsonpatch.Patch"
                        )
                    )
                try:
                    new = json_patch(old, patch)
                except ValueError as exc:
                    raise ApiError(status_body(422, "Invalid", str(exc))) from exc
            else:
                # Strategic merge on built-ins is approximated by a merge patch: list merge keys
                # are not honoured (the dashboard only patches annotations).
                if not isinstance(patch, dict):
                    raise ApiError(bad_request("the patch must be a JSON object"))
                new = merge_patch(old, patch)
            rv = (new.get("metadata") or {}).get("resourceVersion")
            if rv and rv != old["metadata"].get("resourceVersion"):
                raise ApiError(conflict(res, route.name or ""))
            meta = new.get("metadata") or {}
            if meta.get("name") != route.name or (meta.get("namespace") or None) != route.namespace:
                raise ApiError(
                    bad_request("metadata.name and metadata.namespace cannot be patched")
                )
            return new

        return 200, self._write(route, change)

    def _apply_patch(
        self, route: Route, query: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        """Server-side apply, approximated as a merge of the applied configuration."""
        res = route.resource
        assert res is not None and route.name is not None
        if not query.get("fieldManager"):
            raise ApiError(
                invalid(
                    res,
                    "",
                    [
                        cause(
                            "FieldValueRequired",
                            "Required value: is required for apply patch",
                            "fieldManager",
                        )
                    ],
                )
            )
        try:
            applied = yaml.safe_load(body)
        except yaml.YAMLError as exc:
            raise ApiError(bad_request(f"error decoding YAML: {exc}")) from exc
        store = self.server.cluster.store
        if store.get(res.group, res.kind, route.namespace or "", route.name) is None:
            applied = self._check_body(route, applied)
            applied["metadata"]["name"] = route.name
            return 201, self._create(route, applied)
        return 200, self._write(route, lambda old: merge_patch(old, applied), operation="Apply")

    def _delete(self, route: Route) -> dict[str, Any]:
        cluster = self.server.cluster
        res = route.resource
        assert res is not None and route.name is not None
        key = (res.group, res.kind, route.namespace or "", route.name)
        try:
            return cluster.store.delete(key, cluster._semantics(res), honour_finalizers=True)
        except NotFoundError as exc:
            raise ApiError(not_found(res, route.name)) from exc

    # --- list ------------------------------------------------------------------------------------

    def _selectors(
        self, res: Resource, query: dict[str, str]
    ) -> tuple[Callable[[dict[str, Any]], bool], bool]:
        try:
            labels = parse_label_selector(query.get("labelSelector"))
            fields = parse_field_selector(query.get("fieldSelector"), res.custom)
        except ValueError as exc:
            raise ApiError(bad_request(str(exc))) from exc

        def match(obj: dict[str, Any]) -> bool:
            meta = obj.get("metadata") or {}
            return labels_match(meta.get("labels") or {}, labels) and fields_match(obj, fields)

        return match, bool(labels or fields)

    def _list(self, route: Route, query: dict[str, str]) -> None:
        cluster = self.server.cluster
        res = route.resource
        assert res is not None
        if not query.get("continue"):
            cluster.count_list(res)
        match, filtered = self._selectors(res, query)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError as exc:
            raise ApiError(bad_request(f"limit: Invalid value: {query['limit']!r}")) from exc
        rv_param = query.get("resourceVersion", "")
        if rv_param and not rv_param.isdigit():
            raise ApiError(bad_request(f"resourceVersion: Invalid value: {rv_param!r}"))
        token = query.get("continue") or ""
        if rv_param == "0" and not token:
            limit = 0  # served from the watch cache, which ignores limit (apiserver/README.md)
        current_rv, items = cluster.store.list(res.group, res.kind, route.namespace)
        list_rv, start = current_rv, None
        if token:
            try:
                start, token_rv = decode_continue(token)
            except ValueError as exc:
                raise ApiError(bad_request(f"invalid continue token: {exc}")) from exc
            if 0 < token_rv < cluster.store.compacted:
                raise ApiError(continue_expired(encode_continue(-1, start)))
            if token_rv > 0:
                list_rv = token_rv

        def key(obj: dict[str, Any]) -> str:
            meta = obj["metadata"]
            if res.namespaced and route.namespace is None:
                return f"{meta.get('namespace', '')}/{meta['name']}"
            return meta["name"]

        selected = [o for o in items if (start is None or key(o) >= start) and match(o)]
        page, rest = (selected[:limit], selected[limit:]) if limit > 0 else (selected, [])
        metadata: dict[str, Any] = {}
        if rest:
            metadata["continue"] = encode_continue(list_rv, key(page[-1]) + "\x00")
            if not filtered:  # the API server cannot count what a selector would keep
                metadata["remainingItemCount"] = len(rest)
        fault = self._fault
        if fault is not None and fault.endless_continue:
            # The same page again, and again: a token that never runs out.
            metadata["continue"] = encode_continue(list_rv, start or (key(page[0]) if page else ""))
            metadata.pop("remainingItemCount", None)
        if fault is not None and fault.endless_list:
            page = _renamed_copies(page or selected or items, max(limit, 1), fault.hits)
            metadata["continue"] = encode_continue(list_rv, start or "\x00")
            metadata.pop("remainingItemCount", None)
        metadata["resourceVersion"] = str(list_rv)
        present = cluster._present
        if res.custom:
            metadata.setdefault("continue", "")
            body: dict[str, Any] = {
                "apiVersion": res.api_version,
                "items": [present(res, o) for o in page],
                "kind": f"{res.kind}List",
                "metadata": metadata,
            }
        else:
            # Typed lists omit apiVersion/kind on their items.
            body = {
                "kind": f"{res.kind}List",
                "apiVersion": res.api_version,
                "metadata": metadata,
                "items": [
                    {k: v for k, v in o.items() if k not in ("apiVersion", "kind")} for o in page
                ],
            }
        self._send_json(200, body, custom=res.custom)

    # --- watch -----------------------------------------------------------------------------------

    def _start_stream(self) -> None:
        self._start_response(200, "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if self._truncate:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data[: len(data) // 2])
            self.wfile.flush()
            self._hang_up()
            raise _Answered
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _event(self, kind: str, obj: dict[str, Any], custom: bool) -> bytes:
        payload = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS if custom else 0)
        return b'{"type":"' + kind.encode() + b'","object":' + payload + b"}\n"

    def _stream_error(self, body: dict[str, Any]) -> None:
        self._start_stream()
        self._chunk(self._event("ERROR", body, False))
        self._end_stream()

    def _watch(self, route: Route, query: dict[str, str]) -> None:
        cluster = self.server.cluster
        store = cluster.store
        res = route.resource
        assert res is not None
        match, _ = self._selectors(res, query)
        try:
            timeout = int(query.get("timeoutSeconds") or 0) or cluster.watch_timeout
        except ValueError as exc:
            raise ApiError(bad_request("timeoutSeconds: Invalid value")) from exc
        timeout = max(1, min(timeout, cluster.max_watch_timeout))
        if not cluster.honour_watch_timeout:
            timeout = cluster.max_watch_timeout  # a server (or proxy) that ignores the client's
        bookmarks = _is_true(query.get("allowWatchBookmarks"))
        rv_param = query.get("resourceVersion", "")
        if rv_param and not rv_param.isdigit():
            raise ApiError(bad_request(f"resourceVersion: Invalid value: {rv_param!r}"))
        initial: list[dict[str, Any]] = []
        if rv_param in ("", "0"):
            last, items = store.list(res.group, res.kind, route.namespace)
            initial = [o for o in items if match(o)]
        else:
            last = int(rv_param)
            try:
                store.events_since(last)
            except ExpiredError as exc:
                self._stream_error(watch_expired(exc.requested, exc.oldest))
                return

        def wanted(event: WatchEvent) -> bool:
            return (
                event.group == res.group
                and event.kind == res.kind
                and (route.namespace is None or event.namespace == route.namespace)
                and match(event.object)
            )

        def bookmark(rv: int) -> bytes:
            obj = {
                "apiVersion": res.api_version,
                "kind": res.kind,
                "metadata": {"resourceVersion": str(rv)},
            }
            return self._event("BOOKMARK", obj, True)

        present = cluster._present
        self._start_stream()
        for obj in initial:
            self._chunk(self._event("ADDED", present(res, obj), res.custom))
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + cluster.bookmark_interval
        while True:
            try:
                events = store.events_since(last)
            except ExpiredError as exc:
                self._chunk(self._event("ERROR", watch_expired(exc.requested, exc.oldest), False))
                break
            for event in events:
                last = event.rv
                if wanted(event):
                    self._chunk(self._event(event.type, present(res, event.object), res.custom))
            now = time.monotonic()
            if store.closed or now >= deadline:
                # A real kube-apiserver ends a timed-out watch with no BOOKMARK of its own (one
                # comes only ~2 s before the end, and only when the kind's cache moved past the
                # watch's start: docs/watch.md): clients must not count on one.
                break
            if bookmarks and now >= next_bookmark:
                self._chunk(bookmark(last))
                next_bookmark = now + cluster.bookmark_interval
            wake = min(deadline, next_bookmark) if bookmarks else deadline
            store.wait_for_change(last, max(0.01, wake - now))
        self._end_stream()


# --- the cluster ---------------------------------------------------------------------------------


class DemoCluster:
    """A Kubernetes API server in a thread, serving Flux and Argo CD objects from memory.

    ``objects=None`` loads the ADR-003 platform scenario (``scenario.build_platform()``); pass a
    list (possibly empty) to serve exactly those. Objects of kinds listed in
    ``kinds_not_installed`` are dropped, as a cluster without those CRDs could not hold them.
    """

    def __init__(
        self,
        objects: Iterable[dict[str, Any]] | None = None,
        token: str = "demo-token",
        *,
        argocd_token: str = "demo-argocd-token",
        kinds_not_installed: Iterable[str] = (),
        history: int = DEFAULT_HISTORY,
        watch_timeout: int = DEFAULT_WATCH_TIMEOUT,
        max_watch_timeout: int = MAX_WATCH_TIMEOUT,
        bookmark_interval: float = DEFAULT_BOOKMARK_INTERVAL,
        log_requests: bool | None = None,
    ) -> None:
        self.token = token
        self.argocd_token = argocd_token  # the demo argocd-server's (clusters/demo/argocd.py)
        # Requests to the demo argocd-server, path and query, oldest first (tests count them).
        self.argocd_requests: list[str] = []
        self._not_installed = set(kinds_not_installed)
        self.discovery = Discovery(not_installed=self._not_installed)
        self.store = Store(history=history)
        self.watch_timeout = watch_timeout
        self.max_watch_timeout = max_watch_timeout
        self.bookmark_interval = bookmark_interval
        # False: watches run for max_watch_timeout whatever timeoutSeconds asks, so a test can
        # see that the client bounds a stream that does not end.
        self.honour_watch_timeout = True
        self.log_requests = (
            _is_true(os.environ.get(LOG_ENV)) if log_requests is None else log_requests
        )
        self._faults: list[Fault] = []
        self._faults_lock = threading.Lock()
        self._writes: deque[WriteRequest] = deque(maxlen=WRITE_LOG_LIMIT)
        # Complete lists asked for (first pages), per "group/plural": what a poll or a resync
        # costs the API server (bench/watch.py counts them).
        self.list_requests: dict[str, int] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url: str | None = None
        if objects is None:
            from clusters.demo.scenario import build_platform

            objects = build_platform()
        for obj in objects:
            if self.discovery.for_object(obj) is not None:
                self.apply(obj)

    def record_write(self, request: WriteRequest) -> None:
        with self._faults_lock:
            self._writes.append(request)

    def writes(self, path_contains: str = "") -> list[WriteRequest]:
        """The write requests received (oldest first, the newest WRITE_LOG_LIMIT), optionally
        only those whose path contains ``path_contains``."""
        with self._faults_lock:
            return [w for w in self._writes if path_contains in w.path]

    def count_argocd(self, target: str) -> None:
        with self._faults_lock:
            self.argocd_requests.append(target)

    def store_get(self, group: str, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A stored object by group and kind (none for kinds the demo does not serve)."""
        obj = self.store.get(group, kind, namespace or "", name)
        return None if obj is None else deep_copy(obj)

    def count_list(self, resource: Resource) -> None:
        key = f"{resource.group}/{resource.plural}"
        with self._faults_lock:
            self.list_requests[key] = self.list_requests.get(key, 0) + 1

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0, tls: TlsConfig | None = None) -> str:
        """Serve on ``host:port`` (0 picks a free port) from a daemon thread; returns the URL.

        With ``tls`` the URL is ``https://``; a bad certificate or key raises here, not later.
        """
        if self._server is not None:
            raise RuntimeError("demo cluster already started")
        context = tls.server_context() if tls is not None else None
        self.store.reopen()
        self._server = _Server((host, port), self, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name=f"demo-cluster-{self._server.server_port}",
            daemon=True,
        )
        self._thread.start()
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://{host}:{self._server.server_port}"
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        with self._faults_lock:
            self._release_held()
        self.store.close()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> DemoCluster:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- object API for tests and the scripted demo ----------------------------------------------

    @property
    def resource_version(self) -> int:
        return self.store.resource_version

    def resolve(self, group: str, plural_or_kind: str) -> Resource:
        resource = self.discovery.resolve(group, plural_or_kind)
        if resource is None:
            raise KeyError(f"{plural_or_kind}.{group} is not served by this demo cluster")
        return resource

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Create or replace ``obj`` (status included), as a controller and the API server would.

        ``metadata.managedFields`` is stored exactly as given (absent stays absent): the scenario
        states what the controllers' writes recorded; the demo records none of its own.
        """
        resource = self.discovery.for_object(obj)
        if resource is None:
            raise KeyError(
                f"{obj.get('apiVersion')} {obj.get('kind')} is not served by this demo cluster"
            )
        stored, _ = self.store.upsert(
            self._admit(resource, deep_copy(obj)), self._semantics(resource)
        )
        return deep_copy(stored)

    def get(
        self, group: str, plural_or_kind: str, namespace: str | None, name: str
    ) -> dict[str, Any] | None:
        res = self.resolve(group, plural_or_kind)
        obj = self.store.get(res.group, res.kind, namespace or "", name)
        return None if obj is None else deep_copy(obj)

    def list(
        self, group: str, plural_or_kind: str, namespace: str | None = None
    ) -> list[dict[str, Any]]:
        res = self.resolve(group, plural_or_kind)
        return deep_copy(self.store.list(res.group, res.kind, namespace)[1])

    def patch(
        self,
        group: str,
        plural_or_kind: str,
        namespace: str | None,
        name: str,
        patch: dict[str, Any],
    ) -> dict[str, Any]:
        """Merge-patch the whole object (status included): the demo plays the controllers."""
        res = self.resolve(group, plural_or_kind)
        key = (res.group, res.kind, namespace or "", name)
        stored = self.store.update(
            key,
            lambda old: self._admit(res, merge_patch(old, deep_copy(patch))),
            self._semantics(res),
        )
        return deep_copy(stored)

    def patch_status(
        self,
        group: str,
        plural_or_kind: str,
        namespace: str | None,
        name: str,
        status: dict[str, Any],
    ) -> dict[str, Any]:
        """Merge ``status`` into the object's status (conditions lists are replaced whole)."""
        return self.patch(group, plural_or_kind, namespace, name, {"status": status})

    def delete(
        self,
        group: str,
        plural_or_kind: str,
        namespace: str | None,
        name: str,
        *,
        honour_finalizers: bool = False,
    ) -> dict[str, Any] | None:
        """Delete an object; returns its last state, or None if it did not exist.

        Finalizers are ignored by default because no controller runs here to remove them; pass
        ``honour_finalizers=True`` to leave the object Terminating, as an HTTP DELETE does.
        """
        res = self.resolve(group, plural_or_kind)
        key = (res.group, res.kind, namespace or "", name)
        try:
            gone = self.store.delete(key, self._semantics(res), honour_finalizers=honour_finalizers)
        except NotFoundError:
            return None
        return deep_copy(gone)

    def uninstall(self, *kinds: str) -> None:
        """Remove CRDs while serving, as ``kubectl delete crd`` does: their objects are deleted
        first (watchers see each DELETED), then the resources leave discovery and their paths
        answer 404. ``kinds`` are API groups or ``group/Kind`` entries, as ``kinds_not_installed``.
        """
        gone = set(kinds)
        for resource in self.discovery.resources:
            if Discovery(resources=[resource], not_installed=gone).resources:
                continue  # not one of those
            for obj in self.store.list(resource.group, resource.kind, None)[1]:
                meta = obj["metadata"]
                self.delete(resource.group, resource.kind, meta.get("namespace"), meta["name"])
        self._not_installed |= gone
        self.discovery = Discovery(not_installed=self._not_installed)

    def install(self, *kinds: str) -> None:
        """Install CRDs while serving (entries as for ``uninstall``): they join discovery, with
        no objects yet."""
        self._not_installed -= set(kinds)
        self.discovery = Discovery(not_installed=self._not_installed)

    def serve_older_versions(self, group: str, kind: str, *versions: str) -> None:
        """Serve ``kind`` at ``versions`` only, as a cluster with an older Flux's CRDs does
        (HelmRelease at v2beta2 and v2beta1). Its stored objects are listed at those versions,
        for reading only: the demo has no schema of the older versions to admit writes."""
        resources = []
        for resource in self.discovery.resources:
            if (resource.group, resource.kind) == (group, kind):
                resources += [dataclasses.replace(resource, version=v) for v in versions]
            else:
                resources.append(resource)
        self.discovery = Discovery(resources=resources)

    def compact(self, rv: int | None = None) -> int:
        """Expire watch history up to ``rv`` (default: now); older watches get 410."""
        return self.store.compact(rv)

    # --- faults ----------------------------------------------------------------------------------

    def set_fault(
        self,
        match: str,
        *,
        status: int = 200,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        truncate: bool = False,
        once: bool = False,
        raw_body: bytes | None = None,
        endless_continue: bool = False,
        endless_list: bool = False,
        drip: float = 0.0,
        drip_headers: bool = False,
        gzip: bool = False,
        hold: threading.Event | None = None,
    ) -> Fault:
        """Answer requests whose path (query included) contains ``match``; first match wins.

        Without ``body``, an error ``status`` gets the Status a real API server sends for it (401,
        403, 404, 409, 410 (an ERROR event on a watch), 422, 429 with ``Retry-After: 1``, 500,
        503, 504 ...) and 200 answers normally after ``delay`` / with the body cut short
        (``truncate``). With ``body``, that JSON is sent with ``status``, e.g. a hand-made list;
        with ``raw_body``, those bytes are (``headers`` may set its Content-Type).
        ``endless_continue``, ``endless_list``, ``drip``, ``drip_headers``, ``gzip``: see Fault.
        With ``hold``, the request waits until that event is set.
        """
        fault = Fault(
            match,
            status,
            body,
            headers,
            delay,
            truncate,
            once,
            raw_body=raw_body,
            endless_continue=endless_continue,
            endless_list=endless_list,
            drip=drip,
            drip_headers=drip_headers,
            gzip=gzip,
            hold=hold,
        )
        with self._faults_lock:
            self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._faults_lock:
            self._release_held()
            self._faults.clear()

    def _release_held(self) -> None:
        for fault in self._faults:
            if fault.hold is not None:
                fault.hold.set()  # a held request must not outlive its fault

    def _take_fault(self, target: str) -> Fault | None:
        with self._faults_lock:
            for fault in self._faults:
                if fault.match in target:
                    fault.hits += 1
                    if fault.once:
                        self._faults.remove(fault)
                    return fault
        return None

    # --- shared helpers --------------------------------------------------------------------------

    def _semantics(self, res: Resource) -> Semantics:
        return Semantics(res.tracks_generation, res.status_subresource)

    def _admit(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        """Prune and validate custom resources against their CRD schema, as admission does."""
        if not res.custom:
            return obj
        crd = find_crd(res.api_version, res.kind)
        assert crd is not None
        obj = prune(obj, crd.schema)
        check = validator(res.api_version, res.kind)
        errors = sorted(check.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path])
        if errors:
            name = (obj.get("metadata") or {}).get("name", "")
            causes = [c for e in errors for c in _causes(e)]
            unique = list({(c["field"], c["reason"]): c for c in causes}.values())
            raise ApiError(invalid(res, name, unique))
        return obj

    def _present(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        if obj.get("apiVersion") == res.api_version:
            return obj
        return {**obj, "apiVersion": res.api_version}


def _field_path(parts: Iterable[Any]) -> str:
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _causes(error: Any) -> list[dict[str, str]]:
    """API server style causes for one jsonschema error (one per missing required field)."""
    path = list(error.absolute_path)
    if error.validator == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        return [
            cause("FieldValueRequired", "Required value", _field_path([*path, field]))
            for field in error.validator_value
            if field not in present
        ]
    field = _field_path(path) or "<nil>"
    value = json.dumps(error.instance)[:200]
    if error.validator == "enum":
        allowed = ", ".join(json.dumps(v) for v in error.validator_value)
        message = f"Unsupported value: {value}: supported values: {allowed}"
        return [cause("FieldValueNotSupported", message, field)]
    if error.validator == "type":
        actual = type(error.instance).__name__
        message = (
            f'Invalid value: "{actual}": {field} in body must be of type '
            f'{error.validator_value}: "{actual}"'
        )
        return [cause("FieldValueTypeInvalid", message, field)]
    return [cause("FieldValueInvalid", f"Invalid value: {value}: {error.message}", field)]
