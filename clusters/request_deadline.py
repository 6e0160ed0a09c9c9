"""An overall deadline for one HTTP request, whatever the server sends.

urllib3's read timeout applies to each socket read, so a server that sends one byte every few
seconds (headers or body) keeps a request alive for ever. ``request_deadline`` starts a timer;
when it fires it shuts down the socket of every connection the request used, which makes the
blocked read return at once. The connections register themselves because the pools of the API
client build them from the classes ``install`` sets (plain urllib3 subclasses, no patching).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import pool_classes_by_scheme as _DEFAULT_POOLS

_current = threading.local()


class Guard:
    """One request's deadline: ``expired`` once the timer fired (the sockets are then shut)."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._connections: list[HTTPConnection] = []
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True

    def attach(self, connection: HTTPConnection) -> None:
        with self._lock:
            if self.expired:
                # A retry after the deadline: refuse it before it connects or sends.
                raise TimeoutError("request deadline passed")
            self._connections.append(connection)

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            connections = list(self._connections)
        for connection in connections:
            _shut(connection)


def _shut(connection: HTTPConnection) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def request_deadline(seconds: float) -> Iterator[Guard]:
    """Bound everything done inside the block on this thread's connections to ``seconds``."""
    guard = Guard(seconds)
    previous = getattr(_current, "guard", None)
    _current.guard = guard
    guard._timer.start()
    try:
        yield guard
    finally:
        guard._timer.cancel()
        _current.guard = previous


def _register(connection: HTTPConnection) -> None:
    guard = getattr(_current, "guard", None)
    if guard is not None:
        guard.attach(connection)


class _GuardedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        _register(self)
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self)  # a kept-alive connection is reused without connect()
        super().request(*args, **kwargs)


class _GuardedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        _register(self)  # before the TLS handshake: it can be dripped too
        super().connect()

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(self)
        super().request(*args, **kwargs)


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


def install(pool_manager: urllib3.PoolManager) -> bool:
    """Make the pool manager's connections obey ``request_deadline``. A SOCKS proxy manager has
    pools of its own and is left alone (its requests keep the per-read timeouts only)."""
    if pool_manager.pool_classes_by_scheme is not _DEFAULT_POOLS:
        return False
    pool_manager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
    return True
