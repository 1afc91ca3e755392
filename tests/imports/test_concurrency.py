"""Real concurrency on PostgreSQL: two runners of one import (a resume while the first still
runs), and a re-upload of the same file applied at the same time."""

import pytest

from loyalty.imports import services
from loyalty.imports.models import ImportedRow, ImportJob, ImportStatus
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.members.models import Member
from tests.factories import ShopFactory
from tests.imports.conftest import ACTOR, configured
from tests.ledger.test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROWS = 120


def history_file() -> bytes:
    lines = [f"{8001 + n % 4},{n}" for n in range(1, ROWS + 1)]
    return ("customer_id,points_amount\n" + "\n".join(lines) + "\n").encode()


def expected_balances() -> dict[str, int]:
    return {str(8001 + k): sum(n for n in range(1, ROWS + 1) if n % 4 == k) for k in range(4)}


def balances(shop) -> dict[str, int]:
    return dict(
        Member.objects.filter(shop=shop).values_list("platform_customer_id", "points_balance")
    )


def test_two_runners_of_one_job_apply_and_count_every_row_once():
    shop = ShopFactory(access_token="shpat_x")
    job = configured(shop, history_file(), mode="add")
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.APPLYING, started_at=job.created_at, applied_by=ACTOR
    )

    outcomes = race(2, lambda i: services.import_job_apply_slice(job_id=job.pk, max_rows=ROWS))

    job.refresh_from_db()
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert (job.status, job.processed_rows, job.failure) == (ImportStatus.DONE, ROWS, "")
    assert (job.created_count + job.updated_count, job.already_applied_count) == (ROWS, 0)
    assert job.points_added == sum(range(1, ROWS + 1))
    assert balances(shop) == expected_balances()
    assert LedgerEntry.objects.filter(source_type="import").count() == ROWS
    assert ImportedRow.objects.count() == ROWS
    assert ledger_audit_members(members=list(Member.objects.filter(shop=shop))) == []


def test_the_same_file_applied_by_two_jobs_at_once_is_applied_once():
    shop = ShopFactory(access_token="shpat_x")
    jobs = [configured(shop, history_file(), mode="add") for _ in range(2)]
    for job in jobs:
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportStatus.APPLYING, started_at=job.created_at, applied_by=ACTOR
        )

    outcomes = race(2, lambda i: services.import_job_apply_slice(job_id=jobs[i].pk, max_rows=ROWS))

    for job in jobs:
        job.refresh_from_db()
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert [j.status for j in jobs] == [ImportStatus.DONE, ImportStatus.DONE]
    applied = sum(j.created_count + j.updated_count for j in jobs)
    already = sum(j.already_applied_count for j in jobs)
    assert (applied, already) == (ROWS, ROWS)
    assert balances(shop) == expected_balances()
    assert LedgerEntry.objects.filter(source_type="import").count() == ROWS
