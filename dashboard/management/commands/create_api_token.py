"""`manage.py create_api_token NAME`: a read-only bearer token for /api/ and /metrics."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.models import ApiToken


class Command(BaseCommand):
    help = (
        "Create a read-only API token for /api/ (GET) and /metrics and print it once. "
        "Only its SHA-256 is stored; revoke it by deleting it in the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="what the token is for, e.g. prometheus or ci-report")

    def handle(self, *args: object, **options: object) -> None:
        name = str(options["name"]).strip()
        if not name:
            raise CommandError("the token needs a name")
        if ApiToken.objects.filter(name=name).exists():
            raise CommandError(f"a token named {name!r} exists; delete it in the admin first")
        _, token = ApiToken.issue(name)
        # The token alone on stdout, so `TOKEN=$(manage.py create_api_token x)` works.
        self.stdout.write(token)
        self.stderr.write(
            f"API token {name!r} created. It is shown only now: store it in your secret manager. "
            "Use it as 'Authorization: Bearer <token>'."
        )
