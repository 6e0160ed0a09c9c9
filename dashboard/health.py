"""Readiness checks behind /readyz: each says whether it passed and, if not, why.

- ``database``: a trivial query answers.
- ``broker``: Redis answers PING — only when this installation polls through Celery
  (TIDEWATCH_USE_CELERY, on when REDIS_URL is set); `make demo` has no broker.
- ``polls``: every enabled cluster is kept current. A polled cluster finished a poll
  (successful or not) within TIDEWATCH_READY_POLL_INTERVALS × its interval. A watched cluster
  (``sync_mode`` "watch") is judged by its watcher's heartbeat instead, which moves every
  min(interval, 10) s while the watcher lives, even when every kind fails: late after
  TIDEWATCH_READY_POLL_INTERVALS heartbeats plus one lease (a dead worker's cluster is taken
  over within it). A cluster that is down still gets polled or watched and its failure
  recorded; what this catches is a poller or watcher (worker, beat) that stopped.

/readyz is open (probes have no session), so without a login or API token it says only which
checks passed: the details name database and broker hosts, ports and clusters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from clusters.models import Cluster

CHECKS = ("database", "broker", "polls")


@dataclass
class Check:
    ok: bool
    detail: str = ""
    skipped: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, detailed: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok}
        if self.skipped:
            data["skipped"] = True
        if not detailed:
            return data
        if self.detail:
            data["detail" if self.ok else "error"] = self.detail
        data.update(self.extra)
        return data


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return Check(False, f"database not reachable: {type(exc).__name__}: {exc}".strip())
    return Check(True, connection.vendor)


def check_broker() -> Check:
    if not settings.TIDEWATCH_USE_CELERY:
        return Check(True, "no broker configured (TIDEWATCH_USE_CELERY is off)", skipped=True)
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        # The URL may carry a password: name only host and port.
        where = client.connection_pool.connection_kwargs
        target = f"{where.get('host', '?')}:{where.get('port', '?')}"
        return Check(False, f"broker (Redis at {target}) not reachable: {exc}")
    finally:
        client.close()
    return Check(True, "Redis answers")


def heartbeat_seconds(poll_interval: int) -> int:
    """How often a live watcher moves its cluster's last poll time (clusters/sync.py)."""
    return min(poll_interval, 10)


def lateness(
    name: str,
    interval: int,
    sync_mode: str,
    finished: datetime | None,
    started: datetime | None,
    now: datetime,
    *,
    factor: int,
    lease_seconds: int,
) -> str:
    """Why the cluster is late ("" when it is not): pure, so each mode is tested by a table."""
    last = max((t for t in (finished, started) if t is not None), default=None)
    if last is None:
        return f"{name}: never polled"
    age = (now - last).total_seconds()
    if sync_mode == Cluster.WATCH:
        # The heartbeat, or the start of a watcher that has not listed everything yet.
        beat = heartbeat_seconds(interval)
        if age > factor * beat + lease_seconds:
            return (
                f"{name}: watched, but no watch heartbeat for {age:.0f}s, more than "
                f"{factor} × {beat}s + a {lease_seconds}s lease"
            )
        return ""
    if finished is not None:
        age = (now - finished).total_seconds()
    if age > factor * interval:
        return (
            f"{name}: last poll {'finished' if finished else 'started'} {age:.0f}s ago, "
            f"more than {factor} × {interval}s"
        )
    return ""


def check_polls(now: datetime | None = None) -> Check:
    """Late = a polled cluster's last finished poll (or, never polled, the start of the first)
    is older than TIDEWATCH_READY_POLL_INTERVALS intervals; a watched cluster's heartbeat is
    older than as many heartbeats plus one lease."""
    now = now or timezone.now()
    factor = settings.TIDEWATCH_READY_POLL_INTERVALS
    clusters = Cluster.objects.filter(enabled=True).values_list(
        "name", "poll_interval", "sync_mode", "last_poll_finished_at", "last_poll_started_at"
    )
    count = 0
    late: list[str] = []
    for name, interval, sync_mode, finished, started in clusters:
        count += 1
        why = lateness(
            name,
            interval,
            # A cluster last watched in an installation that polls now (TIDEWATCH_SYNC_MODE).
            sync_mode if settings.TIDEWATCH_SYNC_MODE == "watch" else Cluster.POLL,
            finished,
            started,
            now,
            factor=factor,
            lease_seconds=settings.TIDEWATCH_WATCH_LEASE_SECONDS,
        )
        if why:
            late.append(why)
    if late:
        return Check(False, "; ".join(late), extra={"late": len(late), "clusters": count})
    return Check(True, f"{count} enabled cluster(s) polled on time", extra={"clusters": count})


DETAILS_HINT = "sign in or send an API token to see why"


def readiness(only: set[str] | None = None, detailed: bool = True) -> tuple[bool, dict[str, Any]]:
    """Run the checks (all, or ``only`` those named); a failed database skips the poll check.
    ``detailed`` False: a status per check only, nothing about hosts, ports or clusters."""
    wanted = [name for name in CHECKS if only is None or name in only]
    results: dict[str, Check] = {}
    for name in wanted:
        if name == "database":
            results[name] = check_database()
        elif name == "broker":
            results[name] = check_broker()
        elif name == "polls":
            if "database" in results and not results["database"].ok:
                results[name] = Check(False, "not checked: the database is not reachable")
            else:
                try:
                    results[name] = check_polls()
                except DatabaseError as exc:
                    results[name] = Check(False, f"cannot read clusters: {exc}")
    ok = all(check.ok for check in results.values())
    failed = [name for name, check in results.items() if not check.ok]
    body: dict[str, Any] = {
        "status": "ok" if ok else "fail",
        "checks": {name: check.to_dict(detailed) for name, check in results.items()},
    }
    if failed:
        body["failed"] = failed
    if not detailed:
        body["details"] = DETAILS_HINT
    return ok, body
