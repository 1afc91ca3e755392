"""A large import end to end through a real Celery worker (PostgreSQL and a broker)."""

import time

import pytest

from loyalty.imports import models, services
from loyalty.imports.models import ImportStatus
from loyalty.members.models import Member
from tests.factories import ShopFactory
from tests.imports.conftest import configured
from tests.platforms.shopify.helpers import SHOP

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def wait_for(job, statuses, seconds=90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status in statuses:
            return job
        time.sleep(0.3)
    return job


def test_a_large_history_file_is_planned_and_applied_by_a_real_worker(tasks_to_worker, monkeypatch):
    # Large means 1,000 rows in production; here 20, so that 600 rows (two slices of 500 for
    # the worker) stay quick.
    monkeypatch.setattr(models, "LARGE_FILE_ROWS", 20)
    shop = ShopFactory(access_token="shpat_x")
    lines = [f"{7001 + n % 2},{n}" for n in range(1, 601)]
    data = ("customer_id,points_amount\n" + "\n".join(lines) + "\n").encode()

    job = configured(shop, data, mode="add", filename="rivo.csv")
    planned = wait_for(job, {ImportStatus.PLANNED, ImportStatus.FAILED})
    plan_totals = dict(planned.plan["totals"]) if planned.plan else None
    services.import_job_start_apply(job=job, actor="staff:42")
    done = wait_for(job, {ImportStatus.DONE, ImportStatus.FAILED})

    assert plan_totals is not None
    assert (plan_totals["new"], plan_totals["update"], plan_totals["error"]) == (2, 598, 0)
    assert (done.status, done.processed_rows, done.failure) == (ImportStatus.DONE, 600, "")
    balances = dict(
        Member.objects.filter(shop=shop).values_list("platform_customer_id", "points_balance")
    )
    assert balances == {
        "7001": sum(n for n in range(1, 601) if n % 2 == 0),
        "7002": sum(n for n in range(1, 601) if n % 2 == 1),
    }


@pytest.fixture
def standin_for_the_worker(shopify_standin, monkeypatch):
    """The worker is another process: it finds the stand-in through its environment (this
    fixture must come before the worker's in the test's arguments)."""
    monkeypatch.setenv("SHOPIFY_API_ORIGIN", shopify_standin.origin)
    return shopify_standin


def test_a_large_email_only_file_is_looked_up_in_the_store_by_a_real_worker(
    standin_for_the_worker, tasks_to_worker, shopify_shop, monkeypatch
):
    monkeypatch.setattr(models, "LARGE_FILE_ROWS", 20)
    store = standin_for_the_worker
    emails = [f"Pelanggan{n:02}@Example.com" for n in range(60)]
    for n in range(0, 60, 3):  # a third of them are the store's customers
        store.add_customer(SHOP, 5000 + n, email=emails[n].lower(), first_name=f"P{n}")
    data = ("email,points\n" + "".join(f"{e},{n + 1}\n" for n, e in enumerate(emails))).encode()

    job = configured(shopify_shop, data, mode="add", filename="smile.csv")
    planned = wait_for(job, {ImportStatus.PLANNED, ImportStatus.FAILED})
    plan_totals = dict(planned.plan["totals"]) if planned.plan else planned.failure
    services.import_job_start_apply(job=job, actor="staff:42")
    done = wait_for(job, {ImportStatus.DONE, ImportStatus.FAILED})

    assert (plan_totals["found_in_store"], plan_totals["not_in_store"]) == (20, 40)
    assert (done.status, done.created_count, done.skipped_count) == (ImportStatus.DONE, 20, 40)
    balances = dict(
        Member.objects.filter(shop=shopify_shop).values_list(
            "platform_customer_id", "points_balance"
        )
    )
    assert balances == {str(5000 + n): n + 1 for n in range(0, 60, 3)}
