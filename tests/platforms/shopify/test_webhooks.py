import json
import string
from datetime import UTC, datetime, timedelta
from unittest import mock

import hypothesis
import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import override_settings
from django.utils import timezone
from hypothesis import strategies as st
from shopify_app import ShopifyApp

from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import ledger_credit
from loyalty.members.models import Member, MemberStatus
from loyalty.platforms.shopify import tasks, webhooks
from loyalty.platforms.shopify.models import DeliveryStatus, WebhookDelivery
from loyalty.privacy.models import PrivacyRequest
from loyalty.shops.models import Program, Shop
from tests.factories import MemberFactory
from tests.platforms.shopify.helpers import SHOP, order_payload, post_webhook, webhook_hmac

pytestmark = pytest.mark.django_db

CUSTOMER_ID = 115310627314723954


# --- intake ---------------------------------------------------------------------------------


def test_signed_delivery_is_stored_with_its_headers_and_processed(client, shop):
    response = post_webhook(
        client,
        "orders/paid",
        order_payload(),
        webhook_id="wh-1",
        event_id="ev-1",
        triggered_at="2026-11-20T10:00:00Z",
    )

    assert response.status_code == 200
    assert response.json() == {"status": "received"}
    delivery = WebhookDelivery.objects.get()
    assert (delivery.webhook_id, delivery.event_id, delivery.topic, delivery.shop_domain) == (
        "wh-1",
        "ev-1",
        "orders/paid",
        SHOP,
    )
    assert delivery.api_version == "2026-10"
    assert delivery.triggered_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert json.loads(delivery.body)["id"] == 820982911946154508
    assert (delivery.status, delivery.attempts, delivery.shop_id) == ("processed", 1, shop.pk)
    assert delivery.platform_customer_id == str(CUSTOMER_ID)


@pytest.mark.parametrize(
    "hmac_value",
    [False, "", "bm90IHRoZSByaWdodCBobWFj", "not base64 at all"],
    ids=["missing", "empty", "wrong", "junk"],
)
def test_bad_or_missing_hmac_answers_401_and_stores_nothing(client, shop, hmac_value):
    response = post_webhook(client, "orders/paid", order_payload(), hmac_value=hmac_value)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_hmac"
    assert WebhookDelivery.objects.count() == 0


def test_tampered_body_answers_401_and_stores_nothing(client, shop):
    from tests.platforms.shopify.helpers import webhook_hmac

    original = json.dumps(order_payload()).encode()
    tampered = original.replace(b'"180.00"', b'"18000.00"', 1)

    response = post_webhook(
        client, "orders/paid", None, raw=tampered, hmac_value=webhook_hmac(original)
    )

    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_hmac_signed_with_another_secret_is_refused(client, shop):
    from tests.platforms.shopify.helpers import webhook_hmac

    body = json.dumps(order_payload()).encode()

    response = post_webhook(
        client, "orders/paid", None, raw=body, hmac_value=webhook_hmac(body, "other-secret")
    )

    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_duplicate_delivery_answers_200_and_has_no_second_effect(client, shop):
    first = post_webhook(client, "orders/paid", order_payload(), webhook_id="wh-dup")

    again = post_webhook(client, "orders/paid", order_payload(), webhook_id="wh-dup")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == {"status": "duplicate"}
    assert WebhookDelivery.objects.count() == 1
    assert WebhookDelivery.objects.get().attempts == 1


def test_the_same_event_through_a_second_subscription_is_stored_once(client, shop):
    first = post_webhook(client, "orders/paid", order_payload(), webhook_id="wh-a", event_id="ev-1")

    second = post_webhook(
        client, "orders/paid", order_payload(), webhook_id="wh-b", event_id="ev-1"
    )

    assert (first.json(), second.json()) == ({"status": "received"}, {"status": "duplicate"})
    assert list(WebhookDelivery.objects.values_list("webhook_id", flat=True)) == ["wh-a"]


def test_non_ascii_signature_header_is_refused_without_a_traceback(client, shop):
    response = post_webhook(client, "orders/paid", order_payload(), hmac_value="é" * 44)

    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 0


def test_body_that_is_not_utf8_answers_400_and_stores_nothing(client, shop):
    body = b'{"id": 1, "note": "\xff"}'

    response = post_webhook(client, "orders/paid", None, raw=body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"
    assert WebhookDelivery.objects.count() == 0


SECRET = "test-api-secret"  # config/settings_test.py
SDK = ShopifyApp(client_id="test-api-key", client_secret=SECRET)


def sdk_accepts(body: bytes, signature: str) -> bool:
    """What shopify_app's own verification says about the same request."""
    result = SDK.verify_webhook_req(
        {
            "method": "POST",
            "headers": {"X-Shopify-Hmac-Sha256": signature},
            "url": "https://setia.example.com/shopify/webhooks",
            "body": body.decode("utf-8"),
        }
    )
    return result.ok


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(
    body=st.text().map(str.encode),
    signed_with=st.sampled_from([SECRET, "another-secret", None]),
    junk=st.text(alphabet=string.ascii_letters + string.digits + "+/=", max_size=60),
)
def test_signature_check_agrees_with_shopify_app(body, signed_with, junk):
    signature = webhook_hmac(body, signed_with) if signed_with else junk

    with override_settings(SHOPIFY_API_SECRET=SECRET):
        ours = webhooks.signature_is_valid(body=body, signature=signature)

    assert ours == sdk_accepts(body, signature)
    assert ours == (signed_with == SECRET)


@pytest.mark.parametrize("signature", ["", "é" * 44, "\uff21\uff22" * 22, "a" * 43 + "=\n", None])
def test_signature_check_refuses_what_is_no_base64_digest(signature):
    body = b'{"id": 1}'
    # The same digest, mangled (None: the right one with a non-ASCII character appended).
    signature = signature if signature is not None else webhook_hmac(body) + "é"

    assert webhooks.signature_is_valid(body=body, signature=signature) is False


def test_body_about_another_shop_than_the_headers_fails_with_no_effect(client, shop):
    response = post_webhook(client, "shop/redact", {"shop_domain": "victim.myshopify.com"})

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert "the body is about victim.myshopify.com" in delivery.last_error
    assert Shop.objects.filter(pk=shop.pk).exists()


def test_triggered_at_from_the_future_counts_as_received_now(client, shop):
    post_webhook(client, "app/uninstalled", {"id": 1}, triggered_at="2099-01-01T00:00:00Z")

    shop.refresh_from_db()
    delivery = WebhookDelivery.objects.get()
    assert shop.uninstalled_at == delivery.received_at


def test_shop_redact_for_a_shop_that_came_back_deletes_nothing(client, shop):
    MemberFactory(shop=shop)

    post_webhook(client, "shop/redact", {"shop_domain": SHOP})

    assert Member.objects.filter(shop=shop).count() == 1
    assert WebhookDelivery.objects.get().outcome == "ignored: the shop has Setia installed again"


def test_signed_delivery_without_a_webhook_id_is_refused_and_not_stored(client, shop):
    response = client.post(
        "/shopify/webhooks",
        data=b"{}",
        content_type="application/json",
        HTTP_X_SHOPIFY_TOPIC="orders/paid",
        HTTP_X_SHOPIFY_SHOP_DOMAIN=SHOP,
        HTTP_X_SHOPIFY_HMAC_SHA256=__import__(
            "tests.platforms.shopify.helpers", fromlist=["x"]
        ).webhook_hmac(b"{}"),
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_headers"
    assert WebhookDelivery.objects.count() == 0


def test_webhook_endpoint_refuses_get(client):
    assert client.get("/shopify/webhooks").status_code == 405


def test_unknown_topic_is_recorded_and_acknowledged(client, shop):
    response = post_webhook(client, "products/update", {"id": 1})

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.outcome) == (
        "ignored",
        "no handler for topic products/update",
    )


def test_delivery_for_a_shop_not_installed_yet_waits_and_runs_at_install(
    client, db, django_capture_on_commit_callbacks
):
    from loyalty.platforms.shopify.install import _installed
    from loyalty.shops.services import Tokens

    response = post_webhook(client, "orders/paid", order_payload(), shop="early.myshopify.com")

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.shop_id) == ("retrying", None)
    assert "unknown shop: waiting for the install" in delivery.last_error

    with (
        mock.patch("loyalty.platforms.shopify.install._enqueue_after_install") as after_install,
        django_capture_on_commit_callbacks(execute=True),
    ):
        _installed(
            shop_domain="early.myshopify.com",
            tokens=Tokens(
                access_token="shpat_x",
                scopes="read_orders,write_customers,write_discounts,write_app_proxy",
            ),
        )

    delivery.refresh_from_db()
    assert delivery.status == "processed"
    assert Member.objects.get().points_balance == 180
    assert after_install.call_count == 1


def test_broker_down_still_answers_200_and_keeps_the_delivery_for_the_sweeper(client, shop):
    with mock.patch.object(
        tasks.process_webhook, "delay", side_effect=ConnectionError("broker down")
    ):
        response = post_webhook(client, "orders/paid", order_payload())

    assert response.status_code == 200
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("received", 0)

    later = timezone.now() + timedelta(minutes=3)
    with mock.patch("loyalty.platforms.shopify.tasks.timezone.now", return_value=later):
        assert tasks.sweep_webhook_inbox.delay().get() == 1
    delivery.refresh_from_db()
    assert delivery.status == "processed"


def test_sweeper_hands_out_a_backlog_once_per_lease(client, shop):
    with mock.patch.object(
        tasks.process_webhook, "delay", side_effect=ConnectionError("broker down")
    ):
        for _ in range(3):
            post_webhook(client, "orders/paid", order_payload())
    now = timezone.now() + timedelta(minutes=3)

    first = webhooks.deliveries_due(now=now, stuck_after=timedelta(minutes=2), limit=100)
    again = webhooks.deliveries_due(
        now=now + timedelta(minutes=1), stuck_after=timedelta(minutes=2), limit=100
    )
    after_lease = webhooks.deliveries_due(
        now=now + timedelta(minutes=6), stuck_after=timedelta(minutes=2), limit=100
    )

    assert (len(first), again, len(after_lease)) == (3, [], 3)


def test_a_delivery_that_never_finishes_is_given_up_by_the_sweeper(client, shop):
    with mock.patch.object(
        tasks.process_webhook, "delay", side_effect=ConnectionError("broker down")
    ):
        post_webhook(client, "orders/paid", order_payload())
    now = timezone.now() + timedelta(minutes=3)

    handed_out = []
    with override_settings(SHOPIFY_WEBHOOK_MAX_ATTEMPTS=2):
        for lease in range(6):  # each time, pretend the worker died before committing
            handed_out.append(
                webhooks.deliveries_due(
                    now=now + timedelta(minutes=6 * lease),
                    stuck_after=timedelta(minutes=2),
                    limit=10,
                )
            )

    assert [len(ids) for ids in handed_out] == [1, 1, 1, 1, 0, 0]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.outcome) == ("failed", "gave up: never finished processing")


# --- processing -----------------------------------------------------------------------------


def test_customer_update_refreshes_an_enrolled_members_contact_details(client, shop):
    member = MemberFactory(
        shop=shop, platform_customer_id=str(CUSTOMER_ID), email="old@example.com"
    )

    post_webhook(
        client,
        "customers/update",
        {
            "id": CUSTOMER_ID,
            "email": "new@example.com",
            "first_name": "Siti",
            "last_name": "Aminah",
        },
    )

    member.refresh_from_db()
    assert (member.email, member.first_name, member.last_name) == (
        "new@example.com",
        "Siti",
        "Aminah",
    )
    assert WebhookDelivery.objects.get().outcome == "member updated"


def test_payload_without_what_its_topic_needs_fails_visibly_with_no_effect(client, shop):
    post_webhook(client, "orders/paid", {"email": "x@example.com"})

    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    assert delivery.attempts == 1
    assert "PayloadError: the payload has no 'id'" in delivery.last_error


def test_transient_failure_retries_with_backoff_then_gives_up(client, shop):
    with mock.patch(
        "loyalty.platforms.shopify.webhooks.handle_event", side_effect=OperationalError("db busy")
    ):
        post_webhook(client, "orders/paid", order_payload())
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("retrying", 1)
        assert "OperationalError: db busy" in delivery.last_error
        assert delivery.next_attempt_at > timezone.now() + timedelta(seconds=29)

        # Not due yet: a worker that gets it early does nothing.
        assert webhooks.process_delivery(delivery.pk).status == "skipped"

        with override_settings(SHOPIFY_WEBHOOK_MAX_ATTEMPTS=3):
            for expected_attempts in (2, 3):
                delivery.refresh_from_db()
                result = webhooks.process_delivery(delivery.pk, now=delivery.next_attempt_at)
                delivery.refresh_from_db()
                assert delivery.attempts == expected_attempts
    assert (delivery.status, delivery.outcome, result.retry_in) == (
        "failed",
        "gave up after retries",
        None,
    )


def test_failed_delivery_replays_with_the_command(client, shop, django_capture_on_commit_callbacks):
    with mock.patch(
        "loyalty.platforms.shopify.webhooks.handle_event", side_effect=RuntimeError("bug")
    ):
        post_webhook(client, "customers/update", {"id": CUSTOMER_ID, "email": "new@example.com"})
    assert WebhookDelivery.objects.get().status == "failed"
    MemberFactory(shop=shop, platform_customer_id=str(CUSTOMER_ID), email="old@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        call_command("webhooks_replay")

    delivery = WebhookDelivery.objects.get()
    # a replay starts a fresh retry budget
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("processed", 1, "")
    assert Member.objects.get().email == "new@example.com"


def test_replay_command_sync_processes_here(client, shop, capsys):
    with mock.patch(
        "loyalty.platforms.shopify.webhooks.handle_event", side_effect=RuntimeError("bug")
    ):
        post_webhook(client, "customers/update", {"id": CUSTOMER_ID})

    call_command("webhooks_replay", "--sync", "--topic", "customers/update")

    assert "Replayed 1: 1 processed." in capsys.readouterr().out
    assert WebhookDelivery.objects.get().outcome == "not a member"


def test_replay_command_dry_run_changes_nothing(client, shop, capsys):
    with mock.patch(
        "loyalty.platforms.shopify.webhooks.handle_event", side_effect=RuntimeError("bug")
    ):
        post_webhook(client, "customers/update", {"id": CUSTOMER_ID})

    call_command("webhooks_replay", "--dry-run")

    assert "1 delivery(ies) would replay." in capsys.readouterr().out
    assert WebhookDelivery.objects.get().status == "failed"


def test_processing_a_processed_delivery_again_does_nothing(client, shop):
    post_webhook(client, "orders/paid", order_payload())
    delivery = WebhookDelivery.objects.get()

    assert webhooks.process_delivery(delivery.pk).status == "skipped"

    delivery.refresh_from_db()
    assert delivery.attempts == 1


# --- uninstall and privacy ------------------------------------------------------------------


def test_app_uninstalled_marks_the_shop_and_drops_its_tokens(client, shop):
    post_webhook(
        client,
        "app/uninstalled",
        {"id": 548380009, "domain": SHOP},
        triggered_at="2026-11-20T10:00:00Z",
    )

    shop.refresh_from_db()
    assert shop.uninstalled_at == datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    assert (shop.access_token, shop.refresh_token) == ("", "")
    assert Program.objects.filter(shop=shop).exists()


def test_late_uninstall_from_before_a_reinstall_changes_nothing(client, shop):
    Shop.objects.filter(pk=shop.pk).update(installed_at=datetime(2026, 11, 21, tzinfo=UTC))

    post_webhook(client, "app/uninstalled", {"id": 548380009}, triggered_at="2026-11-20T10:00:00Z")

    shop.refresh_from_db()
    assert shop.uninstalled_at is None
    assert shop.access_token == "shpat_live_token"
    assert WebhookDelivery.objects.get().outcome == "stale: reinstalled since"


def test_uninstalled_shop_orders_are_recorded_but_ignored(client, shop):
    Shop.objects.filter(pk=shop.pk).update(uninstalled_at=timezone.now())

    post_webhook(client, "orders/paid", order_payload())

    assert WebhookDelivery.objects.get().outcome == "shop not installed"


def test_customer_data_request_keeps_an_export_for_the_merchant(client, shop):
    member = MemberFactory(
        shop=shop, platform_customer_id=str(CUSTOMER_ID), email="aisyah@example.com"
    )
    ledger_credit(
        member=member, points=120, idempotency_key="order:1", source_type="order", source_id="1"
    )

    post_webhook(
        client,
        "customers/data_request",
        {
            "shop_id": 954889,
            "shop_domain": SHOP,
            "orders_requested": [299938, 280263],
            "customer": {"id": CUSTOMER_ID, "email": "aisyah@example.com", "phone": "555-625-1199"},
            "data_request": {"id": 9999},
        },
        webhook_id="wh-dr",
    )

    request = PrivacyRequest.objects.get()
    assert (request.kind, request.platform_customer_id, request.source_id) == (
        "customer_data_request",
        str(CUSTOMER_ID),
        "wh-dr",
    )
    assert request.completed_at is not None
    assert request.export["member"]["email"] == "aisyah@example.com"
    assert request.export["member"]["points"]["balance"] == 120
    assert [(e["kind"], e["points"], e["source"]) for e in request.export["ledger"]] == [
        ("earn", 120, "order:1")
    ]


def test_customer_redact_erases_personal_data_and_keeps_anonymous_totals(client, shop):
    member = MemberFactory(
        shop=shop,
        platform_customer_id=str(CUSTOMER_ID),
        email="aisyah@example.com",
        birthday_month=3,
        birthday_day=14,
    )
    ledger_credit(
        member=member, points=120, idempotency_key="order:1", source_type="order", source_id="1"
    )
    post_webhook(client, "orders/paid", order_payload(customer_id=CUSTOMER_ID))
    other = post_webhook(
        client, "orders/paid", order_payload(order_id=2, customer_id=42, email="b@example.com")
    )
    assert other.status_code == 200

    post_webhook(
        client,
        "customers/redact",
        {
            "shop_id": 954889,
            "shop_domain": SHOP,
            "customer": {"id": CUSTOMER_ID, "email": "aisyah@example.com", "phone": "555-625-1199"},
            "orders_to_redact": [299938],
        },
    )

    member.refresh_from_db()
    assert (member.email, member.first_name, member.last_name, member.birthday_month) == (
        "",
        "",
        "",
        None,
    )
    assert member.status == MemberStatus.REDACTED
    assert member.platform_customer_id.startswith("redacted:")
    # 120 credited by hand, 180 for order #1001: the totals stay, anonymous.
    assert (member.points_balance, member.lifetime_earned) == (300, 300)
    assert LedgerEntry.objects.filter(member=member).count() == 2
    bodies = dict(
        WebhookDelivery.objects.filter(topic="orders/paid").values_list("webhook_id", "body")
    )
    assert sum("aisyah@example.com" in b for b in bodies.values()) == 0
    assert sum("b@example.com" in b for b in bodies.values()) == 1
    redact = PrivacyRequest.objects.get(kind="customer_redact")
    # the stored orders/paid body, and the order record of that order
    assert redact.summary == "Member redacted; 2 stored record(s) scrubbed."
    from loyalty.earning.models import OrderRecord

    emails = dict(OrderRecord.objects.values_list("order_id", "email"))
    assert emails == {"820982911946154508": "", "2": "b@example.com"}


def test_late_order_event_after_redact_brings_nothing_back(client, shop):
    from loyalty.earning.models import OrderRecord

    guest = order_payload(order_id=77, customer_id=None, email="guest@example.com")
    post_webhook(client, "orders/paid", guest)
    post_webhook(client, "customers/redact", {"customer": {"id": 555}, "orders_to_redact": [77]})

    post_webhook(client, "orders/updated", guest)

    record = OrderRecord.objects.get(order_id="77")
    assert (record.email, record.member_id) == ("", None)
    assert not Member.objects.filter(shop=shop).exists()


def test_customer_update_after_redact_does_not_bring_the_data_back(client, shop):
    MemberFactory(shop=shop, platform_customer_id=str(CUSTOMER_ID), email="aisyah@example.com")
    post_webhook(client, "customers/redact", {"customer": {"id": CUSTOMER_ID}})

    post_webhook(client, "customers/update", {"id": CUSTOMER_ID, "email": "aisyah@example.com"})

    assert Member.objects.get().email == ""


def test_shop_redact_deletes_everything_but_the_audit_record(client, shop):
    member = MemberFactory(shop=shop)
    ledger_credit(member=member, points=50, idempotency_key="k", source_type="t")
    post_webhook(client, "orders/paid", order_payload())
    Shop.objects.filter(pk=shop.pk).update(uninstalled_at=timezone.now())
    other_shop_delivery = post_webhook(
        client, "orders/paid", order_payload(), shop="other.myshopify.com"
    )
    assert other_shop_delivery.status_code == 200

    post_webhook(
        client, "shop/redact", {"shop_id": 954889, "shop_domain": SHOP}, webhook_id="wh-redact"
    )

    assert not Shop.objects.filter(domain=SHOP).exists()
    assert Member.objects.count() == 0
    assert LedgerEntry.objects.count() == 0
    assert list(
        WebhookDelivery.objects.order_by("pk").values_list("shop_domain", "topic", "status", "shop")
    ) == [
        ("other.myshopify.com", "orders/paid", "retrying", None),  # waits for its install
        (SHOP, "shop/redact", "processed", None),
    ]
    audit = PrivacyRequest.objects.get()
    assert (audit.kind, audit.shop_domain, audit.shop_id) == ("shop_redact", SHOP, None)
    # the one made here and the customer the order enrolled
    assert audit.summary == "Shop data deleted: 2 member(s) with their ledgers, 1 stored record(s)."


def test_the_same_privacy_request_delivered_twice_is_handled_once(client, shop):
    MemberFactory(shop=shop, platform_customer_id=str(CUSTOMER_ID))
    payload = {"customer": {"id": CUSTOMER_ID}, "orders_requested": []}

    post_webhook(client, "customers/data_request", payload, webhook_id="wh-a")
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.RECEIVED)
    webhooks.process_delivery(delivery.pk)

    assert PrivacyRequest.objects.count() == 1
    delivery.refresh_from_db()
    assert delivery.outcome == "already handled"


def test_customer_redact_erases_them_from_the_analytics_customer_days(client, shop):
    from loyalty.analytics.models import CustomerDay
    from loyalty.analytics.selectors import analytics_customer_figures
    from loyalty.analytics.services import analytics_rollup_day, shop_zone
    from loyalty.earning.models import OrderRecord

    # A customer the merchant excluded from the program: their orders are counted as a
    # non-member's, keyed by customer id.
    MemberFactory(shop=shop, platform_customer_id="42", status=MemberStatus.EXCLUDED)
    post_webhook(client, "orders/paid", order_payload(order_id=2, customer_id=42, email="b@x.io"))
    post_webhook(client, "orders/paid", order_payload(order_id=3, customer_id=42, email="b@x.io"))
    post_webhook(
        client, "orders/paid", order_payload(order_id=77, customer_id=None, email="Guest@X.io")
    )
    post_webhook(client, "orders/paid", order_payload(order_id=5, customer_id=43, email="c@x.io"))
    paid = OrderRecord.objects.get(order_id="2").paid_at
    day = paid.astimezone(shop_zone(shop)).date()
    analytics_rollup_day(shop=shop, day=day)
    before = analytics_customer_figures(shop=shop, first=day, last=day)
    member_key = f"m{Member.objects.get(platform_customer_id='43').pk}"
    assert set(CustomerDay.objects.values_list("customer_key", flat=True)) == {
        "c42",
        "eguest@x.io",
        member_key,
    }

    post_webhook(
        client,
        "customers/redact",
        {"customer": {"id": 42, "email": "b@x.io"}, "orders_to_redact": [77]},
    )

    keys = set(CustomerDay.objects.values_list("customer_key", flat=True))
    assert not {"c42", "eguest@x.io"} & keys
    assert not any("42" in key[:3] or "guest" in key for key in keys)
    assert member_key in keys  # another customer keeps their day
    # The guest order the request named is the customer's: one customer with three orders,
    # under the stand-in their order records get ...
    assert len(keys) == 2
    assert (before["buyers"], before["nonmember_repeat_buyers"]) == (3, 1)
    redacted = analytics_customer_figures(shop=shop, first=day, last=day)
    assert (redacted["buyers"], redacted["nonmember_repeat_buyers"]) == (2, 1)
    # ... as the day rolled up again from the scrubbed order records says: nothing personal
    # comes back, and the figures agree.
    analytics_rollup_day(shop=shop, day=day)
    assert analytics_customer_figures(shop=shop, first=day, last=day) == redacted
    assert set(CustomerDay.objects.values_list("customer_key", flat=True)) == keys
