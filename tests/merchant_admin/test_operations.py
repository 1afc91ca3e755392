"""Operations page: the shop's webhook inbox (filter, pages, replay) and privacy requests."""

import json
import re
from datetime import UTC, datetime, timedelta

import pytest

from loyalty.audit.models import AuditEntry
from loyalty.platforms.shopify.models import DeliveryStatus, WebhookDelivery
from loyalty.privacy.models import PrivacyRequest, PrivacyRequestKind
from tests.factories import ShopFactory
from tests.merchant_admin.helpers import admin_get, admin_post

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def shop(db):
    return ShopFactory(
        domain="batik-ops.myshopify.com",
        access_token="shpat_x",
        installed_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.fixture
def other_shop(db):
    return ShopFactory(domain="other-ops.myshopify.com", access_token="shpat_y")


def delivery(shop, n, *, status=DeliveryStatus.PROCESSED, **fields):
    made = WebhookDelivery.objects.create(
        webhook_id=f"{shop.domain}-{n}",
        topic=fields.pop("topic", "orders/paid"),
        shop_domain=shop.domain,
        shop=shop,
        body="{}",
        status=status,
        **fields,
    )
    # received_at is auto_now_add: set it afterwards to order the inbox.
    WebhookDelivery.objects.filter(pk=made.pk).update(received_at=T0 + timedelta(minutes=n))
    return made


def shown(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-delivery="(\d+)">', response.content.decode())]


def test_inbox_lists_this_shops_deliveries_newest_first_with_their_details(
    client, shop, other_shop
):
    failed = delivery(
        shop, 1, status=DeliveryStatus.FAILED, attempts=8, last_error="KeyError: 'line_items'"
    )
    processed = delivery(shop, 2, topic="refunds/create", outcome="reversed 120 points")
    delivery(other_shop, 3)

    response = admin_get(client, "/app/operations/", shop)

    assert response.status_code == 200
    assert shown(response) == [processed.pk, failed.pk]
    html = response.content.decode()
    row = re.search(rf'<tr data-delivery="{failed.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "orders/paid" in row
    assert '<span class="badge critical">Failed</span>' in row
    assert '<td class="numeric">8</td>' in row
    assert "KeyError: &#x27;line_items&#x27;" in row
    assert "2026-05-01 08:01:00" in row
    assert "reversed 120 points" in html


def test_inbox_filters_by_status(client, shop):
    failed = delivery(shop, 1, status=DeliveryStatus.FAILED)
    delivery(shop, 2, status=DeliveryStatus.PROCESSED)
    retrying = delivery(shop, 3, status=DeliveryStatus.RETRYING)

    assert shown(admin_get(client, "/app/operations/", shop, data={"status": "failed"})) == [
        failed.pk
    ]
    assert shown(admin_get(client, "/app/operations/", shop, data={"status": "retrying"})) == [
        retrying.pk
    ]


def test_an_unknown_status_filter_shows_every_delivery(client, shop):
    only = delivery(shop, 1)

    response = admin_get(client, "/app/operations/", shop, data={"status": "exploded"})

    assert response.status_code == 200
    assert shown(response) == [only.pk]


def test_inbox_pages_by_keyset(client, shop):
    made = [delivery(shop, n) for n in range(53)]

    first = admin_get(client, "/app/operations/", shop)
    older = re.search(r'rel="next" href="([^"]+)"', first.content.decode()).group(1)
    second = admin_get(client, older.replace("&amp;", "&"), shop)

    newest_first = [d.pk for d in reversed(made)]
    assert shown(first) == newest_first[:50]
    assert shown(second) == newest_first[50:]


def test_replay_queues_the_chosen_deliveries_again_and_is_audited(
    client, shop, django_capture_on_commit_callbacks
):
    failed = delivery(shop, 1, status=DeliveryStatus.FAILED, attempts=8, last_error="boom")
    ignored = delivery(shop, 2, status=DeliveryStatus.IGNORED, attempts=1)
    untouched = delivery(shop, 3, status=DeliveryStatus.FAILED, attempts=8, last_error="kept")

    with django_capture_on_commit_callbacks() as handed_to_workers:
        response = admin_post(
            client, "/app/operations/replay/", shop, {"ids": [failed.pk, ignored.pk]}
        )

    assert response.status_code == 303
    assert response["Location"] == "/app/operations/?replayed=2"
    assert len(handed_to_workers) == 2
    for replayed in (failed, ignored):
        replayed.refresh_from_db()
        assert (replayed.status, replayed.attempts, replayed.last_error) == ("received", 0, "")
    untouched.refresh_from_db()
    assert (untouched.status, untouched.attempts, untouched.last_error) == ("failed", 8, "kept")
    audit = AuditEntry.objects.get(shop=shop, action="operations.replay")
    assert audit.actor == "staff:42"
    assert audit.before == {
        "deliveries": [[failed.pk, "orders/paid", "failed"], [ignored.pk, "orders/paid", "ignored"]]
    }
    page = admin_get(client, response["Location"], shop).content.decode()
    assert "2 deliveries queued again." in page


def test_replay_with_nothing_chosen_answers_400_with_the_message(client, shop):
    delivery(shop, 1, status=DeliveryStatus.FAILED)

    response = admin_post(client, "/app/operations/replay/", shop, {})

    assert response.status_code == 400
    assert "Choose at least one delivery to replay." in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_replay_with_a_malformed_id_answers_400(client, shop):
    response = admin_post(client, "/app/operations/replay/", shop, {"ids": ["1; DROP"]})

    assert response.status_code == 400
    assert "Choose deliveries from the list." in response.content.decode()


def test_replaying_another_shops_delivery_is_not_found_and_replays_nothing(
    client, shop, other_shop
):
    ours = delivery(shop, 1, status=DeliveryStatus.FAILED, attempts=8)
    theirs = delivery(other_shop, 2, status=DeliveryStatus.FAILED, attempts=8)

    response = admin_post(client, "/app/operations/replay/", shop, {"ids": [ours.pk, theirs.pk]})

    assert response.status_code == 404
    for kept in (ours, theirs):
        kept.refresh_from_db()
        assert (kept.status, kept.attempts) == ("failed", 8)
    assert not AuditEntry.objects.exists()


def test_replay_answers_only_posts(client, shop):
    assert admin_get(client, "/app/operations/replay/", shop).status_code == 405


def privacy_request(shop, n, **fields):
    return PrivacyRequest.objects.create(
        shop=shop,
        shop_domain=shop.domain,
        source_id=f"{shop.domain}-privacy-{n}",
        received_at=T0 + timedelta(hours=n),
        **fields,
    )


def test_privacy_requests_with_their_status_and_export(client, shop, other_shop):
    done = privacy_request(
        shop,
        1,
        kind=PrivacyRequestKind.CUSTOMER_DATA_REQUEST,
        platform_customer_id="8100000001",
        export={"member": {"points_balance": 120}},
        summary="1 member, 3 ledger entries",
        completed_at=T0 + timedelta(hours=1, minutes=5),
    )
    waiting = privacy_request(shop, 2, kind=PrivacyRequestKind.CUSTOMER_REDACT)
    privacy_request(other_shop, 3, kind=PrivacyRequestKind.SHOP_REDACT)

    html = admin_get(client, "/app/operations/", shop).content.decode()

    assert re.findall(r'<tr data-privacy="(\d+)">', html) == [str(waiting.pk), str(done.pk)]
    done_row = re.search(rf'<tr data-privacy="{done.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "Customer data request" in done_row and "8100000001" in done_row
    assert '<span class="badge success">Completed</span>' in done_row
    assert f'href="/app/operations/privacy/{done.pk}/export/"' in done_row
    waiting_row = re.search(rf'<tr data-privacy="{waiting.pk}">(.*?)</tr>', html, re.S).group(1)
    assert '<span class="badge attention">In progress</span>' in waiting_row
    assert "/export/" not in waiting_row


def test_privacy_export_downloads_as_json(client, shop):
    done = privacy_request(
        shop,
        1,
        kind=PrivacyRequestKind.CUSTOMER_DATA_REQUEST,
        export={"member": {"points_balance": 120}},
    )

    response = admin_get(client, f"/app/operations/privacy/{done.pk}/export/", shop)

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="privacy-request-{done.pk}.json"'
    )
    assert json.loads(response.content) == {"member": {"points_balance": 120}}


def test_another_shops_privacy_export_is_not_found(client, shop, other_shop):
    theirs = privacy_request(
        other_shop, 1, kind=PrivacyRequestKind.CUSTOMER_DATA_REQUEST, export={"x": 1}
    )
    without_export = privacy_request(shop, 2, kind=PrivacyRequestKind.CUSTOMER_REDACT)

    assert admin_get(client, f"/app/operations/privacy/{theirs.pk}/export/", shop).status_code == (
        404
    )
    assert (
        admin_get(client, f"/app/operations/privacy/{without_export.pk}/export/", shop).status_code
        == 404
    )
