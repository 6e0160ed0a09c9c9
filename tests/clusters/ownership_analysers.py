"""Analysers a test hands the ownership child process (clusters/store/ownership_child.py
ANALYSE): they run in the child, a fresh interpreter, so a test steers them through files in
the test run's TIDEWATCH_VAR_DIR (the child inherits it), never a monkeypatch or a sleep."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from django.conf import settings

from clusters.models import Cluster
from clusters.store.ownership import Analysis, analyse_ownership

HELD = "tests.clusters.ownership_analysers:held"
CRASHING = "tests.clusters.ownership_analysers:crashing"


def gate_dir() -> Path:
    return Path(settings.VAR_DIR) / "ownership-gate"


def held(cluster: Cluster) -> Analysis:
    """Says it entered (a file), then waits until the test opens and closes the FIFO; once
    the test has opened it (the ``opened`` file), every analysis goes straight on."""
    gate = gate_dir()
    (gate / "entered").touch()
    if not (gate / "opened").exists():
        with open(gate / "open", "rb") as fifo:  # blocks until the test opens it for writing
            fifo.read()  # and this until it closes it
    return analyse_ownership(cluster)


def crashing(cluster: Cluster) -> Analysis:
    """The child SIGKILLs itself (as the OOM killer would) once per ``crash`` file."""
    once = gate_dir() / "crash"
    if once.exists():
        once.unlink()
        os.kill(os.getpid(), signal.SIGKILL)
    return analyse_ownership(cluster)
