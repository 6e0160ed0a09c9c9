"""Which cluster and which poll a log record belongs to, without passing them to every call.

``poll_cluster`` is wrapped in :func:`poll_logging` (sets the cluster, scopes everything to that
call) and calls :func:`bind_poll` once its PollRun exists. :class:`LogContextFilter`, installed on
the console handler by ``settings.LOGGING``, copies both onto every record logged meanwhile — by
Tidewatch, the kubernetes client or Celery — so the JSON log format (``TIDEWATCH_LOG_FORMAT=json``)
can say ``"cluster": "prod", "poll_id": 4711`` on each line. Values passed with ``extra=`` win.

Context variables, not thread-locals: each thread (the demo poller, gunicorn threads) and each
Celery task sees only its own poll.
"""

from __future__ import annotations

import contextvars
import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

_cluster: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tidewatch_cluster", default=None
)
_poll_id: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "tidewatch_poll_id", default=None
)

P = ParamSpec("P")
R = TypeVar("R")


def bind_cluster(name: str | None) -> None:
    _cluster.set(name)


def bind_poll(poll_id: int | None) -> None:
    """Name the PollRun of the poll running in this context."""
    _poll_id.set(poll_id)


def current() -> dict[str, Any]:
    """The bound values, only those set."""
    values = {"cluster": _cluster.get(), "poll_id": _poll_id.get()}
    return {key: value for key, value in values.items() if value is not None}


@contextmanager
def log_context(cluster: str | None = None, poll_id: int | None = None) -> Iterator[None]:
    """Bind ``cluster`` and ``poll_id`` for the ``with`` block, then restore what was there."""
    tokens = (_cluster.set(cluster), _poll_id.set(poll_id))
    try:
        yield
    finally:
        _poll_id.reset(tokens[1])
        _cluster.reset(tokens[0])


def poll_logging(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate ``poll_cluster(cluster, ...)``: log records inside it name ``cluster.name``.

    The call runs in a copy of the current context, so whatever it binds (``bind_poll``) is gone
    when it returns and cannot leak into the next log line of the caller's thread.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        cluster = args[0] if args else kwargs.get("cluster")
        name = getattr(cluster, "name", None)

        def run() -> R:
            _cluster.set(name)
            _poll_id.set(None)
            return func(*args, **kwargs)

        return contextvars.copy_context().run(run)

    return wrapper


class LogContextFilter(logging.Filter):
    """Adds ``cluster`` and ``poll_id`` attributes to every record (``None`` outside a poll)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "cluster", None) is None:
            record.cluster = _cluster.get()
        if getattr(record, "poll_id", None) is None:
            record.poll_id = _poll_id.get()
        return True
