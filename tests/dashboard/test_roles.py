"""Tidewatch roles from Django groups, and the Kubernetes identity a user acts as."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User
from django.test import RequestFactory

from dashboard.roles import KubeIdentity, can_operate, kube_identity, role_of


@pytest.mark.parametrize(
    ("groups", "superuser", "role"),
    [
        ([], False, None),
        (["tidewatch-viewers"], False, "viewer"),
        (["tidewatch-operators"], False, "operator"),
        (["tidewatch-viewers", "tidewatch-operators"], False, "operator"),
        (["someone-else"], False, None),
        ([], True, "operator"),
    ],
)
def test_role_of_follows_group_membership(db, groups, superuser, role):
    user = User.objects.create_user("u", is_superuser=superuser)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    assert role_of(user) == role
    assert can_operate(user) is (role == "operator")


def test_group_names_come_from_settings(db, settings):
    settings.TIDEWATCH_OPERATOR_GROUP = "platform-admins"
    user = User.objects.create_user("u")
    user.groups.add(Group.objects.create(name="platform-admins"))
    assert role_of(user) == "operator"
    assert role_of(AnonymousUser()) is None


@pytest.mark.parametrize(
    ("session_groups", "groups"),
    [
        (None, ()),
        (["sre", "oncall"], ("sre", "oncall")),
        # The API server adds system:authenticated itself; system:masters is never borrowed.
        (["sre", "sre", "", 7, "system:authenticated", "system:masters"], ("sre",)),
    ],
)
def test_kube_identity_is_the_username_and_the_login_groups(db, session_groups, groups):
    request = RequestFactory().get("/")
    request.user = User.objects.create_user("alice")
    request.session = {} if session_groups is None else {"tidewatch_kube_groups": session_groups}
    assert kube_identity(request) == KubeIdentity("alice", groups)
