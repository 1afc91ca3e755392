"""End to end through a real Celery worker on the real broker (Redis in CI) and PostgreSQL."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery_app import app
from loyalty.ledger.services import ledger_credit
from tests.factories import MemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker_queue():
    if not settings.TEST_CELERY_BROKER_URL:
        pytest.skip("needs a Celery broker: set CELERY_BROKER_URL=redis://... (.ci/run does)")
    queue = f"setia-test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": settings.TEST_CELERY_BROKER_URL,
        "SECRET_KEY": settings.SECRET_KEY,
        "FIELD_ENCRYPTION_KEY": ",".join(settings.FIELD_ENCRYPTION_KEYS),
    }
    worker = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield queue
    finally:
        worker.terminate()
        try:
            output, _ = worker.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            output, _ = worker.communicate()
        print(output[-4000:])  # shown when the test fails


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_release_task_runs_on_a_real_worker(worker_queue):
    now = timezone.now()
    member = MemberFactory()
    ledger_credit(
        member=member,
        points=120,
        idempotency_key="order:1:earn",
        source_type="order",
        now=now - timedelta(days=20),
        available_at=now - timedelta(minutes=1),
    )

    app.send_task("loyalty.ledger.tasks.release_due_points", queue=worker_queue)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        member.refresh_from_db()
        if member.points_balance:
            break
        time.sleep(0.2)
    assert (member.points_balance, member.points_pending) == (120, 0)
