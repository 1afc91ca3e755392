"""The import and export pages, as App Bridge requests them (session token per request)."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from loyalty.audit.models import AuditEntry
from loyalty.imports import services
from loyalty.imports.models import ImportJob, ImportStatus
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import ledger_credit
from loyalty.members.models import Member
from tests.factories import ShopFactory, TierFactory
from tests.imports.conftest import configured, member_with, read_fixture
from tests.merchant_admin.helpers import admin_get, admin_post

pytestmark = pytest.mark.django_db


def upload(client, shop, name: str, data: bytes):
    return admin_post(
        client, reverse("admin-imports"), shop, {"file": SimpleUploadedFile(name, data)}
    )


def mapping_data(job, **overrides):
    data = {"source": job.source, "mode": "add"}
    if job.has_header:
        data["has_header"] = "on"
    for role, index in job.mapping.items():
        data[f"column_{role}"] = "" if index is None else str(index)
    data.update(overrides)
    return data


@pytest.fixture
def other_shop(db):
    return ShopFactory(access_token="shpat_y", domain="kedai-lain.myshopify.com")


def test_the_landing_page_offers_upload_and_exports(client, shop):
    response = admin_get(client, reverse("admin-imports"), shop)

    body = response.content.decode()
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in body
    assert reverse("admin-imports-export-members") in body
    assert reverse("admin-imports-export-ledger") in body


def test_uploading_a_smile_file_leads_to_the_mapping_with_its_columns_proposed(client, shop):
    response = upload(client, shop, "smile.csv", read_fixture("smile_points.csv"))

    job = ImportJob.objects.get(shop=shop)
    page = admin_get(client, response["Location"], shop)
    body = page.content.decode()
    assert response.status_code == 303
    assert response["Location"] == reverse("admin-imports-mapping", args=[job.pk])
    assert page.status_code == 200
    assert "Smile.io" in body
    assert '<option value="0" selected>A: email</option>' in body
    assert '<option value="1" selected>B: points</option>' in body
    assert "siti.aminah@example.com" in body  # the preview


def test_uploading_a_file_that_is_not_utf8_is_refused_by_the_field(client, shop):
    response = upload(client, shop, "x.csv", "email,points\nzoë@example.com,1\n".encode("cp1252"))

    assert response.status_code == 400
    assert "not UTF-8" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_uploading_nothing_is_a_400(client, shop):
    response = admin_post(client, reverse("admin-imports"), shop, {})

    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()


def test_the_mapping_without_a_mode_is_refused_with_the_message_by_the_field(client, shop):
    upload(client, shop, "smile.csv", read_fixture("smile_points.csv"))
    job = ImportJob.objects.get()
    data = mapping_data(job)
    del data["mode"]

    response = admin_post(client, reverse("admin-imports-mapping", args=[job.pk]), shop, data)

    job.refresh_from_db()
    assert response.status_code == 400
    assert "Choose whether the file adds to or replaces balances." in response.content.decode()
    assert job.status == ImportStatus.MAPPING


def test_the_mapping_needs_a_member_column_and_no_column_twice(client, shop):
    upload(client, shop, "smile.csv", read_fixture("smile_points.csv"))
    job = ImportJob.objects.get()
    data = mapping_data(job, column_email="", column_first_name="1")

    response = admin_post(client, reverse("admin-imports-mapping", args=[job.pk]), shop, data)

    body = response.content.decode()
    assert response.status_code == 400
    assert "Choose the column with the email or the store customer id." in body
    assert "This column is already imported as" in body


def test_choosing_another_preset_proposes_its_columns_without_saving(client, shop):
    upload(client, shop, "lion.csv", read_fixture("loyaltylion_shopify.csv"))
    job = ImportJob.objects.get()

    response = admin_post(
        client,
        reverse("admin-imports-mapping", args=[job.pk]),
        shop,
        {"source": "loyaltylion_custom", "use_preset": "1"},
    )

    job.refresh_from_db()
    body = response.content.decode()
    assert response.status_code == 200
    assert '<option value="loyaltylion_custom" selected>' in body
    assert job.source == "loyaltylion"
    assert job.status == ImportStatus.MAPPING


def test_dry_run_then_apply_through_the_pages(client, shop):
    siti = member_with(shop, email="Siti.Aminah@example.com", points=10)
    upload(client, shop, "smile.csv", read_fixture("smile_points.csv"))
    job = ImportJob.objects.get()

    mapped = admin_post(
        client, reverse("admin-imports-mapping", args=[job.pk]), shop, mapping_data(job)
    )
    dry_run = admin_get(client, mapped["Location"], shop)
    siti.refresh_from_db()
    balance_after_dry_run = siti.points_balance
    applied = admin_post(client, reverse("admin-imports-apply", args=[job.pk]), shop)
    result = admin_get(client, applied["Location"], shop)

    siti.refresh_from_db()
    dry_body = dry_run.content.decode()
    assert mapped.status_code == 303
    assert mapped["Location"] == reverse("admin-imports-job", args=[job.pk])
    assert dry_run.status_code == 200
    assert "10 → 1210 (+1200)" in dry_body
    assert "No customer with this email in your store" in dry_body
    assert balance_after_dry_run == 10
    assert applied.status_code == 303
    assert siti.points_balance == 1210
    assert result.status_code == 200
    assert "Rows not applied" in result.content.decode()
    assert AuditEntry.objects.get(action="imports.apply").actor == "staff:42"


def test_tier_names_in_the_file_are_mapped_on_the_mapping_page(client, shop):
    gold = TierFactory(shop=shop, name="Gold", threshold=1000)
    perak = TierFactory(shop=shop, name="Perak", threshold=500)
    john = member_with(shop, email="john.tan@example.com")
    member_with(shop, email="siti.aminah@example.com")
    upload(client, shop, "tiers.csv", read_fixture("smile_vip_tiers.csv"))
    job = ImportJob.objects.get()

    page = admin_get(client, reverse("admin-imports-mapping", args=[job.pk]), shop)
    missing = admin_post(
        client, reverse("admin-imports-mapping", args=[job.pk]), shop, mapping_data(job)
    )
    mapped = admin_post(
        client,
        reverse("admin-imports-mapping", args=[job.pk]),
        shop,
        mapping_data(job, tier_0=str(gold.pk), tier_1=str(perak.pk)),
    )
    admin_post(client, reverse("admin-imports-apply", args=[job.pk]), shop)

    john.refresh_from_db()
    body = page.content.decode()
    assert f'<option value="{gold.pk}" selected>Gold</option>' in body
    assert "Silver" in body
    assert missing.status_code == 400
    assert "Choose a Setia tier, or ignore this name." in missing.content.decode()
    assert mapped.status_code == 303
    assert john.tier == perak


def test_another_shops_job_is_a_404_on_every_page(client, shop, other_shop):
    job = services.import_job_create(
        shop=other_shop, actor="staff:1", filename="a.csv", data=read_fixture("smile_points.csv")
    )

    responses = [
        admin_get(client, reverse("admin-imports-mapping", args=[job.pk]), shop),
        admin_post(client, reverse("admin-imports-mapping", args=[job.pk]), shop, {}),
        admin_get(client, reverse("admin-imports-job", args=[job.pk]), shop),
        admin_post(client, reverse("admin-imports-apply", args=[job.pk]), shop),
        admin_get(client, reverse("admin-imports-progress", args=[job.pk]), shop),
    ]

    job.refresh_from_db()
    assert [r.status_code for r in responses] == [404, 404, 404, 404, 404]
    assert job.status == ImportStatus.MAPPING


def test_another_shops_jobs_are_not_listed(client, shop, other_shop):
    services.import_job_create(
        shop=other_shop, actor="staff:1", filename="theirs.csv", data=b"email,points\n"
    )

    response = admin_get(client, reverse("admin-imports"), shop)

    assert "theirs.csv" not in response.content.decode()


def test_progress_answers_json_for_the_page_to_poll(client, shop):
    member_with(shop, email="siti.aminah@example.com")
    job = configured(shop, read_fixture("smile_points.csv"), mode="add")
    services.import_job_start_apply(job=job, actor="staff:1")

    response = admin_get(client, reverse("admin-imports-progress", args=[job.pk]), shop)

    assert response.json() == {
        "status": "done",
        "processed_rows": 4,
        "total_rows": 4,
        "percent": 100,
        "finished": True,
    }


def test_a_job_in_progress_shows_its_progress_and_loads_the_polling_script(client, shop):
    job = services.import_job_create(
        shop=shop, actor="staff:1", filename="a.csv", data=read_fixture("smile_points.csv")
    )
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportStatus.APPLYING, processed_rows=1, mode="add"
    )

    response = admin_get(client, reverse("admin-imports-job", args=[job.pk]), shop)

    body = response.content.decode()
    assert 'data-progress-url="{}"'.format(reverse("admin-imports-progress", args=[job.pk])) in body
    assert 'value="25"' in body
    assert "merchant_admin/imports.js" in body


def read_csv_response(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_members_export_streams_this_shops_members_only(client, shop, other_shop):
    gold = TierFactory(shop=shop, name="Gold")
    siti = member_with(shop, email="siti@example.com", points=120, customer_id="6011")
    Member.objects.filter(pk=siti.pk).update(tier=gold)
    member_with(shop, email="=HYPERLINK(1)@example.com", customer_id="6012", first_name="")
    member_with(other_shop, email="theirs@example.com", points=5)

    response = admin_get(client, reverse("admin-imports-export-members"), shop)

    rows = read_csv_response(response)
    siti.refresh_from_db()
    assert response.status_code == 200
    assert response.streaming is True
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert rows[0] == [
        "email",
        "first_name",
        "last_name",
        "customer_id",
        "points_balance",
        "points_pending",
        "lifetime_earned",
        "tier",
        "enrolled_at",
        "last_activity_at",
    ]
    assert rows[1] == [
        "siti@example.com",
        "Aisyah",
        "Rahman",
        "6011",
        "120",
        "0",
        "120",
        "Gold",
        siti.enrolled_at.isoformat(),
        siti.last_activity_at.isoformat(),
    ]
    assert rows[2][0] == "'=HYPERLINK(1)@example.com"  # never a formula in a spreadsheet
    assert len(rows) == 3
    assert AuditEntry.objects.filter(action="imports.export_members", shop=shop).count() == 1


def test_the_ledger_export_streams_every_entry_of_this_shop_in_chunks(
    client, shop, other_shop, monkeypatch
):
    from loyalty.imports import selectors

    monkeypatch.setattr(selectors, "EXPORT_CHUNK", 2)
    siti = member_with(shop, email="siti@example.com", customer_id="6011")
    for n in range(1, 6):
        ledger_credit(member=siti, points=n, idempotency_key=f"k{n}", source_type="order")
    member_with(other_shop, email="theirs@example.com", points=5)

    response = admin_get(client, reverse("admin-imports-export-ledger"), shop)

    rows = read_csv_response(response)
    assert rows[0] == [
        "customer_id",
        "email",
        "kind",
        "points",
        "source_type",
        "source_id",
        "reason",
        "created_at",
    ]
    assert [(r[0], r[2], r[3], r[4]) for r in rows[1:]] == [
        ("6011", "earn", str(n), "order") for n in range(1, 6)
    ]
    assert LedgerEntry.objects.count() == 6  # the other shop's entry exists, and is not here


def test_pages_need_a_session_token(client, shop):
    page = client.get(reverse("admin-imports"))  # a document load without id_token: bounced
    upload = client.post(reverse("admin-imports"), {"file": SimpleUploadedFile("a.csv", b"x")})

    assert page.status_code == 302
    assert upload.status_code == 302
    assert not ImportJob.objects.exists()


def test_the_pages_speak_malay_arabic_right_to_left_and_thai(client, shop):
    member_with(shop, email="siti.aminah@example.com")
    job = configured(shop, b"email,points\nnot-an-email,5\n", mode="add")

    malay = admin_get(client, reverse("admin-imports") + "?locale=ms", shop).content.decode()
    arabic = admin_get(
        client, reverse("admin-imports-job", args=[job.pk]), shop, HTTP_ACCEPT_LANGUAGE="ar"
    ).content.decode()
    thai = admin_get(
        client, reverse("admin-imports-mapping", args=[job.pk]), shop, HTTP_ACCEPT_LANGUAGE="th"
    ).content.decode()

    assert "Import ahli dan baki" in malay
    assert 'dir="rtl"' in arabic
    assert "ما سيتغير" in arabic
    assert "«not-an-email» ليس عنوان بريد إلكتروني." in arabic  # a stored problem, worded now
    assert "ตรวจสอบคอลัมน์" in thai


def test_apply_is_a_post_only(client, shop):
    job = configured(shop, read_fixture("smile_points.csv"), mode="add")

    response = admin_get(client, reverse("admin-imports-apply", args=[job.pk]), shop)

    job.refresh_from_db()
    assert response.status_code == 405
    assert job.status == ImportStatus.PLANNED


def test_a_failed_dry_run_offers_the_mapping_again_and_a_failed_apply_offers_to_resume(
    client, shop
):
    planning = configured(shop, read_fixture("smile_points.csv"), mode="add")
    ImportJob.objects.filter(pk=planning.pk).update(status=ImportStatus.FAILED, failure="boom")
    applying = configured(shop, read_fixture("smile_points.csv"), mode="add")
    ImportJob.objects.filter(pk=applying.pk).update(
        status=ImportStatus.FAILED, failure="lost", started_at=applying.created_at
    )

    dry_run_page = admin_get(
        client, reverse("admin-imports-job", args=[planning.pk]), shop
    ).content.decode()
    apply_page = admin_get(
        client, reverse("admin-imports-job", args=[applying.pk]), shop
    ).content.decode()

    mapping_url = reverse("admin-imports-mapping", args=[planning.pk])
    resume_url = reverse("admin-imports-apply", args=[applying.pk])
    assert f'href="{mapping_url}"' in dry_run_page
    assert "Resume" not in dry_run_page
    assert f'action="{resume_url}"' in apply_page
    assert "Resume" in apply_page
