"""Tidewatch settings: everything that varies comes from the environment (see README)."""

from __future__ import annotations

from pathlib import Path

from dashboard.env import database_config, env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TIDEWATCH_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
# Dev and tests get an obviously fake key; production must set SECRET_KEY or SECRET_KEY_FILE.
SECRET_KEY = env_secret(
    "SECRET_KEY", "insecure-dev-key-do-not-use-in-production" if DEBUG else None
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "clusters",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "dashboard.access.LoginRequiredUnlessAnonymousRead",
]

ROOT_URLCONF = "dashboard.urls"
WSGI_APPLICATION = "dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": database_config(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tidewatch.sqlite3'}"), BASE_DIR
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/admin/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"

# --- Tidewatch ---------------------------------------------------------------------------
TIDEWATCH_CLUSTERS = env_str("TIDEWATCH_CLUSTERS", str(BASE_DIR / "clusters.yaml"))
TIDEWATCH_ANONYMOUS_READ = env_bool("TIDEWATCH_ANONYMOUS_READ", False)
TIDEWATCH_DEFAULT_POLL_INTERVAL = env_int("TIDEWATCH_POLL_INTERVAL", 30, minimum=5)
TIDEWATCH_LIST_PAGE_SIZE = env_int("TIDEWATCH_LIST_PAGE_SIZE", 500, minimum=1)
TIDEWATCH_CONNECT_TIMEOUT = env_int("TIDEWATCH_CONNECT_TIMEOUT", 5, minimum=1)
TIDEWATCH_READ_TIMEOUT = env_int("TIDEWATCH_READ_TIMEOUT", 30, minimum=1)
# A page refresh interval for the HTMX parts, in seconds.
TIDEWATCH_REFRESH_SECONDS = env_int("TIDEWATCH_REFRESH_SECONDS", 10, minimum=1)

# --- Celery --------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env_int("TIDEWATCH_POLL_SOFT_TIME_LIMIT", 240, minimum=10)
CELERY_TASK_TIME_LIMIT = env_int("TIDEWATCH_POLL_TIME_LIMIT", 300, minimum=15)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULE = {
    "fan-out-polls": {
        "task": "clusters.tasks.schedule_polls",
        "schedule": float(env_int("TIDEWATCH_BEAT_SECONDS", 10, minimum=1)),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"kubernetes": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}
