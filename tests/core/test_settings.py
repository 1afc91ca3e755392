"""The configuration contract, checked in fresh interpreters with controlled environments."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
PROD_SECRET = "k" * 20 + "-production-secret-of-more-than-fifty-chars-0123"


def run_manage(*args, **env):
    """manage.py in a fresh interpreter that sees only `env` (no test settings, no .env leaks)."""
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(ROOT))}
    return subprocess.run(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", "ENV_FILE": "", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_value(name, **env):
    result = run_manage(
        "shell", "-c", f"from django.conf import settings; print(settings.{name})", **env
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_production_refuses_to_start_without_secret_key(tmp_path):
    result = run_manage(
        "check",
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_an_insecure_dev_secret_key(tmp_path):
    result = run_manage(
        "check",
        SECRET_KEY="django-insecure-" + "x" * 50,
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_refuses_to_start_without_field_encryption_key(tmp_path):
    result = run_manage("check", SECRET_KEY=PROD_SECRET, DATABASE_URL=f"sqlite:///{tmp_path}/x.db")

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be set" in result.stderr


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY=PROD_SECRET,
        FIELD_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        ALLOWED_HOSTS="setia.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path}/x.db",
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_no_environment_but_debug_means_sqlite_and_in_process_tasks():
    assert (
        settings_value("DATABASES['default']['ENGINE']", DEBUG="1") == "django.db.backends.sqlite3"
    )
    assert settings_value("CELERY_TASK_ALWAYS_EAGER", DEBUG="1") == "True"


def test_database_and_broker_urls_switch_to_postgres_and_a_real_broker():
    env = {
        "DEBUG": "1",
        "DATABASE_URL": "postgres://u:p@db.internal:5432/setia",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    }

    assert (
        settings_value("DATABASES['default']['ENGINE']", **env) == "django.db.backends.postgresql"
    )
    assert settings_value("CELERY_TASK_ALWAYS_EAGER", **env) == "False"
