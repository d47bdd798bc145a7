"""Jiaoguan settings: one module, every knob read from the environment with a documented default.

See docs/configuration.md for the list. ``JIAOGUAN_ENV`` is ``development`` (default) or ``production``;
in production every secret must come from the environment and the process refuses to start without them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import overload

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from jiaoguan.core.keys import load_key_list, load_keys
from jiaoguan.credentials.keys import load_signing_keys

# Django's generic classes subscriptable at run time (`admin.ModelAdmin[Person]`, `models.CharField[str, str]`), as
# the type stubs (django-stubs, checked by `make lint`) write them.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent.parent  # repository root
SRC_DIR = BASE_DIR / "src"
VAR_DIR = Path(os.environ.get("JIAOGUAN_VAR_DIR", BASE_DIR / "var"))


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None = None) -> str | None: ...
def env(name: str, default: str | None = None) -> str | None:
    """The environment variable ``name``; with a text default, always text (what the type checker sees of
    ``settings.X`` follows)."""
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


JIAOGUAN_ENV = env("JIAOGUAN_ENV", "development")
PRODUCTION = JIAOGUAN_ENV == "production"

# Secrets: Django's SECRET_KEY, the AES-GCM keys for personal fields (first one encrypts, all decrypt) and the
# key of the lookup hash. In development they are generated once into var/dev-keys.json.
_KEYS = load_keys(production=PRODUCTION, var_dir=VAR_DIR)
SECRET_KEY = _KEYS.secret_key
JIAOGUAN_FIELD_KEYS = _KEYS.field_keys  # list of (key id, 32-byte key), first = active
JIAOGUAN_HASH_KEY = _KEYS.hash_key
# Ed25519 keys that sign e-credentials (kid:base64 32-byte seed, …; first signs, all verify); development keys are
# generated into var/credential-keys.json, production refuses to start without them.
JIAOGUAN_CREDENTIAL_KEYS = load_signing_keys(production=PRODUCTION, var_dir=VAR_DIR)
JIAOGUAN_CREDENTIAL_VERIFY_RATE_PER_IP = env("JIAOGUAN_CREDENTIAL_VERIFY_RATE_PER_IP", "30/m")
# the issuing authority printed at the head of an e-credential's PDF (credentials/documents.py)
JIAOGUAN_CREDENTIAL_ISSUER_ZH = env("JIAOGUAN_CREDENTIAL_ISSUER_ZH", "深圳市公安局交通警察局")
JIAOGUAN_CREDENTIAL_ISSUER_EN = env("JIAOGUAN_CREDENTIAL_ISSUER_EN", "Traffic Police Bureau of Shenzhen Public Security Bureau")
# The audit log's signed tree heads (core.audit): Ed25519 keys like the credentials' (kid:base64 seed, first
# signs, all verify; development keys in var/audit-keys.json). A head every N sealed entries or T seconds; an
# entry left unsealed longer than the alarm threshold turns /api/v1/health/audit red.
JIAOGUAN_AUDIT_KEYS = load_key_list(env_name="JIAOGUAN_AUDIT_KEYS", dev_file="audit-keys.json", dev_kid="adev1",
                                    what="audit key (Ed25519)", production=PRODUCTION, var_dir=VAR_DIR)
JIAOGUAN_AUDIT_HEAD_EVERY = env_int("JIAOGUAN_AUDIT_HEAD_EVERY", 10_000)
JIAOGUAN_AUDIT_HEAD_SECONDS = env_int("JIAOGUAN_AUDIT_HEAD_SECONDS", 60)
JIAOGUAN_AUDIT_SEAL_BATCH = env_int("JIAOGUAN_AUDIT_SEAL_BATCH", 5_000)
JIAOGUAN_AUDIT_UNSEALED_ALARM_SECONDS = env_int("JIAOGUAN_AUDIT_UNSEALED_ALARM_SECONDS", 60)

DEBUG = env_bool("JIAOGUAN_DEBUG", not PRODUCTION)
# Behind N trusted reverse proxies, the client address is the Nth entry from the right of X-Forwarded-For.
JIAOGUAN_TRUSTED_PROXY_HOPS = env_int("JIAOGUAN_TRUSTED_PROXY_HOPS", 0)
ALLOWED_HOSTS = [h for h in env("JIAOGUAN_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("JIAOGUAN_DEBUG must be off in production")

# --- Transport and browser security (docs/security.md "Headers", "What production refuses") ----------------------
# HTTPS only in production: plain HTTP is redirected, HSTS tells browsers never to try HTTP again (a year, sub-domains,
# preload; each can be turned down by its variable), cookies are sent over HTTPS only. Behind a reverse proxy that
# terminates TLS, Django sees HTTP; it believes the proxy's X-Forwarded-Proto only when JIAOGUAN_TRUSTED_PROXY_HOPS > 0
# says a trusted proxy is in front (that proxy must overwrite the header a client sends).
SECURE_SSL_REDIRECT = env_bool("JIAOGUAN_SSL_REDIRECT", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("JIAOGUAN_HSTS_SECONDS", 365 * 86400 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("JIAOGUAN_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("JIAOGUAN_HSTS_PRELOAD", True)
if JIAOGUAN_TRUSTED_PROXY_HOPS > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (django-csp's middleware): scripts, styles, fonts and frames only from
# this origin — no inline <script>, no on*= handlers, no <style> blocks or style="…" attributes (they belong in
# core/static/jiaoguan/site.css and *.js); images also as data: URIs; no plugins; forms post only here; no page may
# be framed. The Django admin and the API docs (/admin/, /api/v1/docs) get the same policy: neither needs more.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "csp",
    "jiaoguan.core",
    "jiaoguan.identity",
    "jiaoguan.registry",
    "jiaoguan.notifications",
    "jiaoguan.payments",
    "jiaoguan.violations",
    "jiaoguan.bookings",
    "jiaoguan.exams",
    "jiaoguan.inspections",
    "jiaoguan.counters",
    "jiaoguan.eastern",
    "jiaoguan.plates",
    "jiaoguan.applications",
    "jiaoguan.postal",
    "jiaoguan.credentials",
    "jiaoguan.records",
    "jiaoguan.portal",
    "jiaoguan.console",
    "jiaoguan.demo",
]

MIDDLEWARE = [
    "jiaoguan.core.middleware.DatabaseUnavailableMiddleware",  # first: it also covers the other middleware's errors
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jiaoguan.core.middleware.PersonalNoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "jiaoguan.core.middleware.DomainErrorMiddleware",
]

ROOT_URLCONF = "jiaoguan.urls"
WSGI_APPLICATION = "jiaoguan.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# The database is unavailable (restarted, unreachable): 503 core.unavailable with this Retry-After (seconds)
JIAOGUAN_UNAVAILABLE_RETRY_AFTER_SECONDS = env_int("JIAOGUAN_UNAVAILABLE_RETRY_AFTER_SECONDS", 2)

# core.locks: how long a transaction waits for a lock before giving up with a 409 core.busy (seconds)
JIAOGUAN_LOCK_TIMEOUT = float(env("JIAOGUAN_LOCK_TIMEOUT", "10"))
# How many database connections the ranked allocation job uses at once on PostgreSQL (each a transaction over its
# share of the due slots; bookings.services.ranked)
JIAOGUAN_ALLOCATION_WORKERS = env_int("JIAOGUAN_ALLOCATION_WORKERS", 2)

# --- Database -------------------------------------------------------------------------------------------------
# DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/test) selects PostgreSQL; without it an embedded SQLite
# file in var/ in WAL mode whose transactions start with BEGIN IMMEDIATE, so writers are serialised (SQLite
# ignores SELECT ... FOR UPDATE).
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    # Persistent connections are checked before a request reuses one (CONN_HEALTH_CHECKS: one "SELECT 1"), so the
    # first request after PostgreSQL restarted reconnects instead of failing on a connection the restart killed.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("JIAOGUAN_DB_CONN_MAX_AGE", 60),
                                                  conn_health_checks=env_bool("JIAOGUAN_DB_CONN_HEALTH_CHECKS", True))}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env("JIAOGUAN_SQLITE_PATH", str(VAR_DIR / "jiaoguan.sqlite3")),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# core.rows.fetchone prepares its few fixed hot statements on PostgreSQL; 0 behind a pooler in transaction mode
JIAOGUAN_DB_PREPARED_STATEMENTS = env_bool("JIAOGUAN_DB_PREPARED_STATEMENTS", True)

# --- Cache, rate limits --------------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL and os.environ.get("PYTEST_XDIST_WORKER", "").startswith("gw"):
    # parallel test workers each get their own Redis database, so one worker's cache.clear() spares the others
    _db = 1 + int(os.environ["PYTEST_XDIST_WORKER"][2:])
    REDIS_URL = REDIS_URL.rsplit("/", 1)[0] + f"/{_db}" if REDIS_URL.count("/") >= 3 else f"{REDIS_URL}/{_db}"
if REDIS_URL:
    # a Redis that does not answer fails a request's rate limit within seconds (503, or served for public reads:
    # identity.ratelimit), it does not hang the web process
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}}
else:
    CACHES = {"default": {"BACKEND": "jiaoguan.core.cache.DatabaseCache", "LOCATION": "jiaoguan_cache"}}
# Rate limits and login lockouts live in this cache (identity.ratelimit), so it must be one cache for every web
# process (a per-process cache such as locmem would let each gunicorn worker admit "1 SMS a minute"). Without
# REDIS_URL it is the database (core.cache: the table core.models.CacheEntry, made by migrate, with row-locked
# read-modify-writes); production must set REDIS_URL (enforced below).

# --- Auth -----------------------------------------------------------------------------------------------------
AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = ["jiaoguan.identity.backends.PhoneOrUsernameBackend"]
SESSION_ENGINE = "jiaoguan.identity.sessions"  # Django's database sessions, the page's read prepared (core.rows)
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if env_bool("JIAOGUAN_FAST_HASHER", False) and not PRODUCTION:  # test runs only: argon2 costs ~50 ms per hash
    PASSWORD_HASHERS.insert(0, "django.contrib.auth.hashers.MD5PasswordHasher")
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "portal:login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("JIAOGUAN_SESSION_AGE", 60 * 60 * 8)  # also a staff member's API token lifetime
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION

# --- Language and time ----------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS: list = []  # each app keeps its own locale/ directory
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Request size limits: bodies beyond these get a 413 with a JSON or page error, never a 500.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("JIAOGUAN_MAX_BODY_BYTES", 256 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Background work ------------------------------------------------------------------------------------------
# Without a broker, Celery runs tasks eagerly (after commit) in the web process; `make run` also starts the
# scheduler loop (manage.py run_scheduler) that runs the periodic jobs Celery beat runs in production.
# With CELERY_BROKER_URL (Redis in production, e.g. redis://127.0.0.1:6379/2) tasks go to named queues, each
# consumed by its own worker (docs/deployment.md): the queue of a task is JIAOGUAN_TASK_QUEUES[name], else
# "periodic" for every job declared with core.scheduler.periodic, else "default" (core.scheduler.task_route).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = "default"
JIAOGUAN_TASK_QUEUES = {
    "core.outbox_deliver": "outbox",  # outbox events to their handlers (inbox messages, allocation results, …)
    "notifications.message_deliver": "sms",  # one SMS to the provider: slow calls kept apart from the rest
    "core.audit_seal": "audit",  # the audit sealer, every second: never behind a long periodic job
}
JIAOGUAN_CELERY_QUEUES = ("outbox", "sms", "audit", "periodic", "default")  # all of them: what workers consume
CELERY_TASK_ROUTES = ("jiaoguan.core.scheduler.task_route",)
# A task is acknowledged after it ran, not when a worker took it: a worker killed mid-task (SIGKILL, OOM, a lost
# machine) leaves it unacknowledged and the broker hands it to another worker — at once when only the pool process
# died (reject on worker lost), after the visibility timeout when the whole worker died. Every task is idempotent
# (outbox rows and SMS rows are locked and marked in the transaction that does the work), so a second run is
# harmless. One message at a time per worker process, so a killed worker holds back at most that one.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis transport: an unacknowledged message is given to another worker after the visibility timeout (seconds;
# longer than any task runs, or a slow task would run twice at once — harmless, but wasted); a broker that does
# not answer fails a publish within seconds instead of hanging a web request (the outbox sweep sends it later).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("JIAOGUAN_CELERY_VISIBILITY_TIMEOUT", 3600),
    "unacked_restore_interval": env_int("JIAOGUAN_CELERY_RESTORE_INTERVAL", 10),
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": 3,
    "socket_timeout": 10,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}

# --- Domain knobs ---------------------------------------------------------------------------------------------
JIAOGUAN_CITY_NAME = env("JIAOGUAN_CITY_NAME", "深圳")
JIAOGUAN_PLATE_PREFIX = env("JIAOGUAN_PLATE_PREFIX", "粤B")

# Registry and violations: overrides of the DEFAULTS in registry/partners.py, registry/health.py and
# violations/conf.py (a dict of the keys to change; empty: DOMAIN's values)
JIAOGUAN_PARTNERS: dict = {}
JIAOGUAN_HEALTH_CHECKS: dict = {}
JIAOGUAN_VIOLATIONS: dict = {}

# Login lockout: after N failures within the window the account is locked for the lock period.
JIAOGUAN_LOGIN_MAX_FAILURES = env_int("JIAOGUAN_LOGIN_MAX_FAILURES", 5)
JIAOGUAN_LOGIN_LOCK_MINUTES = env_int("JIAOGUAN_LOGIN_LOCK_MINUTES", 30)
# A login without an account keeps a "shadow" failure counter this long after its last failure (30 days).
JIAOGUAN_LOGIN_SHADOW_TTL_SECONDS = env_int("JIAOGUAN_LOGIN_SHADOW_TTL_SECONDS", 30 * 86400)
# One-time SMS codes.
JIAOGUAN_OTP_TTL_SECONDS = env_int("JIAOGUAN_OTP_TTL_SECONDS", 300)
JIAOGUAN_OTP_MAX_ATTEMPTS = env_int("JIAOGUAN_OTP_MAX_ATTEMPTS", 5)
# SMS rate limits (django-ratelimit syntax): per phone number and per client IP.
JIAOGUAN_SMS_RATE_PER_PHONE = env("JIAOGUAN_SMS_RATE_PER_PHONE", "5/h")
JIAOGUAN_SMS_RATE_PER_PHONE_MIN = env("JIAOGUAN_SMS_RATE_PER_PHONE_MIN", "1/m")
JIAOGUAN_SMS_RATE_PER_IP = env("JIAOGUAN_SMS_RATE_PER_IP", "20/h")
# Login attempts per client IP (sliding window), and binding requests per user (stops guessing VIN digits).
JIAOGUAN_LOGIN_RATE_PER_IP = env("JIAOGUAN_LOGIN_RATE_PER_IP", "60/m")
# 预留手机号变更 online (identity.services.phone_on_file): the change waits this long before it takes effect, while
# the old number can stop it with the code it was sent; after such an objection the person changes it at a window
# for this many days; objection codes tried per client IP.
JIAOGUAN_PHONE_FILE_COOLING_HOURS = env_int("JIAOGUAN_PHONE_FILE_COOLING_HOURS", 72)
JIAOGUAN_PHONE_FILE_BLOCK_DAYS = env_int("JIAOGUAN_PHONE_FILE_BLOCK_DAYS", 30)
JIAOGUAN_PHONE_FILE_OBJECT_RATE_PER_IP = env("JIAOGUAN_PHONE_FILE_OBJECT_RATE_PER_IP", "10/h")
JIAOGUAN_BIND_RATE_PER_USER = env("JIAOGUAN_BIND_RATE_PER_USER", "10/h")
# Vehicle binding (DOMAIN §1).
JIAOGUAN_MAX_OTHER_VEHICLES = env_int("JIAOGUAN_MAX_OTHER_VEHICLES", 2)
JIAOGUAN_MAX_USERS_PER_VEHICLE = env_int("JIAOGUAN_MAX_USERS_PER_VEHICLE", 3)
# Bearer tokens for apps: a citizen's or an enterprise's lasts this many days; a staff member's no longer than a
# console session, SESSION_COOKIE_AGE above (the one setting for both: identity.rules.token_ends_at).
JIAOGUAN_TOKEN_TTL_DAYS = env_int("JIAOGUAN_TOKEN_TTL_DAYS", 30)

# SMS delivery: "console" (development: writes var/sms-outbox.log and keeps the last messages in memory) or
# "http" (provider adapters with failover; JIAOGUAN_SMS_PROVIDERS is a comma-separated list of base URLs,
# first = primary).
JIAOGUAN_SMS_BACKEND = env("JIAOGUAN_SMS_BACKEND", "console")
JIAOGUAN_SMS_PROVIDERS = [u for u in env("JIAOGUAN_SMS_PROVIDERS", "").split(",") if u]
JIAOGUAN_SMS_PROVIDER_KEY = env("JIAOGUAN_SMS_PROVIDER_KEY", "dev-provider-key")
JIAOGUAN_SMS_HTTP_TIMEOUT = float(env("JIAOGUAN_SMS_HTTP_TIMEOUT", "5"))
JIAOGUAN_SMS_HTTP_RETRIES = env_int("JIAOGUAN_SMS_HTTP_RETRIES", 2)
JIAOGUAN_SMS_OUTBOX_FILE = env("JIAOGUAN_SMS_OUTBOX_FILE", str(VAR_DIR / "sms-outbox.log"))
# Message delivery: attempts before a message ends as failed; backoff base in seconds (doubles each attempt).
JIAOGUAN_DELIVERY_MAX_ATTEMPTS = env_int("JIAOGUAN_DELIVERY_MAX_ATTEMPTS", 5)
JIAOGUAN_DELIVERY_BACKOFF_SECONDS = env_int("JIAOGUAN_DELIVERY_BACKOFF_SECONDS", 30)
# Outbox events: attempts and backoff for handlers.
JIAOGUAN_OUTBOX_MAX_ATTEMPTS = env_int("JIAOGUAN_OUTBOX_MAX_ATTEMPTS", 8)
JIAOGUAN_OUTBOX_BACKOFF_SECONDS = env_int("JIAOGUAN_OUTBOX_BACKOFF_SECONDS", 15)

# Payments (payments app). Payment references (缴款编号) come from a number range reserved for the traffic police.
JIAOGUAN_PAY_REFERENCE_PREFIX = env("JIAOGUAN_PAY_REFERENCE_PREFIX", "44039")
# Enabled channels (comma-separated); empty = the local simulator in development, none in production.
_pay_channels = env("JIAOGUAN_PAY_CHANNELS", "")
JIAOGUAN_PAY_CHANNELS = [c for c in _pay_channels.split(",") if c] if _pay_channels else None
JIAOGUAN_PAY_DEFAULT_CHANNEL = env("JIAOGUAN_PAY_DEFAULT_CHANNEL", "sim")
JIAOGUAN_PAY_SIM_KEY = env("JIAOGUAN_PAY_SIM_KEY", "dev-sim-channel-key")
JIAOGUAN_PAY_SIM_NOTIFY_URL = env("JIAOGUAN_PAY_SIM_NOTIFY_URL", "")  # empty = callbacks delivered in-process
JIAOGUAN_PAY_SIM_AUTO_NOTIFY = env_bool("JIAOGUAN_PAY_SIM_AUTO_NOTIFY", True)
JIAOGUAN_PAY_ORDER_MINUTES = env_int("JIAOGUAN_PAY_ORDER_MINUTES", 30)
# applications: working days to pay a service's fee after submitting (unpaid by the end of the last one, it lapses)
JIAOGUAN_FEE_PAYMENT_WORKDAYS = env_int("JIAOGUAN_FEE_PAYMENT_WORKDAYS", 3)
JIAOGUAN_PAY_LATE_FEE_GRACE_DAYS = env_int("JIAOGUAN_PAY_LATE_FEE_GRACE_DAYS", 15)
JIAOGUAN_PAY_LATE_FEE_DAILY_PERCENT = env_int("JIAOGUAN_PAY_LATE_FEE_DAILY_PERCENT", 3)
JIAOGUAN_PAY_REFUND_MAX_ATTEMPTS = env_int("JIAOGUAN_PAY_REFUND_MAX_ATTEMPTS", 8)
# A channel's callback whose timestamp is further than this from now (either way) is refused (issue 10 item 6).
JIAOGUAN_PAY_CALLBACK_MAX_SKEW_SECONDS = env_int("JIAOGUAN_PAY_CALLBACK_MAX_SKEW_SECONDS", 300)
# Channel adapters by name (payments.channels reaches each one only through this map; the simulator stands apart).
JIAOGUAN_PAY_CHANNEL_ADAPTERS = {"sim": "jiaoguan.payments.simulator.SimulatorChannel"}

# Postal delivery (postal app): the carrier adapter; "sim" is the local simulator (development and tests only).
# Unset (None): the simulator in development, no carrier at all in production (postal.carriers.configured_carrier).
JIAOGUAN_POSTAL_CARRIER = env("JIAOGUAN_POSTAL_CARRIER")
# Carrier adapters by name (postal.carriers reaches each one only through this map; the simulator stands apart).
JIAOGUAN_POSTAL_CARRIER_ADAPTERS = {"sim": "jiaoguan.postal.simulator.SimulatorCarrier"}
JIAOGUAN_POSTAL_SIM_KEY_ID = env("JIAOGUAN_POSTAL_SIM_KEY_ID", "sim-1")
JIAOGUAN_POSTAL_SIM_KEY = env("JIAOGUAN_POSTAL_SIM_KEY", "dev-postal-sim-key")
# Previous simulator keys (key id -> secret) still accepted during a rotation.
JIAOGUAN_POSTAL_SIM_PREVIOUS_KEYS: dict[str, str] = {}
JIAOGUAN_POSTAL_SIM_SERVICE = env("JIAOGUAN_POSTAL_SIM_SERVICE", "EA")  # the two S10 service letters
JIAOGUAN_POSTAL_SIM_NOTIFY_URL = env("JIAOGUAN_POSTAL_SIM_NOTIFY_URL", "")  # empty = callbacks delivered in-process
JIAOGUAN_POSTAL_SIM_AUTO_NOTIFY = env_bool("JIAOGUAN_POSTAL_SIM_AUTO_NOTIFY", True)
JIAOGUAN_POSTAL_CALLBACK_MAX_SKEW_SECONDS = env_int("JIAOGUAN_POSTAL_CALLBACK_MAX_SKEW_SECONDS", 300)
JIAOGUAN_POSTAL_REBOOK_MINUTES = env_int("JIAOGUAN_POSTAL_REBOOK_MINUTES", 5)
JIAOGUAN_POSTAL_BOOKING_MAX_ATTEMPTS = env_int("JIAOGUAN_POSTAL_BOOKING_MAX_ATTEMPTS", 6)

# Overrides of the plates, eastern and inspections apps' defaults (their conf.py DEFAULTS): only the keys to change
JIAOGUAN_PLATES: dict = {}
JIAOGUAN_EASTERN: dict = {}
JIAOGUAN_INSPECTIONS: dict = {}

# Production refuses development defaults that would be unsafe with real citizens' data.
if PRODUCTION:
    _problems = []
    if JIAOGUAN_SMS_BACKEND == "console":
        _problems.append("JIAOGUAN_SMS_BACKEND=console would write one-time codes to a file: configure 'http'")
    if JIAOGUAN_SMS_BACKEND == "http" and (not JIAOGUAN_SMS_PROVIDERS or JIAOGUAN_SMS_PROVIDER_KEY == "dev-provider-key"):
        _problems.append("JIAOGUAN_SMS_PROVIDERS and a real JIAOGUAN_SMS_PROVIDER_KEY are required")
    if JIAOGUAN_PAY_CHANNELS and "sim" in JIAOGUAN_PAY_CHANNELS:
        _problems.append("the payment simulator (JIAOGUAN_PAY_CHANNELS=sim) lets anyone 'pay': not in production")
    if JIAOGUAN_PAY_SIM_KEY == "dev-sim-channel-key" and JIAOGUAN_PAY_CHANNELS and "sim" in JIAOGUAN_PAY_CHANNELS:
        _problems.append("JIAOGUAN_PAY_SIM_KEY is the development key")
    if JIAOGUAN_POSTAL_CARRIER == "sim":
        _problems.append("the postal simulator (JIAOGUAN_POSTAL_CARRIER=sim) delivers nothing: not in production")
    if not REDIS_URL:
        _problems.append("REDIS_URL is required: rate limits and lockouts must be shared by every web process")
    if _problems:
        raise ImproperlyConfigured("production settings refused: " + "; ".join(_problems))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("JIAOGUAN_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "celery.app.trace": {"level": "WARNING"}},
}
