"""docker-compose.yml and the Dockerfile against the code's real entry points.

Docker cannot run here: instead every command, setting and health-check path the files name is
checked to exist in the code (the Celery app, manage.py commands, the demo cluster's CLI,
settings' environment variables, URLs).
"""

from __future__ import annotations

import re
import shlex
from importlib import import_module
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml
from celery import Celery
from celery.app.utils import find_app
from django.core.management import get_commands
from django.urls import resolve

from clusters.config import load_entries
from clusters.demo.__main__ import parse_args
from dashboard import health
from dashboard.celery import app as celery_app
from dashboard.env import database_config
from tests.deploy.helpers import (
    ROOT,
    consumed_queues,
    routed_queues,
    run_python,
    settings_env_names,
)

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
TIDEWATCH = ["demo-cluster", "migrate", "web", "worker", "beat"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "")
        for line in lines
        if line and not line.startswith("#")
    ]


def test_the_stack_has_its_services():
    assert set(SERVICES) == {
        "web",
        "worker",
        "beat",
        "redis",
        "postgres",
        "demo-cluster",
        "migrate",
    }
    assert SERVICES["postgres"]["image"].startswith("postgres:")
    assert SERVICES["redis"]["image"].startswith("redis:")


def test_tidewatch_services_share_one_image_built_from_the_dockerfile():
    for name in TIDEWATCH:
        assert SERVICES[name]["image"] == "tidewatch:local", name
        assert SERVICES[name]["build"] == ".", name
    assert (ROOT / "Dockerfile").is_file()


def test_web_runs_gunicorn_on_the_real_wsgi_application():
    command = SERVICES["web"]["command"]
    assert command[0] == "gunicorn"
    module, _, attribute = command[1].partition(":")
    assert callable(getattr(import_module(module), attribute or "application"))
    assert "0.0.0.0:8000" in command and SERVICES["web"]["ports"] == ["8000:8000"]
    cmd = dict(dockerfile_instructions())["CMD"]
    assert yaml.safe_load(cmd)[:2] == command[:2], "the image's default command is the same"


@pytest.mark.parametrize(("service", "subcommand"), [("worker", "worker"), ("beat", "beat")])
def test_celery_services_use_the_real_celery_app(service, subcommand):
    command = SERVICES[service]["command"]
    assert command[:4] == ["celery", "-A", "dashboard", subcommand]
    app = find_app(command[2])
    assert isinstance(app, Celery) and app is celery_app
    assert "clusters.tasks.schedule_polls" in {
        entry["task"] for entry in app.conf.beat_schedule.values()
    }
    # The options exist (click rejects unknown ones): ask celery itself.
    result = run_python("-m", "celery", "-A", "dashboard", subcommand, "--help")
    assert result.returncode == 0, result.stderr
    for option in (arg for arg in command[4:] if arg.startswith("--")):
        assert option in result.stdout, f"{service}: celery {subcommand} has no {option}"


def test_the_worker_consumes_every_queue_tasks_are_sent_to():
    # Watch tasks are routed to "watch": a worker not consuming it would never watch.
    assert routed_queues(celery_app) == {"celery", "watch"}
    assert consumed_queues(SERVICES["worker"]["command"]) == routed_queues(celery_app)


def test_migrate_is_a_real_manage_py_command():
    command = SERVICES["migrate"]["command"]
    assert command[:2] == ["python", "manage.py"]
    assert command[2] in get_commands()
    assert (ROOT / "manage.py").is_file()


def test_the_demo_cluster_cli_accepts_the_flags():
    command = SERVICES["demo-cluster"]["command"]
    assert command[:3] == ["python", "-m", "clusters.demo"]
    args = parse_args(command[3:])
    assert (args.host, args.port) == ("0.0.0.0", 8001)
    assert args.kubeconfig == "/shared/demo-kubeconfig.yaml"
    result = run_python("-m", "clusters.demo", "--help")
    assert result.returncode == 0, result.stderr
    for flag in (arg for arg in command[3:] if arg.startswith("--")):
        assert flag in result.stdout


def test_the_worker_polls_the_demo_cluster_through_clusters_yaml():
    env = SERVICES["worker"]["environment"]
    volumes = (volume.split(":") for volume in SERVICES["worker"]["volumes"])
    mounts = {target: source for source, target, *_ in volumes}
    clusters_file = mounts[env["TIDEWATCH_CLUSTERS"]]
    (entry,) = load_entries(ROOT / clusters_file, 30)
    assert entry.error == ""
    assert entry.spec.kubeconfig == parse_args(SERVICES["demo-cluster"]["command"][3:]).kubeconfig
    assert "/shared" in mounts and mounts["/shared"] == "shared"
    # The demo's kubeconfig names 0.0.0.0 (the demo container): the worker shares its network.
    assert SERVICES["worker"]["network_mode"] == "service:demo-cluster"
    assert "shared" in COMPOSE["volumes"]


def test_every_setting_the_stack_sets_exists_in_settings():
    names = settings_env_names()
    for name in TIDEWATCH:
        unknown = set(SERVICES[name].get("environment", {})) - names
        assert unknown == set(), f"{name}: {sorted(unknown)} are not read by dashboard/settings.py"


def test_database_and_broker_point_at_the_stack(tmp_path):
    env = SERVICES["web"]["environment"]
    db = database_config(env["DATABASE_URL"], tmp_path)
    assert db["ENGINE"] == "django.db.backends.postgresql" and db["HOST"] == "postgres"
    postgres = SERVICES["postgres"]["environment"]
    assert (db["NAME"], db["USER"], db["PASSWORD"]) == (
        postgres["POSTGRES_DB"],
        postgres["POSTGRES_USER"],
        postgres["POSTGRES_PASSWORD"],
    )
    assert urlparse(env["REDIS_URL"]).hostname == "redis"
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?"), "required, never a default"
    assert env["ALLOWED_HOSTS"] and env["SECURE_SSL_REDIRECT"] == "false"


def test_start_order_waits_for_migrations_and_services():
    for name in ("web", "worker", "beat"):
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
        for dependency in depends:
            assert dependency in SERVICES
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


@pytest.mark.django_db
def test_health_checks_name_real_urls(client, settings):
    settings.TIDEWATCH_USE_CELERY = False
    test = SERVICES["web"]["healthcheck"]["test"]
    url = re.search(r"http://127\.0\.0\.1:8000[^'\"]*", " ".join(test)).group(0)
    parsed = urlparse(url)
    assert resolve(parsed.path).url_name == "readyz"
    checks = parse_qs(parsed.query)["checks"][0].split(",")
    assert set(checks) <= set(health.CHECKS)
    assert client.get(f"{parsed.path}?checks=database").status_code == 200
    assert "127.0.0.1" in SERVICES["web"]["environment"]["ALLOWED_HOSTS"]
    demo_check = " ".join(SERVICES["demo-cluster"]["healthcheck"]["test"])
    assert "/shared/demo-kubeconfig.yaml" in demo_check


def test_the_dockerfile_builds_a_non_root_gunicorn_image_with_collected_static():
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    (user,) = [value for op, value in instructions if op == "USER"]
    assert user.split(":")[0] not in ("root", "0")
    runs = [value for op, value in instructions if op == "RUN"]
    assert any("manage.py collectstatic --noinput" in run for run in runs)
    assert any("pip install -r" in run for run in runs)
    env = " ".join(value for op, value in instructions if op == "ENV")
    assert "TIDEWATCH_COLLECTED_STATIC=true" in env
    for name in re.findall(r"\b([A-Z][A-Z0-9_]{3,})=", env):
        assert name in settings_env_names() or name.startswith(("PYTHON", "PIP_")), name
    # The lock really pins what the image leaves out (test and lint tools only).
    left_out = re.search(r"grep -vE '\^\(([^)]*)\)==' requirements.lock", " ".join(runs)).group(1)
    pinned = {
        line.split("==")[0].lower() for line in (ROOT / "requirements.lock").read_text().split()
    }
    assert {"playwright", "pytest", "ruff"} <= set(left_out.split("|")) & pinned
    assert {"gunicorn", "whitenoise", "prometheus-client"} <= pinned
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


def test_compose_commands_are_plain_argument_lists():
    """Exec form everywhere: no shell to swallow signals, so `docker compose stop` is quick."""
    for name in TIDEWATCH:
        command = SERVICES[name]["command"]
        assert isinstance(command, list) and command[0] in ("python", "gunicorn", "celery"), name
        assert shlex.join(command)


def test_the_readme_deploy_section_uses_these_files():
    readme = (ROOT / "README.md").read_text()
    deploy = readme.split("## Deploy", 1)[1].split("\n## ", 1)[0]
    assert "docker compose up" in deploy
    named = re.findall(r"(?<![\w/-])deploy/[\w./-]*[\w/]", deploy)
    files = {path for path in named if not path.startswith("deploy/tidewatch-")}  # kubectl deploy/x
    for path in files:
        assert (ROOT / path).exists(), path
    for directory in sorted(p.name for p in (ROOT / "deploy").iterdir() if p.is_dir()):
        assert f"deploy/{directory}" in deploy, f"README's Deploy does not explain {directory}"
    for step in ("docker build", "create secret generic tidewatch", "kubectl apply -k"):
        assert step in deploy
    assert Path(ROOT / "deploy" / "kubernetes" / "kustomization.yaml").is_file()
