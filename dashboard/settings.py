"""Tidewatch settings: everything that varies comes from the environment (see README)."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from dashboard.env import database_config, env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TIDEWATCH_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
# Dev and tests get an obviously fake key; production must set SECRET_KEY or SECRET_KEY_FILE.
SECRET_KEY = env_secret(
    "SECRET_KEY", "insecure-dev-key-do-not-use-in-production" if DEBUG else None
)
# Required unless DEBUG: a production instance must say which host names it answers to (`make
# demo` and the test settings set it). Kubernetes adds the pod IP so kubelet probes and
# Prometheus, which address the pod by IP, are accepted.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else None)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# --- HTTPS and browser hardening (README "Deploy"). Defaults are for production; `make demo`,
# the tests and docker-compose (plain HTTP on localhost) switch the HTTPS-only parts off.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Probes and Prometheus talk plain HTTP to the pod; everything else is redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
if env_bool("TIDEWATCH_TRUST_X_FORWARDED_PROTO", False):
    # Only behind a proxy (ingress) that sets X-Forwarded-Proto itself and strips the client's.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("TIDEWATCH_SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# No inline script or style anywhere (static/js/tidewatch.js, htmx from static): see
# dashboard/security.py. htmx's eval-based features are off (templates/base.html).
TIDEWATCH_CSP = env_str(
    "TIDEWATCH_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
)
SILENCED_SYSTEM_CHECKS = []
if not SECURE_HSTS_PRELOAD:
    # Preloading commits the whole domain to HTTPS in browsers' built-in lists: the domain
    # owner's decision (SECURE_HSTS_PRELOAD=true), not a default.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

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
    "dashboard.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Bad query input (a NUL byte, an unknown filter value) is a 400 with a message.
    "dashboard.request_input.BadInputMiddleware",
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
                "dashboard.action_views.actions_context",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dashboard.identity.identity",
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
# People sign in on Tidewatch's own page (any active user may read); /admin/ keeps its own
# staff-only login. A refused or unknown ?next= lands on the overview (dashboard/auth_views.py).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

# --- Single sign-on (README "Single sign-on (OIDC)"): off unless an issuer is set, and then the
# local form stays beside the "Sign in with ..." button. The provider is discovered lazily from
# <issuer>/.well-known/openid-configuration (dashboard/oidc_provider.py): an unreachable or
# misconfigured issuer is a message on the login page and in the log, never a failed start.
TIDEWATCH_OIDC_ISSUER = env_str("TIDEWATCH_OIDC_ISSUER", "").strip()
TIDEWATCH_OIDC_CLIENT_ID = env_str("TIDEWATCH_OIDC_CLIENT_ID", "")
TIDEWATCH_OIDC_CLIENT_SECRET = env_secret("TIDEWATCH_OIDC_CLIENT_SECRET", "")
TIDEWATCH_OIDC_PROVIDER_NAME = env_str("TIDEWATCH_OIDC_PROVIDER_NAME", "")
TIDEWATCH_OIDC_SCOPES = env_str("TIDEWATCH_OIDC_SCOPES", "openid email profile groups")
TIDEWATCH_OIDC_GROUPS_CLAIM = env_str("TIDEWATCH_OIDC_GROUPS_CLAIM", "groups")
TIDEWATCH_OIDC_USERNAME_CLAIM = env_str("TIDEWATCH_OIDC_USERNAME_CLAIM", "preferred_username")
# Values of the groups claim that make a user an operator / a viewer (comma-separated).
TIDEWATCH_OIDC_OPERATOR_GROUPS = env_list("TIDEWATCH_OIDC_OPERATOR_GROUPS", [])
TIDEWATCH_OIDC_VIEWER_GROUPS = env_list("TIDEWATCH_OIDC_VIEWER_GROUPS", [])
# A user in none of those groups: "viewer" signs them in as a viewer, "none" refuses them.
TIDEWATCH_OIDC_DEFAULT_ROLE = env_str("TIDEWATCH_OIDC_DEFAULT_ROLE", "viewer")
# The claim's groups kept in the session for Kubernetes impersonation; a claim with more is cut.
TIDEWATCH_OIDC_MAX_GROUPS = env_int("TIDEWATCH_OIDC_MAX_GROUPS", 100, minimum=1)
# Seconds for each request to the provider (discovery, token, JWKS, userinfo).
TIDEWATCH_OIDC_TIMEOUT = env_int("TIDEWATCH_OIDC_TIMEOUT", 10, minimum=1)
# A discovery document that was read is reused this long (seconds); a failed read is retried
# after at most 30 s.
TIDEWATCH_OIDC_DISCOVERY_SECONDS = env_int("TIDEWATCH_OIDC_DISCOVERY_SECONDS", 3600, minimum=1)
# Signing out also ends the session at the provider (RP-initiated logout) when it advertises an
# end_session_endpoint; register <site>/login as a post-logout redirect URI there.
TIDEWATCH_OIDC_LOGOUT_AT_PROVIDER = env_bool("TIDEWATCH_OIDC_LOGOUT_AT_PROVIDER", False)
if TIDEWATCH_OIDC_ISSUER:
    for _name in ("TIDEWATCH_OIDC_CLIENT_ID", "TIDEWATCH_OIDC_CLIENT_SECRET"):
        if not globals()[_name]:
            raise ImproperlyConfigured(f"{_name} must be set when TIDEWATCH_OIDC_ISSUER is")
    if "openid" not in TIDEWATCH_OIDC_SCOPES.split():
        raise ImproperlyConfigured("TIDEWATCH_OIDC_SCOPES must include openid")
    AUTHENTICATION_BACKENDS = [
        "django.contrib.auth.backends.ModelBackend",
        "dashboard.oidc.OIDCBackend",
    ]
if TIDEWATCH_OIDC_DEFAULT_ROLE not in ("viewer", "none"):
    raise ImproperlyConfigured(
        f"TIDEWATCH_OIDC_DEFAULT_ROLE must be viewer or none, got {TIDEWATCH_OIDC_DEFAULT_ROLE!r}"
    )

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("TIDEWATCH_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# The image (Dockerfile) collects static files at build time with hashed, compressed names and
# WhiteNoise serves them from gunicorn with a long cache. Elsewhere (tests, `make demo`) they
# are served from the source tree without a collectstatic step.
TIDEWATCH_COLLECTED_STATIC = env_bool("TIDEWATCH_COLLECTED_STATIC", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if TIDEWATCH_COLLECTED_STATIC
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
if TIDEWATCH_COLLECTED_STATIC:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("dashboard.security.ContentSecurityPolicyMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

# --- Tidewatch ---------------------------------------------------------------------------
TIDEWATCH_CLUSTERS = env_str("TIDEWATCH_CLUSTERS", str(BASE_DIR / "clusters.yaml"))
TIDEWATCH_ANONYMOUS_READ = env_bool("TIDEWATCH_ANONYMOUS_READ", False)
# Actions (README "Actions"): "off" (no endpoint), "service-account" (Tidewatch's own
# credentials after a Tidewatch role check) or "impersonate" (the cluster's RBAC decides).
TIDEWATCH_ACTIONS = env_str("TIDEWATCH_ACTIONS", "off").strip().lower()
if TIDEWATCH_ACTIONS not in ("off", "service-account", "impersonate"):
    raise ImproperlyConfigured(
        f"TIDEWATCH_ACTIONS must be off, service-account or impersonate, got {TIDEWATCH_ACTIONS!r}"
    )
TIDEWATCH_OPERATOR_GROUP = env_str("TIDEWATCH_OPERATOR_GROUP", "tidewatch-operators")
TIDEWATCH_VIEWER_GROUP = env_str("TIDEWATCH_VIEWER_GROUP", "tidewatch-viewers")
# Seconds one action's requests to the cluster may take in all (connect + read per request).
TIDEWATCH_ACTION_TIMEOUT = env_int("TIDEWATCH_ACTION_TIMEOUT", 10, minimum=1)
# `make demo` only: the login page shows the demo users' passwords (README "Actions").
TIDEWATCH_DEMO_SIGN_IN = env_bool("TIDEWATCH_DEMO_SIGN_IN", False)
TIDEWATCH_DEFAULT_POLL_INTERVAL = env_int("TIDEWATCH_POLL_INTERVAL", 30, minimum=5)
# The longest poll_interval a clusters.yaml entry may ask for (seconds); longer is a broken entry.
TIDEWATCH_MAX_POLL_INTERVAL = env_int("TIDEWATCH_MAX_POLL_INTERVAL", 86_400, minimum=5)
TIDEWATCH_LIST_PAGE_SIZE = env_int("TIDEWATCH_LIST_PAGE_SIZE", 500, minimum=1)
# How clusters are kept current (README "Watch and poll"): "watch" lists each kind once and
# then watches it (falling back to polling per cluster when watch is refused); "poll" lists
# everything every poll_interval.
TIDEWATCH_SYNC_MODE = env_str("TIDEWATCH_SYNC_MODE", "watch")
if TIDEWATCH_SYNC_MODE not in ("watch", "poll"):
    raise ImproperlyConfigured(
        f"TIDEWATCH_SYNC_MODE must be watch or poll, got {TIDEWATCH_SYNC_MODE!r}"
    )
# A watched kind is listed in full again this often (a missed event cannot outlive it).
TIDEWATCH_RESYNC_SECONDS = env_int("TIDEWATCH_RESYNC_SECONDS", 600, minimum=1)
# timeoutSeconds of one watch request: the server ends the stream, the watcher watches again.
TIDEWATCH_WATCH_SECONDS = env_int("TIDEWATCH_WATCH_SECONDS", 300, minimum=1)
# In watch mode, a supporting list (namespaces, controller workloads, monitors, Events) whose
# watch is not allowed (RBAC list without watch) is re-listed this often instead.
TIDEWATCH_SUPPORT_SECONDS = env_int("TIDEWATCH_SUPPORT_SECONDS", 60, minimum=1)
# In watch mode, the controllers' PodMetrics (metrics.k8s.io, which cannot be watched) are
# re-read this often; a poll reads them once per poll.
TIDEWATCH_METRICS_SECONDS = env_int("TIDEWATCH_METRICS_SECONDS", 60, minimum=1)
# In watch mode, discovery runs again this often: a CRD installed or removed meanwhile starts or
# stops its kind's watch (about ten small discovery requests; no list).
TIDEWATCH_DISCOVERY_SECONDS = env_int("TIDEWATCH_DISCOVERY_SECONDS", 60, minimum=1)
# Kinds a watcher lists at once (each one page read ahead): bounds a first sync's memory.
TIDEWATCH_WATCH_LIST_SLOTS = env_int("TIDEWATCH_WATCH_LIST_SLOTS", 2, minimum=1)
# malloc arenas of a watching process (glibc; 0: its default of 8 per core): each informer
# thread parsing JSON in an arena of its own left a dozen arenas at their high water.
TIDEWATCH_MALLOC_ARENAS = env_int("TIDEWATCH_MALLOC_ARENAS", 2, minimum=0)
# A watcher analyses ownership in a child process of its own (its GIL and memory are not the
# applier's); false: on a thread of the watcher, as before.
TIDEWATCH_OWNERSHIP_CHILD = env_bool("TIDEWATCH_OWNERSHIP_CHILD", True)
# The ownership report lists resources claimed once and named only by their namespace's own
# violation (TW001/TW006) up to this many per namespace, and counts the rest.
TIDEWATCH_OWNERSHIP_NAMESPACE_SAMPLE = env_int(
    "TIDEWATCH_OWNERSHIP_NAMESPACE_SAMPLE", 20, minimum=0
)
# A first list from the watch cache (resourceVersion=0) is the whole kind in one answer, whatever
# the limit: past this many bytes it is abandoned unparsed and the kind is listed page by page.
TIDEWATCH_WATCH_CACHE_LIST_BYTES = env_int(
    "TIDEWATCH_WATCH_CACHE_LIST_BYTES", 4 * 1024 * 1024, minimum=1024
)
TIDEWATCH_CONNECT_TIMEOUT = env_int("TIDEWATCH_CONNECT_TIMEOUT", 5, minimum=1)
TIDEWATCH_READ_TIMEOUT = env_int("TIDEWATCH_READ_TIMEOUT", 30, minimum=1)
# /api/v1 lists (dashboard/pagination.py): ?page_size= defaults to this, and is capped at the max.
TIDEWATCH_API_PAGE_SIZE = env_int("TIDEWATCH_API_PAGE_SIZE", 100, minimum=1)
TIDEWATCH_API_MAX_PAGE_SIZE = env_int("TIDEWATCH_API_MAX_PAGE_SIZE", 500, minimum=1)
# Links longer than this many characters are shown as text with a note instead (dashboard/links.py):
# gunicorn refuses request lines over 4094 bytes, so such a link could never be followed.
TIDEWATCH_MAX_LINK_LENGTH = env_int("TIDEWATCH_MAX_LINK_LENGTH", 4000, minimum=200)
# Poll bounds (docs/reliability.md): whatever a server sends, a request and a poll end, and a
# poll's memory stays bounded. Hitting one marks the kind stale with a reason.
TIDEWATCH_REQUEST_DEADLINE = env_int("TIDEWATCH_REQUEST_DEADLINE", 60, minimum=1)
TIDEWATCH_MAX_RESPONSE_BYTES = env_int(
    "TIDEWATCH_MAX_RESPONSE_BYTES", 64 * 1024 * 1024, minimum=1024
)
TIDEWATCH_MAX_LIST_PAGES = env_int("TIDEWATCH_MAX_LIST_PAGES", 1000, minimum=1)
TIDEWATCH_MAX_OBJECTS_PER_KIND = env_int("TIDEWATCH_MAX_OBJECTS_PER_KIND", 100_000, minimum=1)
TIDEWATCH_MAX_EVENTS = env_int("TIDEWATCH_MAX_EVENTS", 20_000, minimum=1)
TIDEWATCH_EXEC_TIMEOUT = env_int("TIDEWATCH_EXEC_TIMEOUT", 30, minimum=1)
# argocd-server reads (docs/argocd-server.md): Applications read per run (those changed first,
# the rest next run), seconds per request (a cluster's timeoutSeconds wins), the largest answer
# parsed, the live nodes and the changed fields kept per Application / resource, and how long
# one run may take before the rest waits for the next.
TIDEWATCH_ARGOCD_MAX_APPS_PER_RUN = env_int("TIDEWATCH_ARGOCD_MAX_APPS_PER_RUN", 50, minimum=1)
TIDEWATCH_ARGOCD_TIMEOUT = env_int("TIDEWATCH_ARGOCD_TIMEOUT", 10, minimum=1)
TIDEWATCH_ARGOCD_MAX_RESPONSE_BYTES = env_int(
    "TIDEWATCH_ARGOCD_MAX_RESPONSE_BYTES", 16 * 1024 * 1024, minimum=1024
)
TIDEWATCH_ARGOCD_MAX_TREE_NODES = env_int("TIDEWATCH_ARGOCD_MAX_TREE_NODES", 1000, minimum=1)
TIDEWATCH_ARGOCD_MAX_DIFF_FIELDS = env_int("TIDEWATCH_ARGOCD_MAX_DIFF_FIELDS", 100, minimum=1)
TIDEWATCH_ARGOCD_RUN_SECONDS = env_int("TIDEWATCH_ARGOCD_RUN_SECONDS", 120, minimum=1)
# Live updates (README "Live updates"): how often an open page asks whether what it shows
# changed, in milliseconds. An unchanged answer is a 204 from one primary-key read. The older
# TIDEWATCH_REFRESH_SECONDS, when set, still sets the interval.
TIDEWATCH_LIVE_POLL_MS = env_int(
    "TIDEWATCH_LIVE_POLL_MS",
    1000 * env_int("TIDEWATCH_REFRESH_SECONDS", 1, minimum=1),
    minimum=100,
)
# The Controllers view (docs/controllers.md): Argo CD's memory budget (ADR-003: ~500 MB; MiB,
# as Kubernetes counts memory), and the container restarts from which a controller is flagged
# (0: never).
TIDEWATCH_ARGOCD_MEMORY_BUDGET_MB = env_int("TIDEWATCH_ARGOCD_MEMORY_BUDGET_MB", 500, minimum=1)
TIDEWATCH_CONTROLLER_RESTARTS_WARN = env_int("TIDEWATCH_CONTROLLER_RESTARTS_WARN", 5, minimum=0)
# Page bounds (docs/reliability.md "Page bounds"): rows one list section of a page renders
# (conditions, resources, results, violations ...); the rest is a next-page link away.
TIDEWATCH_PAGE_ROWS = env_int("TIDEWATCH_PAGE_ROWS", 200, minimum=1)
TIDEWATCH_PAGE_EVENTS = env_int("TIDEWATCH_PAGE_EVENTS", 50, minimum=1)
TIDEWATCH_PAGE_TRANSITIONS = env_int("TIDEWATCH_PAGE_TRANSITIONS", 100, minimum=1)
# Live nodes (ReplicaSets, Pods ...) shown below each managed resource of an Argo CD app.
TIDEWATCH_PAGE_TREE_NODES = env_int("TIDEWATCH_PAGE_TREE_NODES", 50, minimum=1)
# A stored object larger than this (as JSON text) is not loaded for the raw YAML block.
TIDEWATCH_PAGE_RAW_BYTES = env_int("TIDEWATCH_PAGE_RAW_BYTES", 256_000, minimum=1_000)
# /metrics: when set, only this bearer token (or an API token) may scrape; see dashboard/access.py.
TIDEWATCH_METRICS_TOKEN = env_secret("TIDEWATCH_METRICS_TOKEN", "")
# /readyz: the poll of an enabled cluster is late after this many of its intervals.
TIDEWATCH_READY_POLL_INTERVALS = env_int("TIDEWATCH_READY_POLL_INTERVALS", 3, minimum=1)

# --- Celery --------------------------------------------------------------------------------
# Whether this installation polls through Celery (and so needs the broker): on when REDIS_URL is
# set explicitly; `make demo` watches in-process and has no broker (TIDEWATCH_USE_CELERY=false).
TIDEWATCH_USE_CELERY = env_bool("TIDEWATCH_USE_CELERY", "REDIS_URL" in os.environ)
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SOFT_TIME_LIMIT = env_int("TIDEWATCH_POLL_SOFT_TIME_LIMIT", 240, minimum=10)
CELERY_TASK_TIME_LIMIT = env_int("TIDEWATCH_POLL_TIME_LIMIT", 300, minimum=15)
# A poll ends by itself (kinds not read by then are stale, reason Deadline) before Celery's soft
# limit would interrupt it mid-write; the in-process poller and `manage.py poll` obey it too.
TIDEWATCH_POLL_DEADLINE = env_int(
    "TIDEWATCH_POLL_DEADLINE", max(CELERY_TASK_SOFT_TIME_LIMIT - 60, 10), minimum=1
)
# The per-cluster poll lock expires on its own after this many seconds (a killed worker must not
# block its cluster for ever); default: the task's hard time limit + 30 s.
TIDEWATCH_LOCK_TIMEOUT = env_int("TIDEWATCH_LOCK_TIMEOUT", CELERY_TASK_TIME_LIMIT + 30, minimum=5)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Logs go through the LOGGING below (JSON when asked), not Celery's own handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Watching in workers (README "Watch and poll", "Workers"): one watch task per cluster holds
# the lease tidewatch:watch:<cluster> for TIDEWATCH_WATCH_LEASE_SECONDS, renewed every third of
# it; a killed worker's clusters are queued again by beat once it expires (takeover within
# lease + one beat tick). A watch task ends after TIDEWATCH_WATCH_MAX_SECONDS so work is spread
# again over the workers; beat queues it again at once. Watch tasks go to the "watch" queue.
TIDEWATCH_WATCH_LEASE_SECONDS = env_int("TIDEWATCH_WATCH_LEASE_SECONDS", 30, minimum=1)
TIDEWATCH_WATCH_MAX_SECONDS = env_int("TIDEWATCH_WATCH_MAX_SECONDS", 3600, minimum=10)
# A queued watch task that has not started is not queued again for this long.
TIDEWATCH_WATCH_DISPATCH_SECONDS = env_int("TIDEWATCH_WATCH_DISPATCH_SECONDS", 60, minimum=1)
CELERY_TASK_ROUTES = {"clusters.tasks.watch_cluster": {"queue": "watch"}}
# Redis hands an unacknowledged task to another worker after this long: above a watch task's
# life, or a live watch would be started twice (the second finds the lease taken).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": TIDEWATCH_WATCH_MAX_SECONDS + 600}
CELERY_BEAT_SCHEDULE = {
    "fan-out-polls": {
        "task": "clusters.tasks.schedule_polls",
        "schedule": float(env_int("TIDEWATCH_BEAT_SECONDS", 5, minimum=1)),
    },
}

# TIDEWATCH_LOG_FORMAT=json: one JSON object per line with the cluster and poll id of the poll
# that logged it (clusters/logcontext.py); plain text otherwise.
TIDEWATCH_LOG_FORMAT = env_str("TIDEWATCH_LOG_FORMAT", "plain")
if TIDEWATCH_LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(
        f"TIDEWATCH_LOG_FORMAT must be plain or json, got {TIDEWATCH_LOG_FORMAT!r}"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"logcontext": {"()": "clusters.logcontext.LogContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "dashboard.logformat.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": TIDEWATCH_LOG_FORMAT,
            "filters": ["logcontext"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"kubernetes": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}
