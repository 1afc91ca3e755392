"""Rows that give only an email no member has (Smile.io's `email,points`, Yotpo, LoyaltyLion for
Shopify): the dry run looks the emails up in the store (the Shopify stand-in, over real HTTP);
customers found are enrolled on apply, the others are skipped with the reason."""

import pytest
from django.test import override_settings
from django.urls import reverse

from loyalty.imports import models, services
from loyalty.imports.models import ImportJob, ImportStatus
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.members.models import Member
from tests.factories import ShopFactory
from tests.imports.conftest import ACTOR, configured, member_with
from tests.merchant_admin.helpers import admin_get, admin_post
from tests.platforms.shopify.helpers import SHOP

pytestmark = pytest.mark.django_db

SMILE_FILE = (
    b"email,points\n"
    b"siti.aminah@example.com,1200\n"
    b"NUR.Aina@Example.COM,300\n"
    b"mei.ling@example.com,50\n"
    b"john.tan@example.com,0\n"
)


@pytest.fixture
def store(shopify_standin):
    """The store's customers: three of the file's four emails (one stored in mixed case)."""
    shopify_standin.add_customer(
        SHOP, 7101, email="siti.aminah@example.com", first_name="Siti", last_name="Aminah"
    )
    shopify_standin.add_customer(SHOP, 7102, email="nur.aina@example.com", first_name="Nur")
    shopify_standin.add_customer(SHOP, 7103, email="John.Tan@Example.com", last_name="Tan")
    return shopify_standin


@pytest.fixture
def fast_waits(monkeypatch):
    monkeypatch.setattr("loyalty.platforms.shopify.admin_api.MAX_WAIT_SECONDS", 0.2)


def customer_searches(standin):
    return [
        r
        for r in standin.requests
        if r.target == "graphql" and "customers(" in ((r.json or {}).get("query") or "")
    ]


def applied(job: ImportJob) -> ImportJob:
    assert services.import_job_start_apply(job=job, actor=ACTOR) is True
    job.refresh_from_db()
    return job


def members(shop) -> dict[str, tuple]:
    return {
        m.email: (m.platform_customer_id, m.first_name, m.last_name, m.points_balance)
        for m in Member.objects.filter(shop=shop)
    }


def test_a_smile_file_on_a_fresh_shop_plans_to_enrol_the_store_customers_and_skip_the_rest(
    shop, store
):
    job = configured(shop, SMILE_FILE, mode="add", filename="smile.csv")

    rows = {row["number"]: row for row in job.plan["rows"]}
    assert job.status == ImportStatus.PLANNED
    assert job.plan["totals"] == {
        "new": 3,
        "update": 0,
        "unchanged": 0,
        "already_applied": 0,
        "skip": 1,
        "error": 0,
        "rows": 4,
        "points_added": 1500,
        "points_removed": 0,
        "tiers_set": 0,
        "matched_members": 0,
        "found_in_store": 3,
        "not_in_store": 1,
    }
    assert [(n, r["action"], r["customer_id"], r["matched"]) for n, r in rows.items()] == [
        (2, "new", "7101", "store"),
        (3, "new", "7102", "store"),
        (4, "skip", "", ""),
        (5, "new", "7103", "store"),
    ]
    assert rows[4]["problems"] == [{"code": "not_in_store"}]
    assert job.customer_lookups == {
        "john.tan@example.com": {"id": "7103", "first_name": "", "last_name": "Tan"},
        "mei.ling@example.com": None,
        "nur.aina@example.com": {"id": "7102", "first_name": "Nur", "last_name": ""},
        "siti.aminah@example.com": {"id": "7101", "first_name": "Siti", "last_name": "Aminah"},
    }
    assert not Member.objects.filter(shop=shop).exists()
    assert not LedgerEntry.objects.filter(source_type="import").exists()
    [search] = customer_searches(store)
    assert search.json["variables"]["query"] == (
        'email:"john.tan@example.com" OR email:"mei.ling@example.com" '
        'OR email:"nur.aina@example.com" OR email:"siti.aminah@example.com"'
    )


def test_applying_enrols_the_customers_found_with_the_store_names_and_asks_the_store_nothing(
    shop, store
):
    job = configured(shop, SMILE_FILE, mode="add", filename="smile.csv")
    searches_after_dry_run = len(customer_searches(store))

    job = applied(job)

    assert job.status == ImportStatus.DONE
    assert members(shop) == {
        "siti.aminah@example.com": ("7101", "Siti", "Aminah", 1200),
        "nur.aina@example.com": ("7102", "Nur", "", 300),
        "john.tan@example.com": ("7103", "", "Tan", 0),
    }
    entries = LedgerEntry.objects.filter(source_type="import").order_by("source_id")
    assert [(e.member.platform_customer_id, e.kind, e.points, e.source_id) for e in entries] == [
        ("7101", EntryKind.ADJUST, 1200, f"{job.content_hash[:16]}:2"),
        ("7102", EntryKind.ADJUST, 300, f"{job.content_hash[:16]}:3"),
    ]
    assert (job.created_count, job.skipped_count, job.points_added) == (3, 1, 1500)
    assert [(p["number"], p["problems"]) for p in job.apply_problems] == [
        (4, [{"code": "not_in_store"}])
    ]
    assert len(customer_searches(store)) == searches_after_dry_run == 1
    assert job.customer_lookups == {}  # personal data dropped with the file


def test_names_in_the_file_win_over_the_store(shop, store):
    data = b"Email,First Name,Last Name,Points Balance\nsiti.aminah@example.com,Siti A.,,40\n"

    job = applied(configured(shop, data, mode="add", source="yotpo"))

    assert job.status == ImportStatus.DONE
    assert members(shop) == {"siti.aminah@example.com": ("7101", "Siti A.", "Aminah", 40)}


def test_a_member_holding_the_store_customer_id_under_another_email_is_matched_not_enrolled(
    shop, store
):
    old = member_with(shop, email="siti@old-mail.example", customer_id="7101", points=10)
    data = b"email,points\nsiti.aminah@example.com,90\n"

    job = configured(shop, data, mode="add")
    job = applied(job)

    old.refresh_from_db()
    assert Member.objects.filter(shop=shop).count() == 1
    assert old.points_balance == 100
    assert (job.created_count, job.updated_count) == (0, 1)


def test_an_email_a_member_has_is_matched_without_asking_the_store(shop, store):
    member_with(shop, email="Siti.Aminah@Example.com", points=5)
    data = b"email,points\nsiti.aminah@example.com,10\n"

    job = configured(shop, data, mode="add")

    assert (job.plan["totals"]["matched_members"], job.plan["totals"]["found_in_store"]) == (1, 0)
    assert customer_searches(store) == []


def test_more_emails_than_one_store_batch_are_all_resolved(shop, shopify_standin):
    emails = [f"pelanggan{n:03}@example.com" for n in range(130)]
    for n in range(0, 130, 2):
        shopify_standin.add_customer(SHOP, 8000 + n, email=emails[n].upper())
    data = ("email,points\n" + "".join(f"{e},{n + 1}\n" for n, e in enumerate(emails))).encode()

    job = configured(shop, data, mode="add")

    totals = job.plan["totals"]
    assert (totals["found_in_store"], totals["not_in_store"], totals["new"]) == (65, 65, 65)
    searches = customer_searches(shopify_standin)
    assert [s.json["variables"]["query"].count("email:") for s in searches] == [50, 50, 30]
    job = applied(job)
    assert Member.objects.filter(shop=shop).count() == 65
    assert Member.objects.get(platform_customer_id="8128").points_balance == 129


def test_a_throttled_lookup_is_waited_out_and_the_dry_run_completes(shop, store):
    store.faults.push("throttled")

    job = configured(shop, SMILE_FILE, mode="add")

    assert job.status == ImportStatus.PLANNED
    assert job.plan["totals"]["found_in_store"] == 3
    assert [s.fault for s in customer_searches(store)] == ["throttled", None]


def test_a_store_failing_makes_the_dry_run_say_so_and_nothing_is_applied(shop, store, fast_waits):
    store.faults.push("500", count=10)

    job = configured(shop, SMILE_FILE, mode="add")

    assert job.status == ImportStatus.FAILED
    assert job.store_lookup_failed is True
    assert job.failure == "http_error_500: Shopify answered 500"
    assert (job.plan, job.customer_lookups) == (None, {})
    assert services.import_job_start_apply(job=job, actor=ACTOR) is False
    assert not Member.objects.filter(shop=shop).exists()
    assert not LedgerEntry.objects.filter(source_type="import").exists()


@override_settings(SHOPIFY_HTTP_TIMEOUT=0.3)
def test_a_store_not_answering_in_time_fails_the_dry_run_and_it_can_be_run_again(
    shop, store, fast_waits, monkeypatch
):
    monkeypatch.setattr("loyalty.platforms.shopify.gateway.CUSTOMER_SEARCH_MAX_ATTEMPTS", 2)
    store.faults.push("slow", count=2, delay=1.0)

    failed = configured(shop, SMILE_FILE, mode="add")
    failed_with = (failed.status, failed.failure_code)
    again = services.import_job_replan(job=failed)

    assert failed_with == (ImportStatus.FAILED, "store_lookup")
    assert again.status == ImportStatus.PLANNED
    assert again.plan["totals"]["found_in_store"] == 3
    assert applied(again).created_count == 3


def test_a_job_that_did_not_fail_on_the_store_is_not_planned_again(shop, store):
    job = configured(shop, SMILE_FILE, mode="add")
    searches = len(customer_searches(store))

    again = services.import_job_replan(job=job)

    assert again.status == ImportStatus.PLANNED
    assert len(customer_searches(store)) == searches


def test_reapplying_the_same_file_changes_nothing_and_asks_only_about_the_email_not_found(
    shop, store
):
    first = applied(configured(shop, SMILE_FILE, mode="add"))
    before = (members(shop), LedgerEntry.objects.count())
    searches = len(customer_searches(store))

    second = applied(configured(shop, SMILE_FILE, mode="add"))

    assert first.created_count == 3
    assert (second.plan["totals"]["already_applied"], second.plan["totals"]["not_in_store"]) == (
        3,
        1,
    )
    assert (second.created_count, second.already_applied_count, second.skipped_count) == (0, 3, 1)
    assert (members(shop), LedgerEntry.objects.count()) == before
    # The row skipped last time is asked about again: the customer may have signed up since.
    assert [s.json["variables"]["query"] for s in customer_searches(store)[searches:]] == [
        'email:"mei.ling@example.com"'
    ]


def test_a_customer_who_signed_up_since_is_enrolled_when_the_file_is_applied_again(shop, store):
    applied(configured(shop, SMILE_FILE, mode="add"))
    store.add_customer(SHOP, 7104, email="mei.ling@example.com")

    second = applied(configured(shop, SMILE_FILE, mode="add"))

    assert (second.created_count, second.already_applied_count) == (1, 3)
    assert members(shop)["mei.ling@example.com"] == ("7104", "", "", 50)


def test_a_large_file_is_looked_up_by_the_planning_task_a_slice_of_emails_per_run(
    shop, store, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(models, "LARGE_FILE_ROWS", 2)
    monkeypatch.setattr(services, "PLAN_SLICE_LOOKUPS", 2)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = configured(shop, SMILE_FILE, mode="add")

    job.refresh_from_db()
    assert len(callbacks) == 1  # the plan task (run eagerly), which sent itself once more
    assert job.status == ImportStatus.PLANNED
    assert job.plan["totals"]["found_in_store"] == 3
    assert [s.json["variables"]["query"] for s in customer_searches(store)] == [
        'email:"nur.aina@example.com" OR email:"siti.aminah@example.com"',
        'email:"john.tan@example.com" OR email:"mei.ling@example.com"',
    ]


def test_a_large_dry_run_stopped_by_the_store_carries_on_from_the_answers_it_kept(
    shop, store, monkeypatch, fast_waits, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(models, "LARGE_FILE_ROWS", 2)
    job = configured(shop, SMILE_FILE, mode="add")  # the task is not run: on_commit not fired
    services.import_job_plan(job_id=job.pk, max_lookups=2)
    store.faults.push("500", count=10)
    failed = services.import_job_plan(job_id=job.pk, max_lookups=2)
    failed_with, kept = failed.failure_code, dict(failed.customer_lookups)
    store.faults.clear()
    searches = len(customer_searches(store))

    with django_capture_on_commit_callbacks(execute=True):
        services.import_job_replan(job=failed)

    job.refresh_from_db()
    assert failed_with == "store_lookup"
    assert sorted(kept) == ["nur.aina@example.com", "siti.aminah@example.com"]
    assert job.status == ImportStatus.PLANNED
    assert [s.json["variables"]["query"] for s in customer_searches(store)[searches:]] == [
        'email:"john.tan@example.com" OR email:"mei.ling@example.com"'
    ]


def test_the_job_page_shows_where_rows_were_found_and_offers_a_retry_after_a_failure(
    client, shop, store, fast_waits
):
    planned = configured(shop, SMILE_FILE, mode="add")
    store.faults.push("500", count=10)
    failed = configured(shop, SMILE_FILE, mode="add", filename="again.csv")
    store.faults.clear()

    page = admin_get(client, reverse("admin-imports-job", args=[planned.pk]), shop)
    failed_page = admin_get(client, reverse("admin-imports-job", args=[failed.pk]), shop)
    retried = admin_post(client, reverse("admin-imports-replan", args=[failed.pk]), shop)

    body = page.content.decode()
    assert "Found in your store (will be enrolled)" in body
    assert body.count('<span class="badge info">Found in your store</span>') == 3
    assert "No customer with this email in your store" in body
    failed_body = failed_page.content.decode()
    assert "could not look up customers in your store" in failed_body
    assert reverse("admin-imports-replan", args=[failed.pk]) in failed_body
    assert retried.status_code == 303
    failed.refresh_from_db()
    assert failed.status == ImportStatus.PLANNED


def test_the_store_lookup_speaks_malay_arabic_and_thai(client, shop, store):
    job = configured(shop, SMILE_FILE, mode="add")
    url = reverse("admin-imports-job", args=[job.pk])

    malay = admin_get(client, url + "?locale=ms", shop).content.decode()
    arabic = admin_get(client, url, shop, HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    thai = admin_get(client, url, shop, HTTP_ACCEPT_LANGUAGE="th").content.decode()

    assert "Ditemui di kedai anda (akan didaftarkan)" in malay
    assert "Tiada pelanggan dengan e-mel ini di kedai anda" in malay
    assert "غير موجودين في متجرك (تم تخطيهم)" in arabic
    assert "ตรงกับสมาชิก" in thai


def test_another_shops_job_cannot_be_planned_again(client, shop, store, fast_waits):
    store.faults.push("500", count=10)
    failed = configured(shop, SMILE_FILE, mode="add")
    store.faults.clear()
    other = ShopFactory(access_token="shpat_y", domain="kedai-lain.myshopify.com")

    response = admin_post(client, reverse("admin-imports-replan", args=[failed.pk]), other)

    failed.refresh_from_db()
    assert response.status_code == 404
    assert failed.status == ImportStatus.FAILED
