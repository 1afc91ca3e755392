"""Test settings: production-shaped (DEBUG off), with throwaway secrets and fast hashing."""

import os

from cryptography.fernet import Fernet

os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 48)
os.environ.setdefault("FIELD_ENCRYPTION_KEY", Fernet.generate_key().decode())
os.environ.setdefault("SHOPIFY_API_KEY", "test-api-key")
os.environ.setdefault("SHOPIFY_API_SECRET", "test-api-secret")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
# No test may reach the real Shopify: server-to-Shopify calls go to a closed local port unless
# a test points them at the local stand-in.
os.environ.setdefault("SHOPIFY_API_ORIGIN", "http://127.0.0.1:9")
# Each test process keeps its own memory cache: a shared one would leak between test runs.
os.environ["CACHE_URL"] = ""
# Tests are production-shaped whatever a developer's shell or .env says.
os.environ["DEBUG"] = "0"

from config.settings import *  # noqa: F403
from config.settings import CELERY_BROKER_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Tests run tasks in-process; the end-to-end worker tests start a real worker on the broker.
CELERY_TASK_ALWAYS_EAGER = True
# Every test sees its own writes in the widget's answer (tests of the cache turn it on).
STOREFRONT_CACHE_SECONDS = 0
TEST_CELERY_BROKER_URL = CELERY_BROKER_URL
