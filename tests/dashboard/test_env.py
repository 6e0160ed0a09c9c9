from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from dashboard.env import database_config, env_bool, env_int, env_list, env_secret


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("1", True), ("YES", True), ("false", False), ("0", False), ("off", False)],
)
def test_env_bool_reads_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG") is expected


def test_env_bool_rejects_garbage_naming_the_variable(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG must be true or false"):
        env_bool("X_FLAG")


def test_env_int_checks_number_and_minimum(monkeypatch):
    monkeypatch.setenv("X_N", "abc")
    with pytest.raises(ImproperlyConfigured, match="X_N must be a whole number"):
        env_int("X_N", 1)
    monkeypatch.setenv("X_N", "2")
    with pytest.raises(ImproperlyConfigured, match="at least 5"):
        env_int("X_N", 10, minimum=5)
    monkeypatch.setenv("X_N", "7")
    assert env_int("X_N", 10, minimum=5) == 7


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("X_L", " a, b ,,c")
    assert env_list("X_L", []) == ["a", "b", "c"]


def test_env_secret_prefers_the_file(monkeypatch, tmp_path):
    secret = tmp_path / "key"
    secret.write_text("from-file\n")
    monkeypatch.setenv("X_SECRET", "from-env")
    monkeypatch.setenv("X_SECRET_FILE", str(secret))
    assert env_secret("X_SECRET") == "from-file"


def test_env_secret_without_default_fails_clearly(monkeypatch):
    monkeypatch.delenv("X_SECRET", raising=False)
    monkeypatch.delenv("X_SECRET_FILE", raising=False)
    with pytest.raises(ImproperlyConfigured, match="X_SECRET must be set"):
        env_secret("X_SECRET")


def test_database_url_selects_postgres_and_sqlite(tmp_path):
    pg = database_config("postgres://u:p@db.example:5433/tw", tmp_path)
    assert pg["ENGINE"] == "django.db.backends.postgresql"
    assert (pg["HOST"], pg["PORT"], pg["NAME"]) == ("db.example", 5433, "tw")
    lite = database_config("sqlite:///var/x.sqlite3", tmp_path)
    assert lite["ENGINE"] == "django.db.backends.sqlite3"
    assert lite["NAME"].endswith("x.sqlite3")


def test_database_url_rejects_other_engines(tmp_path):
    with pytest.raises(ImproperlyConfigured, match="DATABASE_URL must start with"):
        database_config("mysql://u@h/db", tmp_path)
