"""The ownership analysis of a watched cluster in a child process of its own.

On a big cluster the analysis is seconds of pure Python: on a thread of the watcher it holds
the GIL the applier needs (a change waits behind it), and its scaffolding (every claim, every
chain) stacks on the worker's first-sync high water. A child process has its own interpreter
and its own memory: the applier keeps applying, and the worker's peak is the sync's alone.

One long-lived child per watch (``spawn``: a fresh interpreter, never a fork of a threaded
process), started on the first analysis; it sets Django up on the watcher's database, then
for each request reads the store itself, analyses, asks the watcher whether to save (not once
the watch ends or its lease is lost), saves the report and violations in one transaction, and
answers with the namespaces whose ownership entry changed and its own peak RSS. Nothing large
crosses the pipe. A child that dies (OOM-killed, a crash) is logged by the watcher, the crash
mark stays, and the next analysis starts a new child; the child ends when its pipe closes
(the watcher ended, or was SIGKILLed).

This module imports no Django model at the top: the child imports it before Django is set up.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# What the child runs to analyse, "module:function" taking the Cluster; a test swaps in one
# it can hold (the child is a fresh interpreter: a monkeypatch in the watcher does not reach it).
ANALYSE = "clusters.store.ownership:analyse_ownership"
# How long the watcher waits for a child that is saving when the watch ends (within the
# 10 s the watch gives each of its threads to end).
SAVE_GRACE_SECONDS = 8.0


class ChildFailed(Exception):
    """The analysis raised in the child, or the child died; the message says which."""


@dataclass(frozen=True)
class ChildAnalysis:
    """What one analysis in the child did."""

    saved: bool  # False: the watch ended meanwhile, nothing was written
    namespaces: set[str]  # whose ownership entry changed (their roll-ups show it)
    seconds: float  # analysis + save, in the child
    peak_rss_mb: float  # the child's VmHWM so far


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB; 0 where /proc does not say."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class OwnershipChild:
    """The watcher's side: one child process, started on demand, replaced after it dies."""

    def __init__(self, cluster_name: str) -> None:
        self.cluster_name = cluster_name
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn: Connection | None = None

    def _start(self) -> Connection:
        from django.db import connection

        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe()
        # The database this process uses (in tests: the test database, not the settings').
        database = dict(connection.settings_dict)
        self.process = context.Process(
            target=serve,
            args=(theirs, database),
            name=f"ownership-{self.cluster_name}",
            daemon=True,
        )
        self.process.start()
        theirs.close()  # the child's end lives in the child only: its death is our EOF
        self.conn = mine
        return mine

    def analyse(
        self, cluster_pk: int, proceed: Callable[[], bool], wait: Callable[[float], bool]
    ) -> ChildAnalysis:
        """Analyse and save in the child. ``proceed()`` is asked once the analysis is done
        (False: discard it); ``wait(seconds)`` waits while the child works and returns True
        when the watch ends (the child is then stopped, unless it is saving)."""
        conn = self.conn if self.conn is not None and self._alive() else self._start()
        try:
            conn.send(("analyse", cluster_pk, ANALYSE))
            reply = self._receive(conn, wait, stop_on_end=True)
            if reply[0] == "analysed":
                go = proceed()
                conn.send(go)
                reply = self._receive(conn, wait, stop_on_end=False)
        except (EOFError, OSError) as exc:
            raise ChildFailed(self._death(exc)) from exc
        if reply[0] == "failed":
            raise ChildFailed(f"the analysis raised in the child process:\n{reply[1]}")
        _, saved, namespaces, seconds, peak = reply
        return ChildAnalysis(saved, set(namespaces), seconds, peak)

    def _receive(
        self, conn: Connection, wait: Callable[[float], bool], *, stop_on_end: bool
    ) -> tuple[Any, ...]:
        ended_at: float | None = None
        # Once the watch ended, ``wait`` returns at once: wait on the pipe instead.
        while not conn.poll(0 if ended_at is None else 0.05):
            if ended_at is None and wait(0.05):
                if stop_on_end:
                    self.stop()
                    raise EOFError("the watch ended during the analysis")
                ended_at = time.monotonic()
            if ended_at is not None and time.monotonic() - ended_at > SAVE_GRACE_SECONDS:
                self.stop()
                raise EOFError("the watch ended and the child did not finish saving")
            if not self._alive() and not conn.poll(0):
                raise EOFError("the child process ended")
        return conn.recv()

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self.process.pid if self._alive() and self.process is not None else None

    def _alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def _death(self, exc: BaseException) -> str:
        process = self.process
        code = None
        if process is not None:
            process.join(timeout=5)
            code = process.exitcode
        self._forget()
        how = f"exit code {code}" if code is None or code >= 0 else f"signal {-code}"
        return f"the ownership child process ended ({how}): {exc}"

    def _forget(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = self.process = None

    def stop(self) -> None:
        """End the child (it holds nothing that must be written: a save is one transaction)."""
        process = self.process
        if process is None:
            return
        if self.conn is not None:
            self.conn.close()  # a child waiting for a request ends on its own
        process.join(timeout=1)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)
        self._forget()


# --- the child -----------------------------------------------------------------------------------


def serve(conn: Connection, database: dict[str, Any]) -> None:
    """The child's main: set Django up on ``database``, then answer requests until the pipe
    closes."""
    import django
    from django.conf import settings

    settings.DATABASES["default"] = database
    django.setup()
    from clusters.memory import release_free_memory
    from clusters.models import Cluster
    from clusters.store.ownership import namespace_entries, namespace_ownership, save_ownership

    owners: dict[str, dict[str, Any]] | None = None  # of the last report saved
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the watcher ended (or died): nothing more to do
        _, cluster_pk, analyser = request
        try:
            began = time.perf_counter()
            cluster = Cluster.objects.get(pk=cluster_pk)
            if owners is None:
                owners = namespace_ownership(cluster)
            module, _, name = analyser.partition(":")
            analysis = getattr(importlib.import_module(module), name)(cluster)
            conn.send(("analysed",))
            if not conn.recv():
                del analysis
                release_free_memory()
                conn.send(("done", False, [], time.perf_counter() - began, peak_rss_mb()))
                continue
            release_free_memory()  # the analysis's scaffolding is freed: the write starts lower
            save_ownership(cluster, analysis)
            new = namespace_entries(analysis.data["namespaces"])
            changed = sorted(n for n in new.keys() | owners.keys() if new.get(n) != owners.get(n))
            owners = new
            del analysis
            release_free_memory()
            conn.send(("done", True, changed, time.perf_counter() - began, peak_rss_mb()))
        except (EOFError, OSError):
            return
        except Exception:
            owners = None  # what was saved is unknown now: read it again next time
            try:
                conn.send(("failed", traceback.format_exc()))
            except OSError:
                return
        finally:
            from django.db import connection

            connection.close()  # no connection (nor SQLite snapshot) held between analyses
