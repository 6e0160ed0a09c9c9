"""The floor: the list requests one poll makes, fetched with plain http.client and parsed with
orjson, nothing else. No kubernetes client, no normalizing, no database.

A poll cannot be faster than this on the same server, so the targets are ratios to it.
Discovery is done once, untimed, with the poller's own ``discover`` so both fetch exactly the
same paths (same served versions, same Event field selectors).
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import orjson

from clusters.collect.core import (
    CONTROLLER_NAMESPACES,
    EVENTS,
    MONITOR_KINDS,
    NAMESPACES,
    WORKLOAD_KINDS,
)
from clusters.collect.discovery import discover
from clusters.collect.kinds import KindSpec, ServedKind
from clusters.collect.snapshot import GITOPS_KINDS
from clusters.kube import ClusterSpec, build_api_client


@dataclass
class FloorResult:
    seconds: float
    requests: int
    bytes: int
    items: int


@dataclass(frozen=True)
class ListCall:
    path: str
    params: tuple[tuple[str, str], ...] = ()


def served_kinds(kubeconfig: str, context: str = "demo") -> dict[KindSpec, ServedKind]:
    """What the poller's discovery finds on this server (untimed set-up for the floor)."""
    api = build_api_client(ClusterSpec(name="floor", kubeconfig=kubeconfig, context=context))
    try:
        wanted = (*GITOPS_KINDS, NAMESPACES, *WORKLOAD_KINDS, *MONITOR_KINDS, EVENTS)
        served, _ = discover(api, wanted)
    finally:
        api.close()
    return served


class Lister:
    """One keep-alive connection, as urllib3's pool gives the kubernetes client."""

    def __init__(self, url: str, token: str, page_size: int = 500) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self.page_size = page_size
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.requests = 0
        self.bytes = 0

    def close(self) -> None:
        self.connection.close()

    def list_all(self, call: ListCall) -> int:
        """Every page of one list; returns the number of items."""
        return sum(len(page.get("items") or []) for _, page in self.pages(call))

    def pages(self, call: ListCall) -> Iterator[tuple[bytes, dict[str, Any]]]:
        """Every page of one list, in order: its body as sent, and parsed."""
        token = ""
        while True:
            query = [*call.params, ("limit", str(self.page_size))]
            if token:
                query.append(("continue", token))
            self.connection.request("GET", f"{call.path}?{urlencode(query)}", headers=self.headers)
            response = self.connection.getresponse()
            body = response.read()
            self.requests += 1
            self.bytes += len(body)
            if response.status != 200:
                raise RuntimeError(f"{call.path}: HTTP {response.status}: {body[:200]!r}")
            page = orjson.loads(body)
            yield body, page
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return


def measure_floor(
    url: str, token: str, served: dict[KindSpec, ServedKind], page_size: int = 500
) -> FloorResult:
    """Fetch and parse what ``collect_cluster`` fetches, in the same order."""
    lister = Lister(url, token, page_size)
    started = time.perf_counter()
    total = 0
    try:
        kinds_with_items = []
        for spec in GITOPS_KINDS:
            if spec in served:
                found = lister.list_all(ListCall(served[spec].list_path()))
                total += found
                if found:
                    kinds_with_items.append(spec.kind)
        total += lister.list_all(ListCall(served[NAMESPACES].list_path()))
        for spec in WORKLOAD_KINDS:
            for namespace in CONTROLLER_NAMESPACES:
                total += lister.list_all(ListCall(served[spec].list_path(namespace)))
        for spec in MONITOR_KINDS:
            if spec in served:
                total += lister.list_all(ListCall(served[spec].list_path()))
        for kind in kinds_with_items:
            selector = (("fieldSelector", f"involvedObject.kind={kind}"),)
            total += lister.list_all(ListCall(served[EVENTS].list_path(), selector))
    finally:
        lister.close()
    return FloorResult(time.perf_counter() - started, lister.requests, lister.bytes, total)
