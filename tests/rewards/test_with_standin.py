"""Redemption against the Shopify stand-in over real HTTP, faults included. Every case ends with
the points spent and the code at the store, or the points back and no code: never both, never
neither."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone

from loyalty.core.platform import DiscountCodeSpec, DiscountKind
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.platforms.shopify import gateway as shopify_gateway
from loyalty.rewards.models import RedemptionStatus, RewardKind
from loyalty.rewards.services import redemption_settle, reward_redeem
from tests.factories import RewardFactory
from tests.platforms.shopify.helpers import SHOP, order_payload, post_webhook
from tests.rewards.conftest import CUSTOMER_ID

pytestmark = pytest.mark.django_db


def discounts(standin):
    return standin.shop(SHOP).discounts


def discount_mutations(standin):
    return [
        r
        for r in standin.requests
        if r.target == "graphql"
        and "discountCodeBasicCreate" in ((r.json or {}).get("query") or "")
    ]


def assert_points_xor_code(member, redemption, standin):
    """Exactly one of: the code exists at the store and the points are spent; or neither."""
    member.refresh_from_db()
    redemption.refresh_from_db()
    codes = [d.code for d in discounts(standin)]
    debit = LedgerEntry.objects.get(pk=redemption.debit_entry_id)
    refunds = LedgerEntry.objects.filter(kind=EntryKind.REVERSE, reverses=debit)
    if redemption.status == RedemptionStatus.ISSUED:
        assert codes == [redemption.code]
        assert refunds.count() == 0
        assert member.points_balance == 1000 - redemption.points
    else:
        assert redemption.status == RedemptionStatus.FAILED
        assert codes == []
        assert [r.points for r in refunds] == [redemption.points]
        assert member.points_balance == 1000
    assert ledger_audit_members(members=[member]) == []


@pytest.fixture
def fast_waits(monkeypatch):
    """Backoff waits of the Admin API client shortened (the attempts themselves are real)."""
    monkeypatch.setattr("loyalty.platforms.shopify.admin_api.MAX_WAIT_SECONDS", 0.2)


def test_the_mutation_binds_the_code_to_the_customer_once_with_value_and_minimum(
    shopify_standin, standin_member
):
    member = standin_member()
    reward = RewardFactory(shop=member.shop, minimum_subtotal=Decimal("30.00"), code_expiry_days=30)

    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    assert redemption.status == RedemptionStatus.ISSUED
    [discount] = discounts(shopify_standin)
    assert redemption.platform_discount_id == discount.gid
    sent = discount.input
    assert sent["code"] == redemption.code
    assert sent["context"] == {"customers": {"add": [f"gid://shopify/Customer/{CUSTOMER_ID}"]}}
    assert (sent["usageLimit"], sent["appliesOncePerCustomer"]) == (1, True)
    assert sent["customerGets"] == {
        "value": {"discountAmount": {"amount": "5.00", "appliesOnEachItem": False}},
        "items": {"all": True},
    }
    assert sent["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "30.00"}}
    assert sent["combinesWith"] == {
        "orderDiscounts": False,
        "productDiscounts": True,
        "shippingDiscounts": True,
    }
    assert sent["endsAt"] == redemption.expires_at.isoformat()
    assert_points_xor_code(member, redemption, shopify_standin)


def test_percent_free_product_and_free_shipping_codes_at_the_store(shopify_standin, standin_member):
    member = standin_member(points=3000)
    percent = RewardFactory(shop=member.shop, kind=RewardKind.PERCENT_OFF, value=Decimal("15"))
    product = RewardFactory(
        shop=member.shop,
        kind=RewardKind.FREE_PRODUCT,
        value=Decimal("0"),
        product_variant_id="39072856",
    )
    shipping = RewardFactory(shop=member.shop, kind=RewardKind.FREE_SHIPPING, value=Decimal("0"))

    results = [
        reward_redeem(member=member, reward=r, idempotency_key=f"k{r.pk}").redemption
        for r in (percent, product, shipping)
    ]

    assert [r.status for r in results] == [RedemptionStatus.ISSUED] * 3
    made = discounts(shopify_standin)
    assert [d.kind for d in made] == ["basic", "basic", "free_shipping"]
    assert made[0].input["customerGets"]["value"] == {"percentage": 0.15}
    assert made[1].input["customerGets"] == {
        "value": {"percentage": 1.0},
        "items": {"products": {"productVariantsToAdd": ["gid://shopify/ProductVariant/39072856"]}},
    }
    assert made[2].input["destination"] == {"all": True}


@pytest.mark.parametrize("kind", ["500", "throttled", "429"])
def test_a_passing_fault_is_retried_and_the_code_delivered(
    shopify_standin, standin_member, fast_waits, kind
):
    member = standin_member()
    reward = RewardFactory(shop=member.shop)
    shopify_standin.faults.push(kind, count=1, retry_after="0.1")

    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    assert redemption.status == RedemptionStatus.ISSUED
    assert_points_xor_code(member, redemption, shopify_standin)


@pytest.mark.parametrize("kind", ["500", "throttled"])
def test_a_store_down_for_every_attempt_returns_the_points(
    shopify_standin, standin_member, fast_waits, kind
):
    member = standin_member()
    reward = RewardFactory(shop=member.shop)
    shopify_standin.faults.push(kind, count=shopify_gateway.DISCOUNT_MAX_ATTEMPTS)

    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    assert redemption.status == RedemptionStatus.FAILED
    assert len(discount_mutations(shopify_standin)) == shopify_gateway.DISCOUNT_MAX_ATTEMPTS
    assert_points_xor_code(member, redemption, shopify_standin)


@override_settings(SHOPIFY_HTTP_TIMEOUT=0.3)
def test_a_timed_out_call_the_store_applied_later_is_delivered_not_refunded(
    shopify_standin, standin_member, fast_waits
):
    # given a store that answers the first call after the client gave up, yet applies it
    member = standin_member()
    reward = RewardFactory(shop=member.shop)
    shopify_standin.faults.push("slow", count=1, delay=0.6)

    # when the member redeems
    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    # then the retry with the same code finds it created once (by whichever call came first)
    time.sleep(0.8)  # let the slow call land too
    assert redemption.status == RedemptionStatus.ISSUED
    assert redemption.platform_attempts == 1
    assert_points_xor_code(member, redemption, shopify_standin)


@override_settings(SHOPIFY_HTTP_TIMEOUT=0.3)
def test_every_call_timing_out_holds_the_points_until_the_sweeper_finds_the_code(
    shopify_standin, standin_member, fast_waits
):
    # given a store that applies every call only after the client timed out, and after the
    # client's look-up too
    member = standin_member()
    reward = RewardFactory(shop=member.shop)
    attempts = shopify_gateway.DISCOUNT_MAX_ATTEMPTS
    shopify_standin.faults.push("slow", count=attempts, delay=3.0)

    # when the member redeems: no answer, no code yet
    pending = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption
    assert pending.status == RedemptionStatus.PENDING
    assert discounts(shopify_standin) == []
    member.refresh_from_db()
    assert member.points_balance == 500  # held, not refunded: a call may still land

    # then, once the calls have landed, settling finds the code even after the grace
    deadline = time.monotonic() + 10
    while not discounts(shopify_standin) and time.monotonic() < deadline:
        time.sleep(0.1)
    settled = redemption_settle(
        redemption=pending, create=False, now=timezone.now() + timedelta(hours=1)
    )
    assert settled.status == RedemptionStatus.ISSUED
    assert_points_xor_code(member, settled, shopify_standin)


@override_settings(SHOPIFY_HTTP_TIMEOUT=0.3)
def test_a_pending_redemption_whose_code_never_came_is_refunded_after_the_grace(
    shopify_standin, standin_member, fast_waits
):
    # given calls that were never answered and never applied (the connection dropped)
    member = standin_member()
    reward = RewardFactory(shop=member.shop)
    shopify_standin.faults.push("network", count=shopify_gateway.DISCOUNT_MAX_ATTEMPTS)
    pending = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    # when the sweeper looks within the grace, then after it
    early = redemption_settle(redemption=pending, create=False)
    late = redemption_settle(
        redemption=pending, create=False, now=timezone.now() + timedelta(seconds=601)
    )

    # then the points are held first, and returned once no call can land any more
    assert pending.status == RedemptionStatus.PENDING
    assert early.status == RedemptionStatus.PENDING
    assert late.status == RedemptionStatus.FAILED
    assert_points_xor_code(member, late, shopify_standin)


def test_a_retry_with_the_same_key_returns_the_first_code(shopify_standin, standin_member):
    member = standin_member()
    reward = RewardFactory(shop=member.shop)
    first = reward_redeem(member=member, reward=reward, idempotency_key="k1")

    again = reward_redeem(member=member, reward=reward, idempotency_key="k1")

    assert (first.created, again.created) == (True, False)
    assert again.redemption.code == first.redemption.code
    assert len(discount_mutations(shopify_standin)) == 1
    assert_points_xor_code(member, again.redemption, shopify_standin)


def test_a_customer_the_store_does_not_know_is_refused_and_refunded(
    shopify_standin, standin_member
):
    member = standin_member()
    shopify_standin.shop(SHOP).customers.clear()
    reward = RewardFactory(shop=member.shop)

    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    assert redemption.status == RedemptionStatus.FAILED
    assert "does not exist" in redemption.error
    assert_points_xor_code(member, redemption, shopify_standin)


def test_an_order_webhook_using_the_code_marks_the_redemption_used(
    client, shopify_standin, standin_member, django_capture_on_commit_callbacks
):
    member = standin_member()
    reward = RewardFactory(shop=member.shop)
    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption
    payload = order_payload(customer_id=CUSTOMER_ID)
    payload["discount_codes"] = [
        {"code": redemption.code, "amount": "5.00", "type": "fixed_amount"}
    ]

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(client, "orders/paid", payload)

    assert response.status_code == 200
    redemption.refresh_from_db()
    assert (redemption.status, redemption.order_id) == (RedemptionStatus.USED, str(payload["id"]))


def test_the_gateway_deletes_a_code_and_a_missing_one_is_fine(shopify_standin, standin_member):
    member = standin_member()
    reward = RewardFactory(shop=member.shop)
    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption
    gateway = shopify_gateway.ShopifyGateway()

    gateway.discount_code_delete(
        shop=member.shop, platform_discount_id=redemption.platform_discount_id
    )
    gateway.discount_code_delete(
        shop=member.shop, platform_discount_id=redemption.platform_discount_id
    )

    assert discounts(shopify_standin) == []
    assert gateway.discount_code_find(shop=member.shop, code=redemption.code) is None


def test_our_code_taken_by_another_discount_is_a_refusal_and_a_refund(
    shopify_standin, standin_member, monkeypatch
):
    # given the store already has the code, for someone else
    member = standin_member()
    standin_member(points=0, customer_id=CUSTOMER_ID + 1)
    reward = RewardFactory(shop=member.shop)
    monkeypatch.setattr("loyalty.rewards.services.redemption_new_code", lambda: "SETIA-TAKE-N001")
    other = shopify_gateway.ShopifyGateway()
    spec = DiscountCodeSpec(
        code="SETIA-TAKE-N001",
        title="Someone else's",
        platform_customer_id=str(CUSTOMER_ID + 1),
        kind=DiscountKind.AMOUNT,
        value=Decimal("5"),
    )
    other.discount_code_create(shop=member.shop, spec=spec)

    # when the member's redemption draws the same code
    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    # then it is not taken for ours: refused, points back, the other discount untouched
    assert redemption.status == RedemptionStatus.FAILED
    assert redemption.error.startswith("code_taken:")
    assert len(discounts(shopify_standin)) == 1
    member.refresh_from_db()
    assert member.points_balance == 1000


@override_settings(SHOPIFY_HTTP_TIMEOUT=0.3)
def test_a_call_answered_only_after_an_unanswered_attempt_still_reports_an_unknown_outcome(
    shopify_standin, shopify_shop, fast_waits
):
    from loyalty.platforms.shopify.admin_api import admin_graphql
    from loyalty.platforms.shopify.errors import AdminApiError

    shopify_standin.faults.push("network", count=1)
    shopify_standin.faults.push("500", count=2)

    with pytest.raises(AdminApiError) as failed:
        admin_graphql(shop=shopify_shop, query="query { shop { name } }", max_attempts=3)

    assert (failed.value.status, failed.value.transient) == (500, True)
    assert failed.value.outcome_unknown is True
