"""The worker keeps its database connection across tasks, as Django does across requests."""

import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from config.celery_app import app
from loyalty.ledger.services import ledger_credit
from tests.factories import MemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def other_backends() -> list[tuple[int, object]]:
    """(pid, backend start) of every other connection to the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return sorted(cursor.fetchall())


def release_and_wait(worker_queue: str, member, points: int) -> None:
    now = timezone.now()
    ledger_credit(
        member=member,
        points=points,
        idempotency_key=f"test:{points}",
        source_type="order",
        now=now - timedelta(days=1),
        available_at=now - timedelta(seconds=1),
    )
    app.send_task("loyalty.ledger.tasks.release_due_points", queue=worker_queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        member.refresh_from_db()
        if member.points_pending == 0:
            return
        time.sleep(0.1)
    raise AssertionError("the worker did not run the task")


@pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored")
def test_worker_reuses_its_database_connection_across_tasks(worker_queue):
    member = MemberFactory()
    release_and_wait(worker_queue, member, 10)
    time.sleep(0.3)  # the task's post-run hook has run by now
    after_first = other_backends()

    release_and_wait(worker_queue, member, 20)
    release_and_wait(worker_queue, member, 30)
    time.sleep(0.3)

    # One connection, opened for the first task and still the same after the third.
    assert len(after_first) == 1
    assert other_backends() == after_first
    assert member.points_balance == 60
