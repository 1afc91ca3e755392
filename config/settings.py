"""Setia's settings: one module, configured from the environment (or a `.env` file).

With no environment at all this is a production configuration and refuses to start without
real secrets. `DEBUG=1` (what `make run` writes into `.env`) allows development defaults:
SQLite, in-process Celery tasks, a dev SECRET_KEY and an encryption key derived from it.
"""

import base64
import hashlib
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# The process environment wins over `.env`; ENV_FILE="" reads no file at all.
ENV_FILE = env.str("ENV_FILE", default=str(BASE_DIR / ".env"))
if ENV_FILE and Path(ENV_FILE).is_file():
    environ.Env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

DEV_SECRET_KEY = "django-insecure-setia-development-only-key-never-use-in-production"  # noqa: S105
SECRET_KEY = env.str("SECRET_KEY", default=DEV_SECRET_KEY if DEBUG else "")
if not DEBUG and (
    not SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50
):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of at least 50 characters "
        "(or set DEBUG=1 for development)."
    )


def _dev_field_encryption_key(secret_key: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()).decode()


# One or more Fernet keys, comma-separated; the first encrypts, all decrypt (key rotation).
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEY",
    default=[_dev_field_encryption_key(SECRET_KEY)] if DEBUG else [],
)
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEY must be set; generate one with: python -c "
        "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
    )

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
APP_URL = env.str("APP_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "loyalty.core",
    "loyalty.shops",
    "loyalty.members",
    "loyalty.ledger",
    "loyalty.earning",
    "loyalty.expiry",
    "loyalty.tiers",
    "loyalty.privacy",
    "loyalty.rewards",
    "loyalty.referrals",
    "loyalty.audit",
    "loyalty.api",
    "loyalty.imports",
    "loyalty.analytics",
    "loyalty.platforms.shopify",
    "storefront_widget",
    "loyalty.merchant_admin",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The embedded admin's language: Shopify's `locale` on the admin load, then Accept-Language.
    "loyalty.merchant_admin.middleware.AdminLocaleMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite: wait for the writer lock instead of failing at once; connections are cheap.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # The analytics covering index (CustomerDay, INCLUDE columns) is PostgreSQL's index-only
    # count; SQLite builds it on its key columns alone, which is all it needs there.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
# A second connection to the same database, opened only when used, for the write that must
# commit whatever the caller's transaction does: Shopify's rotated token pair (see
# loyalty/platforms/shopify/tokens.py). In tests it points at the same test database.
DATABASES["durable"] = {
    **DATABASES["default"],
    "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
    "TEST": {"MIRROR": "default"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's cache, from CACHE_URL. Unset: each process's own memory (zero setup, and enough for
# one process). With several web or worker processes, a shared one: redis://host:6379/1 (a
# database of its own, not the broker's). Redis calls time out like every outbound call.
CACHES = {"default": env.cache_url_config(env.str("CACHE_URL", default="") or "locmemcache://")}
CACHES["default"].setdefault("KEY_PREFIX", "setia")
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "loyalty.core.cache.SetiaRedisCache"  # see its docstring
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("socket_timeout", 2.0)
    CACHES["default"]["OPTIONS"].setdefault("socket_connect_timeout", 2.0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ms", "Bahasa Melayu"), ("ar", "العربية"), ("th", "ไทย")]
TIME_ZONE = "UTC"
USE_I18N = True
# Each admin area keeps its own catalogue; `make install` compiles them (msgfmt).
LOCALE_PATHS = [
    BASE_DIR / "loyalty" / "merchant_admin" / "locale",
    BASE_DIR / "loyalty" / "merchant_admin" / "program" / "locale",
    BASE_DIR / "loyalty" / "merchant_admin" / "widget" / "locale",
    BASE_DIR / "loyalty" / "imports" / "locale",
    BASE_DIR / "loyalty" / "analytics" / "locale",
]
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "loyalty.core.errors.api_exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    # /api/v1/: requests per API key (the cache is shared across processes with CACHE_URL).
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("API_RATE_LIMIT", default="600/min")},
}

# Celery: without a broker, tasks run in-process (eagerly) so `make run` needs no Redis.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 4
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Reuse database connections across tasks (see config/celery_app.py: connections that are
# unusable or older than CONN_MAX_AGE are still closed, as after a request).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_BEAT_SCHEDULE = {
    "ledger-release-due-points": {
        "task": "loyalty.ledger.tasks.release_due_points",
        "schedule": 60.0,
    },
    "earning-award-celebrations": {
        "task": "loyalty.earning.tasks.award_celebrations",
        "schedule": 60 * 60.0,
    },
    "shopify-sweep-webhook-inbox": {
        "task": "loyalty.platforms.shopify.tasks.sweep_webhook_inbox",
        "schedule": 60.0,
    },
    "ledger-expire-due-lots": {
        "task": "loyalty.ledger.tasks.expire_due_lots",
        "schedule": 15 * 60.0,
    },
    "expiry-expire-inactive-balances": {
        "task": "loyalty.expiry.tasks.expire_inactive_balances",
        "schedule": 60 * 60.0,
    },
    "expiry-send-reminders": {
        "task": "loyalty.expiry.tasks.send_expiry_reminders",
        "schedule": 60 * 60.0,
    },
    "shopify-reconcile-recent-orders": {
        "task": "loyalty.platforms.shopify.tasks.reconcile_recent_orders",
        "schedule": 30 * 60.0,
    },
    "tiers-check-downgrades": {
        "task": "loyalty.tiers.tasks.check_tier_downgrades",
        "schedule": 6 * 60 * 60.0,
    },
    "tiers-resync-member-tiers": {
        "task": "loyalty.tiers.tasks.resync_member_tiers",
        "schedule": 15 * 60.0,
    },
    "referrals-settle-pending-claims": {
        "task": "loyalty.referrals.tasks.settle_pending_claims",
        "schedule": 5 * 60.0,
    },
    "rewards-settle-pending-redemptions": {
        "task": "loyalty.rewards.tasks.settle_pending_redemptions",
        "schedule": 60.0,
    },
    "rewards-expire-unused-codes": {
        "task": "loyalty.rewards.tasks.expire_unused_codes",
        "schedule": 60 * 60.0,
    },
    "analytics-rollup-recent-days": {
        "task": "loyalty.analytics.tasks.rollup_recent_days",
        "schedule": 60 * 60.0,
    },
}

# The storefront widget's shop-wide catalogue (program, ways to earn, rewards, tiers) is cached
# per process this long; the shopper's own figures are always read fresh.
STOREFRONT_CACHE_SECONDS = env.int("STOREFRONT_CACHE_SECONDS", default=30)
# A signed-in shopper's whole `state` answer, kept in the shared cache at the member's version
# (storefront_widget.state.storefront_state_json); off: computed on every page view.
STOREFRONT_MEMBER_CACHE = env.bool("STOREFRONT_MEMBER_CACHE", default=True)

# Rewards: at most REWARDS_RATE_LIMIT redemptions per member in a sliding window.
REWARDS_RATE_LIMIT = env.int("REWARDS_RATE_LIMIT", default=5)
REWARDS_RATE_WINDOW_SECONDS = env.int("REWARDS_RATE_WINDOW_SECONDS", default=60)
# A store call whose answer never came may still be applied: its points are not returned until
# this long after it started (longer than any call can take), and only if no code turned up.
REWARDS_IN_DOUBT_GRACE_SECONDS = env.int("REWARDS_IN_DOUBT_GRACE_SECONDS", default=600)
# Orders may arrive up to a day late: an unused code is only expired this long after its end.
REWARDS_EXPIRED_CODE_GRACE_SECONDS = env.int("REWARDS_EXPIRED_CODE_GRACE_SECONDS", default=86400)

# Email (points expiry reminders), from EMAIL_URL, e.g. smtp+tls://user:password@host:587.
# Unset: printed to the console with DEBUG=1; otherwise not sent (reminders wait until it is set).
_EMAIL = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "dummymail://")
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_HOST = _EMAIL["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _EMAIL["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _EMAIL["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _EMAIL["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _EMAIL.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _EMAIL.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", default=10.0)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Setia <noreply@localhost>")

# Shopify (used from the Shopify integration on; declared here so the names are stable).
SHOPIFY_API_KEY = env.str("SHOPIFY_API_KEY", default="setia-dev-api-key" if DEBUG else "")
SHOPIFY_API_SECRET = env.str("SHOPIFY_API_SECRET", default="setia-dev-api-secret" if DEBUG else "")
SHOPIFY_SCOPES = env.list(
    "SHOPIFY_SCOPES",
    default=[
        "read_orders",
        "read_customers",
        "write_customers",
        "write_discounts",
        "write_app_proxy",
        "read_products",
    ],
)
# Requested, but a shop that has not granted them (installed before they were asked for) keeps
# working without what they serve: read_products only lets earn rules match collections and tags.
SHOPIFY_OPTIONAL_SCOPES = env.list("SHOPIFY_OPTIONAL_SCOPES", default=["read_products"])
# How long a product's tags and collections, read from the Admin API, serve orders before they
# are read again (one lookup per product per period, however many orders name it).
SHOPIFY_PRODUCT_FACTS_TTL = env.int("SHOPIFY_PRODUCT_FACTS_TTL", default=24 * 3600)
# The customer's points balance metafield follows every change, at most one Admin API call per
# member this often (loyalty/members/balance_sync.py); 0: only with tier changes.
SETIA_METAFIELD_SYNC_SECONDS = env.int("SETIA_METAFIELD_SYNC_SECONDS", default=60)
SHOPIFY_API_VERSION = env.str("SHOPIFY_API_VERSION", default="2026-10")
SHOPIFY_API_ORIGIN = env.str("SHOPIFY_API_ORIGIN", default="").rstrip("/")
# App Bridge for the embedded admin. Empty: Shopify's CDN, or the local stand-in's copy when
# SHOPIFY_API_ORIGIN points at the stand-in (development, tests).
APP_BRIDGE_URL = env.str("APP_BRIDGE_URL", default="")
SHOPIFY_HTTP_TIMEOUT = env.float("SHOPIFY_HTTP_TIMEOUT", default=10.0)
# Oldest install/callback `timestamp` accepted, in seconds.
SHOPIFY_OAUTH_MAX_AGE = env.int("SHOPIFY_OAUTH_MAX_AGE", default=3600)
SHOPIFY_WEBHOOK_TOPICS = [
    "orders/paid",
    "orders/create",
    "orders/updated",
    "orders/cancelled",
    "orders/fulfilled",
    "refunds/create",
    "customers/create",
    "customers/update",
    "app/uninstalled",
    "app/scopes_update",
]
SHOPIFY_WEBHOOK_MAX_ATTEMPTS = env.int("SHOPIFY_WEBHOOK_MAX_ATTEMPTS", default=8)
# A worker's batch takes up to this many more order deliveries waiting in the inbox than its
# task names: under a backlog, large batches (a few statements each) instead of many small.
SHOPIFY_WEBHOOK_BATCH_GATHER = env.int("SHOPIFY_WEBHOOK_BATCH_GATHER", default=200)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# `make bench` only (tests/benchmarks/): adds a bare view to compare webhook intake against.
BENCH_VIEWS = env.bool("SETIA_BENCH_VIEWS", default=False)
