"""FlowUI settings: one module, values from the environment or config.ini (see README)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

from flowui.config import BASE_DIR, env_bool, env_choice, env_int, env_list, env_path, env_str

# The test run says so itself: pytest sets FLOWUI_TESTING=true (pyproject.toml, [tool.pytest.ini_options] env).
TESTING = env_bool("FLOWUI_TESTING", False)

# --- the design's names -------------------------------------------------------------------
PROJECT_NAME = env_str("PROJECT_NAME", "flowui")
FLOWUI_DEPLOY_MODE = env_choice("FLOWUI_DEPLOY_MODE", ("local", "aws"), "local")
# Kubernetes-mode tasks: provisioning creates each tenant's PVC and Secret (tenants.provisioning.run_kubernetes).
FLOWUI_K8S_ENABLED = env_bool("FLOWUI_K8S_ENABLED", False)
FLOWUI_K8S_PVC_SIZE = env_str("FLOWUI_K8S_PVC_SIZE", "10Gi")
FLOWUI_K8S_STORAGE_CLASS = env_str("FLOWUI_K8S_STORAGE_CLASS", "")
DATABASE_URL = env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flowui")
# Tests get their own storage per database name, so parallel test runs never share files.
_TEST_VAR = f"var/test/{DATABASE_URL.rsplit('/', 1)[-1]}"
VOLUME_MOUNT_PATH_HOST = env_path("VOLUME_MOUNT_PATH_HOST", f"{_TEST_VAR}/volume" if TESTING else "var/volume")
# The folder the shared Airflow parses (its dags_folder): one sub-folder per tenant schema, written by the platform
# only. It lies outside every tenant's storage, so no operator (local sandbox, Batch access point, Kubernetes PVC)
# can plant a DAG file in it.
FLOWUI_DAGS_DIR = env_path("FLOWUI_DAGS_DIR", f"{_TEST_VAR}/dags" if TESTING else "var/dags")
if FLOWUI_DAGS_DIR.is_relative_to(VOLUME_MOUNT_PATH_HOST) or VOLUME_MOUNT_PATH_HOST.is_relative_to(FLOWUI_DAGS_DIR):
    raise ImproperlyConfigured(
        f"FLOWUI_DAGS_DIR: {FLOWUI_DAGS_DIR} overlaps VOLUME_MOUNT_PATH_HOST ({VOLUME_MOUNT_PATH_HOST}); the folder "
        "Airflow parses must lie outside the tenants' storage"
    )
CODE_REPOSITORY_SOURCE = env_choice("CODE_REPOSITORY_SOURCE", ("local", "github", "git"), "local")
GITHUB_REPOSITORY_NAME = env_str("GITHUB_REPOSITORY_NAME", "")
GITHUB_ACCESS_TOKEN = env_str("GITHUB_ACCESS_TOKEN", "")
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID", "")
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY", "")
AWS_REGION_NAME = env_str("AWS_REGION_NAME", "us-east-1")
AWS_ENDPOINT_URL = env_str("AWS_ENDPOINT_URL", "")  # moto_server in tests; empty = real AWS
if FLOWUI_DEPLOY_MODE == "aws" and not AWS_ENDPOINT_URL and not (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY):
    raise ImproperlyConfigured(
        "AWS_ACCESS_KEY_ID: missing; FLOWUI_DEPLOY_MODE=aws needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    )
# The platform's EFS file system (aws mode); tenants get access points on it.
FLOWUI_EFS_FILE_SYSTEM_ID = env_str("FLOWUI_EFS_FILE_SYSTEM_ID", "")
# The Batch compute environment (name or ARN, created with the platform's infrastructure) tenants' job queues use.
FLOWUI_BATCH_COMPUTE_ENVIRONMENT = env_str("FLOWUI_BATCH_COMPUTE_ENVIRONMENT", "")

# The bundled operator collection, synced by `make run` as the default repository.
FLOWUI_BUNDLED_OPERATORS_URL = env_str("FLOWUI_BUNDLED_OPERATORS_URL", f"file://{BASE_DIR}")
FLOWUI_BUNDLED_OPERATORS_REF = env_str("FLOWUI_BUNDLED_OPERATORS_REF", "main")
# Where dependency-group virtualenvs are built for local execution.
FLOWUI_VENVS_DIR = env_path("FLOWUI_VENVS_DIR", "var/venvs")
# uv's download cache for dependency venv builds (wheels only): the platform's own by default.
FLOWUI_UV_CACHE_DIR = env_path("FLOWUI_UV_CACHE_DIR", str(Path.home() / ".cache" / "uv"))
# Bare clones of operator repositories (registry sync), and the limits of a schema extraction sandbox.
FLOWUI_GIT_CACHE_DIR = env_path("FLOWUI_GIT_CACHE_DIR", f"{_TEST_VAR}/git-cache" if TESTING else "var/git-cache")
FLOWUI_GIT_TIMEOUT_S = env_int("FLOWUI_GIT_TIMEOUT_S", 120)
# host or host:port entries a tenant repository may reach over plain http:// (their addresses are not checked).
FLOWUI_GIT_ALLOWED_HOSTS = env_list("FLOWUI_GIT_ALLOWED_HOSTS", "")
FLOWUI_INSPECT_TIMEOUT_S = env_int("FLOWUI_INSPECT_TIMEOUT_S", 20)
FLOWUI_INSPECT_MEMORY_MB = env_int("FLOWUI_INSPECT_MEMORY_MB", 2048)
FLOWUI_INSPECT_WORKERS = env_int("FLOWUI_INSPECT_WORKERS", 2)
# Build dependency-group venvs in the background after a sync (local mode); tests build them explicitly.
FLOWUI_VENVS_AUTOBUILD = env_bool("FLOWUI_VENVS_AUTOBUILD", not TESTING)
FLOWUI_TEST_VAR = env_path("FLOWUI_TEST_VAR", _TEST_VAR)
# Platform-only folder of per-tenant secrets files (<schema>.json, 0600) that Airflow's worker reads for
# local-mode tasks (flowui_runtime.secrets); never under VOLUME_MOUNT_PATH_HOST.
FLOWUI_SECRETS_DIR = env_path("FLOWUI_SECRETS_DIR", f"{_TEST_VAR}/secrets" if TESTING else "var/secrets")
# --- runs and notifications (workflows/logs.py, workflows/notifications.py) --------------------
# Extra host folders never shown in task logs (e.g. Airflow's home outside the checkout), comma list.
FLOWUI_LOG_HIDDEN_PATHS = env_list("FLOWUI_LOG_HIDDEN_PATHS", "")
# Run notifications: e-mail through Django's SMTP backend, Slack-compatible webhooks (tenant URLs, checked).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "flowui@localhost")
# Only for tests: let notification webhooks reach loopback/private addresses over http://.
FLOWUI_NOTIFY_ALLOW_PRIVATE = env_bool("FLOWUI_NOTIFY_ALLOW_PRIVATE", False)
# How often Celery beat looks for finished runs to notify about (seconds).
FLOWUI_NOTIFY_INTERVAL_S = env_int("FLOWUI_NOTIFY_INTERVAL_S", 10)
# Largest dataset a tenant user may upload (portal and API), in MiB; enforced while the upload streams in.
FLOWUI_UPLOAD_MAX_MB = env_int("FLOWUI_UPLOAD_MAX_MB", 100)
# Run results older than this are archived by housekeeping.
FLOWUI_RUNS_MAX_AGE_HOURS = env_int("FLOWUI_RUNS_MAX_AGE_HOURS", 24)
# Tenant provisioning (tenants/provisioning.py): POSIX ids of tenants' EFS access points start here
# (uid = gid = base + tenant id); archives of deleted tenants (local mode) go to this folder, in aws mode
# to the bucket FLOWUI_ARCHIVE_BUCKET (default "<PROJECT_NAME>-archive").
FLOWUI_TENANT_POSIX_ID_BASE = env_int("FLOWUI_TENANT_POSIX_ID_BASE", 20000)
FLOWUI_TENANT_ARCHIVE_DIR = env_path("FLOWUI_TENANT_ARCHIVE_DIR", f"{_TEST_VAR}/archive" if TESTING else "var/archive")
FLOWUI_ARCHIVE_BUCKET = env_str("FLOWUI_ARCHIVE_BUCKET", "")
FLOWUI_HOUSEKEEPING_INTERVAL_MINUTES = env_int("FLOWUI_HOUSEKEEPING_INTERVAL_MINUTES", 60)

# --- platform -----------------------------------------------------------------------------
FLOWUI_PRODUCTION = env_bool("FLOWUI_PRODUCTION", False)
SECRET_KEY = env_str("SECRET_KEY") if FLOWUI_PRODUCTION else env_str("SECRET_KEY", "dev-only-insecure-key-change-me")
# Fernet key material for credentials stored in the database (tokens, dedicated Airflow passwords).
FLOWUI_ENCRYPTION_KEY = env_str("FLOWUI_ENCRYPTION_KEY", SECRET_KEY)
DEBUG = env_bool("DEBUG", not FLOWUI_PRODUCTION)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,.localhost,127.0.0.1,testserver,.testserver")
# Origins (scheme://host[:port], `https://*.example.com` for tenant domains) whose unsafe requests pass the CSRF
# check; needed behind HTTPS when the Origin header is not the Host the request reached.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
if FLOWUI_PRODUCTION:
    # Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and strips it from clients' requests).
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("FLOWUI_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # container and load-balancer health checks speak plain HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("FLOWUI_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True  # tenants are sub-domains of the public domain
    SECURE_HSTS_PRELOAD = env_bool("FLOWUI_HSTS_PRELOAD", True)
FLOWUI_PUBLIC_DOMAIN = env_str("FLOWUI_PUBLIC_DOMAIN", "localhost")
FLOWUI_TENANT_DOMAIN_SUFFIX = env_str("FLOWUI_TENANT_DOMAIN_SUFFIX", "localhost")


def _database(url: str) -> dict:
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"} or not parsed.path.strip("/"):
        raise ImproperlyConfigured(f"DATABASE_URL: expected postgres://user@host:port/name, got {url!r}")
    return {
        "ENGINE": "django_tenants.postgresql_backend",
        "NAME": parsed.path.strip("/"),
        "USER": unquote(parsed.username or "postgres"),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "127.0.0.1",
        "PORT": str(parsed.port or 5432),
        "CONN_MAX_AGE": 0 if TESTING else 60,
        "TEST": {"NAME": f"test_{parsed.path.strip('/')}"},
    }


DATABASES = {"default": _database(DATABASE_URL)}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# django-tenants' backend (the ENGINE) builds on this one: Django's, with timestamps read by psycopg's C loader.
ORIGINAL_BACKEND = "flowui.postgresql"
# The per-request lookups run as prepared statements (flowui.postgresql); false behind a transaction-pooling proxy
# that cannot keep prepared statements (PgBouncer before 1.21, or with max_prepared_statements = 0).
FLOWUI_DB_PREPARED_STATEMENTS = env_bool("FLOWUI_DB_PREPARED_STATEMENTS", True)

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Django's cache: API rate-limit counters and login lockouts are shared by every web process through Redis.
FLOWUI_CACHE_URL = env_str("FLOWUI_CACHE_URL", REDIS_URL)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": FLOWUI_CACHE_URL,
        "KEY_PREFIX": f"{PROJECT_NAME}:{DATABASE_URL.rsplit('/', 1)[-1]}",
    }
}


def _rate(name: str, default: str) -> str:
    value = env_str(name, default)
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", value):
        raise ImproperlyConfigured(f"{name}: expected a rate like 600/min (N/s, N/min, N/hour, N/day), got {value!r}")
    return value


# Requests per API token (or logged-in user, or anonymous IP), and calls per webhook. Tests get high limits
# (the API fuzz tests send hundreds of requests a minute); the throttling tests set low ones.
FLOWUI_API_RATE = _rate("FLOWUI_API_RATE", "100000/min" if TESTING else "600/min")
FLOWUI_WEBHOOK_RATE = _rate("FLOWUI_WEBHOOK_RATE", "100000/min" if TESTING else "60/min")
# A webhook call's Idempotency-Key answers the first call's run for this long; housekeeping forgets older calls.
FLOWUI_WEBHOOK_IDEMPOTENCY_HOURS = env_int("FLOWUI_WEBHOOK_IDEMPOTENCY_HOURS", 7 * 24)
if FLOWUI_WEBHOOK_IDEMPOTENCY_HOURS < 1:
    raise ImproperlyConfigured("FLOWUI_WEBHOOK_IDEMPOTENCY_HOURS: expected at least 1 (hours)")

# Airflow shared by tenants that have no dedicated one.
AIRFLOW_URL = env_str("AIRFLOW_URL", "http://127.0.0.1:8280")
AIRFLOW_USERNAME = env_str("AIRFLOW_USERNAME", "admin")
AIRFLOW_PASSWORD = env_str("AIRFLOW_PASSWORD", "admin")
AIRFLOW_TIMEOUT_S = env_int("AIRFLOW_TIMEOUT_S", 10)
# /healthz calls an Airflow component stale when its last heartbeat is older than this.
FLOWUI_HEALTH_HEARTBEAT_MAX_AGE_S = env_int("FLOWUI_HEALTH_HEARTBEAT_MAX_AGE_S", 30)

# --- Django and apps ----------------------------------------------------------------------
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "registry",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files served by the platform: /api/docs/ works offline, no CDN
    "axes",
    "django_celery_beat",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "workflows",
]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
# Set the PostgreSQL search_path once per connection and tenant switch, not before every query (halves the
# queries of a portal request; see bench/editor_latency.py).
TENANT_LIMIT_SET_CALLS = env_bool("TENANT_LIMIT_SET_CALLS", True)
# New tenant schemas are cloned from this template schema (migrated once, re-migrated when tenant
# migrations change; see tenants/schemas.py). FLOWUI_TENANT_CLONE=false falls back to plain migrations.
TENANT_BASE_SCHEMA = "base_tenant"
TENANT_CREATION_FAKES_MIGRATIONS = True
FLOWUI_TENANT_CLONE = env_bool("FLOWUI_TENANT_CLONE", True)
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "flowui.urls_public"
ROOT_URLCONF = "flowui.urls_tenant"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False

MIDDLEWARE = [
    # HTTPS redirect and HSTS first, then static files (whitenoise: no tenant lookup, no database), then tenants.
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tenants.middleware.TenantRoutingMiddleware",  # django-tenants' host routing, fewer search_path SETs
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Caps dataset uploads while they stream in; before CsrfViewMiddleware, which may read the body.
    "datasets.uploads.DatasetUploadMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tenants.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.TenantAccessMiddleware",
    "axes.middleware.AxesMiddleware",
]

# Login brute force (django-axes): after FLOWUI_LOGIN_FAILURE_LIMIT failed logins for one username from one IP,
# that pair is locked out for FLOWUI_LOGIN_LOCKOUT_MINUTES (counters in the Redis cache); a success resets them.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
FLOWUI_LOGIN_FAILURE_LIMIT = env_int("FLOWUI_LOGIN_FAILURE_LIMIT", 5)
FLOWUI_LOGIN_LOCKOUT_MINUTES = env_int("FLOWUI_LOGIN_LOCKOUT_MINUTES", 15)
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = FLOWUI_LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=FLOWUI_LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

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
                "tenants.context_processors.tenant_context",
            ],
        },
    }
]

WSGI_APPLICATION = "flowui.wsgi.application"
ASGI_APPLICATION = "flowui.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = (
    []
    if DEBUG
    else [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    ]
)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_NAME = "flowui_session"  # host-only cookie: a session on one tenant domain is not sent to another

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# `collectstatic` writes here (make run and the image do); whitenoise serves it from the web process (gunicorn),
# with gzip/brotli variants made at collectstatic time. In DEBUG it also serves straight from STATICFILES_DIRS.
STATIC_ROOT = env_path("FLOWUI_STATIC_ROOT", "var/static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tenants.authentication.TenantTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        "flowui.throttling.AnonymousRateLimitAuthentication",  # last: rate-limits requests without credentials
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # DRF's JSON output written by orjson (flowui/renderers.py); the browsable API as before.
    "DEFAULT_RENDERER_CLASSES": ["flowui.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "flowui.pagination.PageNumberPagination",  # count and page in one query
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "flowui.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["flowui.throttling.ApiRateThrottle"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "FlowUI API",
    "DESCRIPTION": "Operators, workflows, deployments and runs of one tenant (use the tenant's domain).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from drf-spectacular-sidecar under /static/, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    # The anonymous rate limiter is an authentication class that authenticates nobody: not a security scheme.
    "AUTHENTICATION_WHITELIST": [
        "tenants.authentication.TenantTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Tests run tasks in-process unless they start a real worker (the `celery_worker` fixture).
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", TESTING)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
