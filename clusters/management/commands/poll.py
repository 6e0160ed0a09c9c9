"""`manage.py poll [--cluster NAME]`: the same poll the worker runs, synchronously."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clusters.models import Cluster
from clusters.poll import poll_cluster
from clusters.registry import ConfigFileError, sync_clusters


class Command(BaseCommand):
    help = "Poll clusters from TIDEWATCH_CLUSTERS once, now, and print what was stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cluster", help="poll only this cluster")

    def handle(self, *args: object, cluster: str | None = None, **options: object) -> None:
        try:
            sync_clusters()
        except ConfigFileError as exc:
            raise CommandError(str(exc)) from None
        clusters = Cluster.objects.filter(enabled=True)
        if cluster:
            clusters = clusters.filter(name=cluster)
            if not clusters.exists():
                raise CommandError(f"no enabled cluster named {cluster!r}")
        failed = False
        for item in clusters:
            # Every limit a cluster hits is recorded on its run (poll_cluster returns); anything
            # else one cluster raises is recorded on the cluster too and must not keep the
            # others from being polled.
            try:
                run = poll_cluster(item)
            except Exception as exc:
                failed = True
                self.stderr.write(f"{item.name}: FAILED {type(exc).__name__}: {exc}")
                continue
            listed = sum(c.get("listed", 0) for c in run.counts.values())
            if run.error:
                failed = True
                self.stderr.write(f"{item.name}: FAILED {run.error}")
                continue
            self.stdout.write(
                f"{item.name}: {listed} objects listed, {run.objects_written} written, "
                f"{run.objects_deleted} deleted"
            )
            for key, error in sorted(run.errors.items()):
                self.stderr.write(f"  {key}: {error['reason']}: {error['message']}")
        if failed:
            raise CommandError("at least one cluster could not be polled")
