"""The benchmark's Kubernetes API server: a DemoCluster serving a scaled platform, in its own
process so its CPU and memory never count against the poll worker being measured.

    python -m bench.apiserver --n 20000 [--seed 0]

Prints one JSON line when it serves ({"url", "token", ...}), then answers one JSON command per
stdin line with one JSON line on stdout:

    {"cmd": "mutate", "fraction": 0.01, "seed": 1}   -> {"changed": 200, "resource_version": ...}
    {"cmd": "mutate", "count": 1, "seed": 7}         -> the same, for about ``count`` objects;
                                                         "accepted_at": unix time it was applied
    {"cmd": "lists"}                                  -> {"lists": {"group/plural": n, ...}}
    {"cmd": "rss"}                                    -> {"rss_mb": ...}
    {"cmd": "stop"}                                   -> exits

EOF on stdin stops it too, so a crashed parent never leaves it behind.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Sequence
from typing import Any

from clusters.demo.scale import GITOPS_GROUPS, build_scaled_platform, mutate
from clusters.demo.server import DemoCluster

TOKEN = "bench-token"


def _rss_mb() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _key(obj: dict[str, Any]) -> tuple[str, str, str, str]:
    meta = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], meta.get("namespace", ""), meta["name"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.apiserver")
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    objects = build_scaled_platform(args.n, seed=args.seed)
    built = time.perf_counter()
    gitops = sum(1 for o in objects if o["apiVersion"].split("/")[0] in GITOPS_GROUPS)
    # Every object goes through admission (prune + CRD schema validation), as on a real server.
    cluster = DemoCluster(objects=objects, token=TOKEN)
    loaded = time.perf_counter()
    url = cluster.start(host="127.0.0.1", port=0)
    ready = {
        "url": url,
        "token": TOKEN,
        "objects": len(objects),
        "gitops": gitops,
        "build_s": round(built - started, 2),
        "load_s": round(loaded - built, 2),
        "rss_mb": round(_rss_mb(), 1),
    }
    print(json.dumps(ready), flush=True)

    # The current state of every object, so a second mutation starts from the first one's result.
    current = {_key(o): o for o in objects}
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command["cmd"] == "stop":
                break
            if command["cmd"] == "rss":
                reply: dict[str, Any] = {"rss_mb": round(_rss_mb(), 1)}
            elif command["cmd"] == "lists":
                reply = {"lists": dict(cluster.list_requests)}
            elif command["cmd"] == "mutate":
                fraction = (
                    float(command["fraction"])
                    if "fraction" in command
                    else (int(command["count"]) + 0.4) / gitops
                )
                changed = mutate(list(current.values()), fraction, int(command["seed"]))
                for obj in changed:
                    current[_key(obj)] = obj
                    cluster.apply(obj)  # a new resourceVersion, as a controller's status write
                reply = {
                    "changed": len(changed),
                    "resource_version": cluster.resource_version,
                    "accepted_at": time.time(),
                    "names": [
                        [o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]]
                        for o in changed
                    ],
                }
            else:
                reply = {"error": f"unknown command {command['cmd']!r}"}
            print(json.dumps(reply), flush=True)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
