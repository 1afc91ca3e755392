"""End to end through a real Celery worker on the real broker (Redis in CI) and PostgreSQL."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from config.celery_app import app
from loyalty.ledger.services import ledger_credit
from tests.factories import MemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


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
