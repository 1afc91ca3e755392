"""Dry run and apply on real-shaped files: matching, add and replace, tiers, idempotency."""

import pytest

from loyalty.audit.models import AuditEntry
from loyalty.imports import models, services
from loyalty.imports.models import ImportedRow, ImportJob, ImportStatus
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.services import ledger_credit
from loyalty.members.models import Member, MemberStatus
from loyalty.members.services import member_redact
from loyalty.tiers.models import TierHistory
from tests.factories import ShopFactory, TierFactory
from tests.imports.conftest import ACTOR, configured, member_with, read_fixture

pytestmark = pytest.mark.django_db


def applied(shop, data: bytes, *, mode: str, **kw) -> ImportJob:
    job = configured(shop, data, mode=mode, **kw)
    assert services.import_job_start_apply(job=job, actor=ACTOR) is True
    job.refresh_from_db()
    return job


def balances(shop) -> dict[str, int]:
    return dict(Member.objects.filter(shop=shop).values_list("email", "points_balance"))


@pytest.fixture
def smile_members(shop):
    """The shop's members before the switch: Siti and John (mixed case) and Rajesh."""
    return {
        "siti": member_with(shop, email="siti.aminah@example.com", points=100),
        "john": member_with(shop, email="John.Tan@Example.com", points=0),
        "rajesh": member_with(shop, email="RAJESH.K@example.com", points=25),
    }


def test_upload_detects_smile_and_records_who_uploaded(shop):
    job = services.import_job_create(
        shop=shop, actor=ACTOR, filename="smile.csv", data=read_fixture("smile_points.csv")
    )

    audit = AuditEntry.objects.get(action="imports.upload")
    assert (job.source, job.has_header, job.total_rows, job.status) == ("smile", True, 4, "mapping")
    assert job.created_by == ACTOR
    assert len(job.content_hash) == 64
    assert (audit.shop, audit.actor, audit.target_id) == (shop, ACTOR, str(job.pk))


def test_smile_dry_run_says_what_each_row_will_do_and_changes_nothing(shop, smile_members):
    job = configured(shop, read_fixture("smile_points.csv"), mode="add")

    rows = {row["number"]: row for row in job.plan["rows"]}
    assert job.status == ImportStatus.PLANNED
    assert job.plan["totals"] == {
        "new": 0,
        "update": 3,
        "unchanged": 0,
        "already_applied": 0,
        "skip": 1,
        "error": 0,
        "rows": 4,
        "points_added": 1625,
        "points_removed": 0,
        "tiers_set": 0,
        "matched_members": 3,
        "found_in_store": 0,
        "not_in_store": 1,
    }
    assert (rows[2]["action"], rows[2]["balance_before"], rows[2]["balance_after"]) == (
        "update",
        100,
        1300,
    )
    assert (rows[3]["email"], rows[3]["points_change"]) == ("john.tan@example.com", 350)
    assert rows[4]["action"] == "skip"
    assert rows[4]["problems"] == [{"code": "not_in_store"}]
    assert balances(shop) == {
        "siti.aminah@example.com": 100,
        "John.Tan@Example.com": 0,
        "RAJESH.K@example.com": 25,
    }
    assert not LedgerEntry.objects.filter(source_type="import").exists()


def test_smile_apply_adds_through_the_ledger_matching_emails_in_any_case(shop, smile_members):
    job = applied(shop, read_fixture("smile_points.csv"), mode="add", filename="smile.csv")

    assert job.status == ImportStatus.DONE
    assert balances(shop) == {
        "siti.aminah@example.com": 1300,
        "John.Tan@Example.com": 350,
        "RAJESH.K@example.com": 100,
    }
    entries = LedgerEntry.objects.filter(source_type="import").order_by("source_id")
    assert [(e.member.email, e.kind, e.points, e.source_id) for e in entries] == [
        ("siti.aminah@example.com", EntryKind.ADJUST, 1200, f"{job.content_hash[:16]}:2"),
        ("John.Tan@Example.com", EntryKind.ADJUST, 350, f"{job.content_hash[:16]}:3"),
        ("RAJESH.K@example.com", EntryKind.ADJUST, 75, f"{job.content_hash[:16]}:5"),
    ]
    assert entries[0].idempotency_key == f"import:{job.content_hash}:add:2"
    assert entries[0].actor == ACTOR
    assert (job.updated_count, job.skipped_count, job.error_count) == (3, 1, 0)
    assert (job.points_added, job.points_removed, job.processed_rows) == (1625, 0, 4)
    assert [p["number"] for p in job.apply_problems] == [4]
    assert AuditEntry.objects.filter(action="imports.apply", target_id=str(job.pk)).count() == 1
    assert bytes(job.content) == b""  # the file, personal data, is not kept once applied


def test_applying_the_same_file_again_changes_nothing(shop, smile_members):
    applied(shop, read_fixture("smile_points.csv"), mode="add")
    entries_before = LedgerEntry.objects.count()

    again = applied(shop, read_fixture("smile_points.csv"), mode="add")

    assert balances(shop) == {
        "siti.aminah@example.com": 1300,
        "John.Tan@Example.com": 350,
        "RAJESH.K@example.com": 100,
    }
    assert LedgerEntry.objects.count() == entries_before
    assert (again.already_applied_count, again.updated_count, again.points_added) == (3, 0, 0)


def test_the_second_dry_run_of_an_applied_file_says_it_is_already_imported(shop, smile_members):
    applied(shop, read_fixture("smile_points.csv"), mode="add")

    job = configured(shop, read_fixture("smile_points.csv"), mode="add")

    assert job.plan["totals"]["already_applied"] == 3
    assert job.plan["totals"]["points_added"] == 0


def test_replace_sets_the_balance_up_or_down_and_is_idempotent(shop):
    siti = member_with(shop, email="siti.aminah@example.com", points=2000)
    john = member_with(shop, email="john.tan@example.com", points=100)
    data = read_fixture("loyaltylion_shopify.csv")  # siti 1200, john 350, rajesh 75

    job = applied(shop, data, mode="replace")
    # The member earns after the import; the same file again must not take it back.
    ledger_credit(
        member=Member.objects.get(pk=john.pk), points=5, idempotency_key="later", source_type="t"
    )
    again = applied(shop, data, mode="replace")

    siti.refresh_from_db()
    john.refresh_from_db()
    assert (siti.points_balance, john.points_balance) == (1200, 355)
    entries = LedgerEntry.objects.filter(source_type="import").order_by("pk")
    assert [(e.member_id, e.points) for e in entries] == [(siti.pk, -800), (john.pk, 250)]
    assert (job.points_added, job.points_removed, job.skipped_count) == (250, 800, 1)
    assert again.already_applied_count == 2


def test_add_then_replace_of_the_same_file_ends_at_the_file_balance(shop):
    siti = member_with(shop, email="siti.aminah@example.com", points=10)
    data = b"email,points\nsiti.aminah@example.com,300\n"

    applied(shop, data, mode="add")
    applied(shop, data, mode="replace")

    siti.refresh_from_db()
    assert siti.points_balance == 300
    assert LedgerEntry.objects.filter(source_type="import").count() == 2


def test_replace_with_the_same_balance_writes_no_entry_but_marks_the_row(shop):
    siti = member_with(shop, email="siti.aminah@example.com", points=1200)

    job = applied(shop, b"email,points\nsiti.aminah@example.com,1200\n", mode="replace")

    siti.refresh_from_db()
    assert siti.points_balance == 1200
    assert job.unchanged_count == 1
    assert not LedgerEntry.objects.filter(source_type="import").exists()
    assert ImportedRow.objects.get(job=job).member == siti


def test_yotpo_bad_rows_are_reported_by_row_number_and_nothing_is_applied_for_them(shop):
    siti = member_with(shop, email="siti.aminah@example.com", first_name="", last_name="")
    john = member_with(shop, email="john.tan@example.com", points=5)
    mei = member_with(shop, email="mei.ling@example.com")
    rajesh = member_with(shop, email="rajesh.k@example.com", points=40, first_name="Raj")

    job = applied(shop, read_fixture("yotpo_customers.csv"), mode="replace")

    for member in (siti, john, mei, rajesh):
        member.refresh_from_db()
    assert siti.points_balance == 1200
    assert (siti.first_name, siti.last_name) == ("Siti", "Aminah")
    assert (siti.birthday_month, siti.birthday_day, siti.birthday_year) == (5, 17, None)
    assert (mei.birthday_month, mei.birthday_day) == (2, 29)
    assert john.points_balance == 5  # row 3: bad email
    assert (rajesh.points_balance, rajesh.first_name) == (40, "Raj")  # row 5: bad birthday
    assert rajesh.birthday_month is None
    assert [(p["number"], [x["code"] for x in p["problems"]]) for p in job.apply_problems] == [
        (3, ["bad_email"]),
        (5, ["bad_birthday"]),
    ]
    assert (job.updated_count, job.error_count) == (2, 2)
    spent_note = {"code": "spent_not_imported", "value": 300}
    assert spent_note in next(r for r in job.plan["rows"] if r["number"] == 2)["notes"]


def test_existing_names_and_birthdays_are_not_overwritten(shop):
    siti = member_with(
        shop, email="siti.aminah@example.com", first_name="Siti A.", birthday_month=1
    )
    siti.birthday_day = 2
    siti.save()

    applied(shop, read_fixture("yotpo_customers.csv"), mode="add")

    siti.refresh_from_db()
    assert (siti.first_name, siti.last_name) == ("Siti A.", "Rahman")
    assert (siti.birthday_month, siti.birthday_day) == (1, 2)


def test_a_customer_id_enrols_a_new_member_with_its_details(shop):
    job = applied(shop, read_fixture("growave_semicolon.csv"), mode="add")

    nur = Member.objects.get(shop=shop, platform_customer_id="6011111111")
    ahmad = Member.objects.get(shop=shop, platform_customer_id="6022222222")
    assert (nur.email, nur.first_name, nur.last_name, nur.points_balance) == (
        "nur.izzah@example.com",
        "Nur",
        "Izzah",
        151,
    )
    assert (nur.birthday_year, nur.birthday_month, nur.birthday_day) == (1994, 8, 21)
    assert (ahmad.points_balance, ahmad.birthday_year, ahmad.birthday_month) == (99, None, 3)
    assert job.created_count == 2
    rounded = {"code": "rounded", "value": "150.50", "points": 151}
    assert rounded in job.plan["rows"][0]["notes"]


def test_a_customer_id_matches_before_the_email(shop):
    member = member_with(shop, email="old-address@example.com", customer_id="6011111111")

    applied(shop, read_fixture("growave_semicolon.csv"), mode="add")

    member.refresh_from_db()
    assert member.points_balance == 151
    assert member.email == "old-address@example.com"


def test_an_email_of_another_customer_with_a_new_customer_id_is_skipped(shop):
    member_with(shop, email="nur.izzah@example.com", customer_id="5999")

    job = applied(shop, read_fixture("growave_semicolon.csv"), mode="add")

    assert not Member.objects.filter(platform_customer_id="6011111111").exists()
    assert job.apply_problems[0]["problems"] == [{"code": "email_taken", "customer_id": "5999"}]


def test_erased_and_excluded_members_are_skipped(shop):
    member_with(shop, email="siti.aminah@example.com", status=MemberStatus.EXCLUDED)

    job = applied(shop, b"email,points\nsiti.aminah@example.com,10\n", mode="add")

    assert job.skipped_count == 1
    assert job.apply_problems[0]["problems"] == [{"code": "member_not_active"}]
    assert not LedgerEntry.objects.filter(source_type="import").exists()


def test_a_customer_erased_at_their_request_is_not_enrolled_again(shop):
    member_with(shop, email="nur.izzah@example.com", customer_id="6011111111")
    member_redact(shop=shop, platform_customer_id="6011111111")

    job = applied(shop, read_fixture("growave_semicolon.csv"), mode="add")

    assert not Member.objects.filter(platform_customer_id="6011111111").exists()
    assert Member.objects.filter(shop=shop, status=MemberStatus.REDACTED).count() == 1
    assert job.apply_problems[0]["number"] == 2
    assert job.apply_problems[0]["problems"] == [{"code": "member_not_active"}]
    assert job.created_count == 1  # the other row's customer


def test_negative_points_in_add_mode_take_points_away_but_never_overdraw(shop):
    siti = member_with(shop, email="siti.aminah@example.com", points=50)
    john = member_with(shop, email="john.tan@example.com", points=10)
    data = b"Email,points\nsiti.aminah@example.com,-20\njohn.tan@example.com,-30\n"

    job = applied(shop, data, mode="add", source="joy")

    siti.refresh_from_db()
    john.refresh_from_db()
    assert (siti.points_balance, john.points_balance) == (30, 10)
    debit = LedgerEntry.objects.get(source_type="import")
    assert (debit.kind, debit.points) == (EntryKind.ADJUST, -20)
    assert job.apply_problems[0]["problems"] == [{"code": "overdraw", "points": 30, "balance": 10}]


def test_two_emails_shared_by_several_members_are_skipped(shop):
    member_with(shop, email="family@example.com")
    member_with(shop, email="Family@example.com")

    job = applied(shop, b"email,points\nfamily@example.com,10\n", mode="add")

    assert job.apply_problems[0]["problems"] == [{"code": "several_members", "count": 2}]


def test_smile_tiers_are_assigned_by_hand_and_the_entry_reward_is_credited_once(shop):
    gold = TierFactory(shop=shop, name="Gold", threshold=1000, entry_points=200)
    silver = TierFactory(shop=shop, name="Perak", threshold=500)
    siti = member_with(shop, email="siti.aminah@example.com")
    john = member_with(shop, email="john.tan@example.com")
    data = read_fixture("smile_vip_tiers.csv")

    refused = configured(shop, data, mode="add")
    job = applied(shop, data, mode="add", tier_map={"Silver": silver.pk})
    applied(shop, data, mode="add", tier_map={"silver": silver.pk})

    siti.refresh_from_db()
    john.refresh_from_db()
    assert [p["problems"] for p in refused.plan["rows"] if p["action"] == "error"] == [
        [{"code": "unknown_tier", "value": "Silver"}]
    ]
    assert (siti.tier, siti.tier_by_hand, john.tier) == (gold, True, silver)
    assert siti.points_balance == 200  # Gold's entry points, once
    assert TierHistory.objects.filter(member=siti, reason="manual").count() == 1
    assert job.plan["totals"]["tiers_set"] == 2


def test_a_points_history_file_moves_one_member_row_by_row(shop):
    member = member_with(shop, email="a@example.com", customer_id="6011", points=5)
    data = b"customer_id,points_amount,source\n6011,10,order\n6011,-12,redeem\n6099,7,order\n"

    job = configured(shop, data, mode="add")
    services.import_job_start_apply(job=job, actor=ACTOR)

    member.refresh_from_db()
    plan = [(r["number"], r["action"], r["balance_after"]) for r in job.plan["rows"]]
    assert plan == [(2, "update", 15), (3, "update", 3), (4, "new", 7)]
    assert member.points_balance == 3
    assert Member.objects.get(platform_customer_id="6099").points_balance == 7


def test_a_job_that_failed_half_way_resumes_from_its_last_row(shop, monkeypatch):
    siti = member_with(shop, email="siti.aminah@example.com")
    john = member_with(shop, email="john.tan@example.com")
    rajesh = member_with(shop, email="rajesh.k@example.com")
    job = configured(shop, read_fixture("loyaltylion_shopify.csv"), mode="add")
    real_apply_row = services._apply_row

    def fail_on_the_third_row(job, row, index, **kw):
        if index == 2:
            raise RuntimeError("worker lost")
        return real_apply_row(job, row, index, **kw)

    monkeypatch.setattr(services, "_apply_row", fail_on_the_third_row)
    services.import_job_start_apply(job=job, actor=ACTOR)
    job.refresh_from_db()
    failed = (job.status, job.processed_rows, job.failure)
    monkeypatch.setattr(services, "_apply_row", real_apply_row)
    resumed = services.import_job_start_apply(job=job, actor=ACTOR)

    job.refresh_from_db()
    for member in (siti, john, rajesh):
        member.refresh_from_db()
    assert failed == (ImportStatus.FAILED, 2, "RuntimeError: worker lost")
    assert resumed is True
    assert (job.status, job.processed_rows, job.updated_count) == (ImportStatus.DONE, 3, 3)
    assert (siti.points_balance, john.points_balance, rajesh.points_balance) == (1200, 350, 75)
    assert AuditEntry.objects.filter(action="imports.resume").count() == 1


def test_a_job_cannot_be_applied_twice_nor_before_its_dry_run(shop, smile_members):
    job = services.import_job_create(
        shop=shop, actor=ACTOR, filename="a.csv", data=read_fixture("smile_points.csv")
    )
    before_dry_run = services.import_job_start_apply(job=job, actor=ACTOR)
    job = configured(shop, read_fixture("smile_points.csv"), mode="add")
    services.import_job_start_apply(job=job, actor=ACTOR)

    again = services.import_job_start_apply(job=job, actor=ACTOR)

    assert (before_dry_run, again) == (False, False)
    assert balances(shop)["siti.aminah@example.com"] == 1300


def test_a_large_file_is_planned_and_applied_by_the_celery_tasks(
    shop, django_capture_on_commit_callbacks, monkeypatch
):
    # A Rivo points history: 60 movements of three customers, enrolled by the import; "large"
    # is 1,000 rows in production, 50 here to keep the test quick.
    lines = [f"{6001 + n % 3},{n}" for n in range(1, 61)]
    data = ("customer_id,points_amount\n" + "\n".join(lines) + "\n").encode()
    monkeypatch.setattr(models, "LARGE_FILE_ROWS", 50)
    monkeypatch.setattr(services, "APPLY_SLICE_ROWS", 25)
    slices = []
    real_slice = services.import_job_apply_slice

    def counted_slice(**kw):
        slices.append(kw["max_rows"])
        return real_slice(**kw)

    monkeypatch.setattr(services, "import_job_apply_slice", counted_slice)

    with django_capture_on_commit_callbacks(execute=True) as planned:
        job = configured(shop, data, mode="add")
    plan_status = ImportJob.objects.get(pk=job.pk).status
    with django_capture_on_commit_callbacks(execute=True) as started:
        services.import_job_start_apply(job=job, actor=ACTOR)

    job.refresh_from_db()
    enqueued = [getattr(c, "__qualname__", "").split(".")[0] for c in (*planned, *started)]
    assert enqueued.count("import_job_configure") == 1  # the dry run's task
    assert enqueued.count("import_job_start_apply") == 1  # the apply's first task
    assert plan_status == ImportStatus.PLANNED
    assert (job.source, job.total_rows) == ("rivo_history", 60)
    assert (job.status, job.processed_rows, job.error_count) == (ImportStatus.DONE, 60, 0)
    assert slices == [25, 25, 25]  # three task runs, each a new message
    balances_by_id = dict(
        Member.objects.filter(shop=shop).values_list("platform_customer_id", "points_balance")
    )
    assert balances_by_id == {
        "6001": sum(n for n in range(1, 61) if n % 3 == 0),
        "6002": sum(n for n in range(1, 61) if n % 3 == 1),
        "6003": sum(n for n in range(1, 61) if n % 3 == 2),
    }
    assert (job.created_count, job.updated_count) == (3, 57)


def test_another_shops_members_are_never_matched(shop):
    other = ShopFactory()
    outsider = member_with(other, email="siti.aminah@example.com", points=1)

    job = applied(shop, b"email,points\nsiti.aminah@example.com,10\n", mode="add")

    outsider.refresh_from_db()
    assert outsider.points_balance == 1
    assert job.skipped_count == 1


def test_a_runner_behind_the_jobs_progress_applies_and_counts_nothing(shop):
    siti = member_with(shop, email="siti.aminah@example.com")
    job = configured(shop, read_fixture("loyaltylion_shopify.csv"), mode="add")
    # Another runner has done the first row (a resume while a slow worker still ran).
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.APPLYING, processed_rows=1, started_at=job.created_at
    )
    job.refresh_from_db()
    rows = services._parsed_rows(job)

    plan = services._apply_row(
        job,
        rows[0],
        0,
        program=shop.program,
        tiers={},
        tier_ids=services._tier_lookup(job),
    )

    job.refresh_from_db()
    siti.refresh_from_db()
    assert plan is None
    assert siti.points_balance == 0
    assert (job.processed_rows, job.updated_count) == (1, 0)
    assert not ImportedRow.objects.exists()


def test_a_dry_run_under_way_cannot_be_reconfigured(shop):
    job = services.import_job_create(
        shop=shop, actor=ACTOR, filename="a.csv", data=read_fixture("smile_points.csv")
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.PLANNING)

    with pytest.raises(services.ImportRefused) as refused:
        services.import_job_configure(
            job=job,
            actor=ACTOR,
            source="smile",
            has_header=True,
            mapping=job.mapping,
            mode="add",
            tier_map={},
        )

    assert refused.value.code == "not_configurable"
