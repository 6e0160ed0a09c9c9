"""The demo's two accounts (`make demo`): an operator who can act and a viewer who cannot.

Their passwords are public on purpose (README, and the login page while TIDEWATCH_DEMO_SIGN_IN
is on): the demo cluster is a toy on 127.0.0.1 with nothing to protect.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, User

DEMO_PASSWORD = "tidewatch-demo"
DEMO_USERS = (("demo-operator", "operator"), ("demo-viewer", "viewer"))


def ensure_demo_users() -> list[tuple[str, str]]:
    """Create (or reset) demo-operator and demo-viewer in their role groups; (username, role)."""
    groups = {
        "operator": Group.objects.get_or_create(name=settings.TIDEWATCH_OPERATOR_GROUP)[0],
        "viewer": Group.objects.get_or_create(name=settings.TIDEWATCH_VIEWER_GROUP)[0],
    }
    for username, role in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(DEMO_PASSWORD)
        user.is_active = True
        user.save()
        user.groups.set([groups[role]])
    return list(DEMO_USERS)
