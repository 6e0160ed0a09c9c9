"""A kubeconfig whose user gets its credential from an exec plugin, and a plugin that hangs."""

from __future__ import annotations

from pathlib import Path

import yaml

API_VERSION = "client.authentication.k8s.io/v1beta1"


def write_exec_kubeconfig(path: Path, url: str, command: str, args: list[str]) -> Path:
    """One context "demo" (as clusters.demo.kubeconfig writes it) with an ``exec`` user."""
    user = {"exec": {"apiVersion": API_VERSION, "command": command, "args": args}}
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "demo", "cluster": {"server": url}}],
                "users": [{"name": "demo-user", "user": user}],
                "contexts": [{"name": "demo", "context": {"cluster": "demo", "user": "demo-user"}}],
                "current-context": "demo",
            }
        )
    )
    return path


def hanging_plugin(directory: Path) -> tuple[str, list[str], Path, Path]:
    """A plugin that never answers: a shell that starts a child and waits for it. Returns
    (command, args, file of the shell's pid, file of the child's pid)."""
    leader, child = directory / "plugin.pid", directory / "plugin-child.pid"
    script = f"echo $$ > {leader}; sleep 300 & echo $! > {child}; wait"
    return "/bin/sh", ["-c", script], leader, child


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie (which only waits for its parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
