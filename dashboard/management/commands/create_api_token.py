"""`manage.py create_api_token NAME [--scope operate]`: a bearer token for /api/ and /metrics,
read-only unless its scope is operate (may also POST actions)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.models import OPERATE, READ, ApiToken


class Command(BaseCommand):
    help = (
        "Create an API token for /api/ (GET; with --scope operate also action POSTs) and "
        "/metrics and print it once. "
        "Only its SHA-256 is stored; revoke it by deleting it in the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="what the token is for, e.g. prometheus or ci-report")
        parser.add_argument(
            "--scope",
            choices=[READ, OPERATE],
            default=READ,
            help="read (default): GET only; operate: may also run actions (TIDEWATCH_ACTIONS)",
        )

    def handle(self, *args: object, **options: object) -> None:
        name = str(options["name"]).strip()
        if not name:
            raise CommandError("the token needs a name")
        if ApiToken.objects.filter(name=name).exists():
            raise CommandError(f"a token named {name!r} exists; delete it in the admin first")
        scope = str(options["scope"])
        _, token = ApiToken.issue(name, scope)
        # The token alone on stdout, so `TOKEN=$(manage.py create_api_token x)` works.
        self.stdout.write(token)
        self.stderr.write(
            f"API token {name!r} ({scope}) created. It is shown only now: "
            "store it in your secret manager. "
            "Use it as 'Authorization: Bearer <token>'."
        )
