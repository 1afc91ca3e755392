"""reward_redeem and the settling of redemptions, with a scripted gateway (no HTTP)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from loyalty.core.platform import DiscountKind, IssuedCode, PlatformError
from loyalty.ledger.models import EntryKind, LedgerEntry
from loyalty.ledger.selectors import ledger_audit_members
from loyalty.ledger.services import InsufficientPoints, ledger_credit
from loyalty.rewards import services
from loyalty.rewards.models import Redemption, RedemptionStatus, Reward, RewardKind
from loyalty.rewards.services import (
    InvalidPoints,
    RateLimited,
    RedemptionKeyReused,
    RewardLimitReached,
    RewardUnavailable,
    redemption_expire,
    redemption_mark_used,
    redemption_settle,
    reward_redeem,
)
from loyalty.rewards.tasks import expire_unused_codes, settle_pending_redemptions
from loyalty.shops.models import Program
from loyalty.shops.services import Tokens, shop_install, shop_uninstall
from tests.factories import MemberFactory, RewardFactory
from tests.rewards.conftest import refused, server_error, unanswered

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def member_with(points, **kwargs):
    member = MemberFactory(**kwargs)
    if points:
        ledger_credit(member=member, points=points, idempotency_key="seed", source_type="test")
    member.refresh_from_db()
    return member


def balance(member):
    member.refresh_from_db()
    return member.points_balance


def test_redeem_debits_the_points_and_issues_a_customer_bound_code(gateway):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop, minimum_subtotal=Decimal("30.00"), code_expiry_days=30)

    result = reward_redeem(member=member, reward=reward, idempotency_key="k1", now=NOW)

    redemption = result.redemption
    assert result.created is True
    assert redemption.status == RedemptionStatus.ISSUED
    assert redemption.points == 500
    assert redemption.money_value == Decimal("5.00")
    assert redemption.code.startswith("SETIA-") and len(redemption.code) == 15
    assert redemption.platform_discount_id == "gid://shopify/DiscountCodeNode/1"
    assert redemption.expires_at == NOW + timedelta(days=30)
    assert balance(member) == 700
    [spec] = gateway.specs
    assert (spec.code, spec.platform_customer_id, spec.kind) == (
        redemption.code,
        member.platform_customer_id,
        DiscountKind.AMOUNT,
    )
    assert (spec.value, spec.minimum_subtotal, spec.ends_at) == (
        Decimal("5.00"),
        Decimal("30.00"),
        NOW + timedelta(days=30),
    )
    debit = LedgerEntry.objects.get(kind=EntryKind.REDEEM)
    assert (debit.points, debit.idempotency_key) == (-500, f"redemption:{redemption.pk}:debit")
    assert ledger_audit_members(members=[member]) == []


def test_not_enough_points_writes_nothing(gateway):
    member = member_with(499)
    reward = RewardFactory(shop=member.shop)

    with pytest.raises(InsufficientPoints):
        reward_redeem(member=member, reward=reward, idempotency_key="k1")

    assert Redemption.objects.count() == 0
    assert LedgerEntry.objects.filter(kind=EntryKind.REDEEM).count() == 0
    assert balance(member) == 499
    assert gateway.specs == []


def test_the_same_key_returns_the_first_redemption_and_spends_once(gateway):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)
    first = reward_redeem(member=member, reward=reward, idempotency_key="k1")

    again = reward_redeem(member=member, reward=reward, idempotency_key="k1")

    assert again.created is False
    assert again.redemption.pk == first.redemption.pk
    assert again.redemption.code == first.redemption.code
    assert balance(member) == 700
    assert len(gateway.specs) == 1


def test_a_key_reused_for_another_reward_is_refused(gateway):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)
    other = RewardFactory(shop=member.shop, points_cost=100)
    reward_redeem(member=member, reward=reward, idempotency_key="k1")

    with pytest.raises(RedemptionKeyReused):
        reward_redeem(member=member, reward=other, idempotency_key="k1")

    assert Redemption.objects.count() == 1
    assert balance(member) == 700


@override_settings(REWARDS_RATE_LIMIT=2, REWARDS_RATE_WINDOW_SECONDS=60)
def test_a_third_redemption_within_the_window_is_rate_limited_and_a_replay_is_not(gateway):
    member = member_with(5000)
    reward = RewardFactory(shop=member.shop, points_cost=100)
    reward_redeem(member=member, reward=reward, idempotency_key="a", now=NOW)
    reward_redeem(
        member=member, reward=reward, idempotency_key="b", now=NOW + timedelta(seconds=10)
    )

    with pytest.raises(RateLimited) as limited:
        reward_redeem(
            member=member, reward=reward, idempotency_key="c", now=NOW + timedelta(seconds=20)
        )
    replay = reward_redeem(
        member=member, reward=reward, idempotency_key="b", now=NOW + timedelta(seconds=20)
    )
    later = reward_redeem(
        member=member, reward=reward, idempotency_key="d", now=NOW + timedelta(seconds=61)
    )

    assert limited.value.retry_after == 41
    assert replay.created is False
    assert later.redemption.status == RedemptionStatus.ISSUED
    assert Redemption.objects.count() == 3
    assert balance(member) == 4700


@pytest.mark.parametrize(
    "reward_fields",
    [
        {"enabled": False},
        {"starts_at": NOW + timedelta(days=1)},
        {"ends_at": NOW},
        {"tiers": ["gold"]},
    ],
)
def test_a_reward_not_claimable_now_is_refused_and_nothing_written(gateway, reward_fields):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop, **reward_fields)

    with pytest.raises(RewardUnavailable):
        reward_redeem(member=member, reward=reward, idempotency_key="k1", now=NOW)

    assert Redemption.objects.count() == 0
    assert balance(member) == 1200


def test_another_shops_reward_is_unavailable(gateway):
    member = member_with(1200)
    reward = RewardFactory()

    with pytest.raises(RewardUnavailable):
        reward_redeem(member=member, reward=reward, idempotency_key="k1")

    assert Redemption.objects.count() == 0


def test_the_per_customer_limit_counts_spent_redemptions_only(gateway):
    member = member_with(2000)
    reward = RewardFactory(shop=member.shop, per_customer_limit=1)
    gateway.create_script = [refused()]
    failed = reward_redeem(member=member, reward=reward, idempotency_key="k1")
    reward_redeem(member=member, reward=reward, idempotency_key="k2")

    with pytest.raises(RewardLimitReached):
        reward_redeem(member=member, reward=reward, idempotency_key="k3")

    assert failed.redemption.status == RedemptionStatus.FAILED
    assert balance(member) == 1500


def test_variable_reward_spends_the_chosen_points_in_steps(gateway):
    member = member_with(1000)
    reward = RewardFactory(
        shop=member.shop,
        kind=RewardKind.POINTS_TO_MONEY,
        points_cost=100,
        value=Decimal("1.00"),
        min_points=200,
        max_points=800,
    )

    result = reward_redeem(member=member, reward=reward, idempotency_key="k1", points=700)

    assert (result.redemption.points, result.redemption.money_value) == (700, Decimal("7.00"))
    assert gateway.specs[0].value == Decimal("7.00")
    assert balance(member) == 300
    for points in (100, 900, 250, 0):
        with pytest.raises(InvalidPoints):
            reward_redeem(member=member, reward=reward, idempotency_key=f"p{points}", points=points)


def test_charity_pledges_points_in_money_without_a_code(gateway):
    member = member_with(1000)
    reward = RewardFactory(
        shop=member.shop,
        kind=RewardKind.CHARITY,
        name="Plant a tree",
        cause="Hutan Lestari",
        points_cost=200,
        value=Decimal("2.00"),
    )

    result = reward_redeem(member=member, reward=reward, idempotency_key="k1")

    assert result.redemption.status == RedemptionStatus.DONATED
    assert (result.redemption.code, result.redemption.money_value) == ("", Decimal("2.00"))
    assert gateway.specs == []
    assert balance(member) == 800


def test_percent_and_free_product_and_free_shipping_specs(gateway):
    member = member_with(3000)
    percent = RewardFactory(shop=member.shop, kind=RewardKind.PERCENT_OFF, value=Decimal("10"))
    product = RewardFactory(
        shop=member.shop,
        kind=RewardKind.FREE_PRODUCT,
        value=Decimal("0"),
        product_variant_id="39072856",
    )
    shipping = RewardFactory(shop=member.shop, kind=RewardKind.FREE_SHIPPING, value=Decimal("0"))

    for i, reward in enumerate((percent, product, shipping)):
        reward_redeem(member=member, reward=reward, idempotency_key=f"k{i}")

    assert [(s.kind, s.value, s.product_variant_id) for s in gateway.specs] == [
        (DiscountKind.PERCENT, Decimal("10.00"), ""),
        (DiscountKind.FREE_PRODUCT, Decimal("0"), "39072856"),
        (DiscountKind.FREE_SHIPPING, Decimal("0"), ""),
    ]


def test_a_definite_refusal_returns_the_points(gateway):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)
    gateway.create_script = [refused()]

    result = reward_redeem(member=member, reward=reward, idempotency_key="k1")

    redemption = result.redemption
    assert redemption.status == RedemptionStatus.FAILED
    assert redemption.error == "user_errors: Customer does not exist"
    assert redemption.refund_entry.points == 500
    assert redemption.refund_entry.idempotency_key == f"redemption:{redemption.pk}:refund"
    assert balance(member) == 1200
    assert gateway.codes == {}
    assert ledger_audit_members(members=[member]) == []


def test_a_refusal_of_a_call_the_store_applied_anyway_issues_the_code(gateway):
    # A GraphQL internal error is an answer, not a promise that nothing happened.
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)
    gateway.create_script = [PlatformError("graphql_errors", "Internal error")]
    gateway.lands = True

    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    assert redemption.status == RedemptionStatus.ISSUED
    assert gateway.finds == [redemption.code]
    assert balance(member) == 700


def test_a_code_of_that_name_bound_to_another_customer_is_not_ours(gateway):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)

    def another_customers_code(*, shop, spec):  # a code of that name exists at the store...
        gateway.specs.append(spec)
        gateway.codes[spec.code] = IssuedCode(spec.code, "gid://shopify/DiscountCodeNode/99")
        gateway.customers[spec.code] = "someone-else"  # ...but bound to someone else
        raise refused()

    gateway.discount_code_create = another_customers_code

    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    assert redemption.status == RedemptionStatus.FAILED
    assert balance(member) == 1200


def test_a_server_error_then_no_code_at_the_store_returns_the_points(gateway):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)
    gateway.create_script = [server_error()]

    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    assert redemption.status == RedemptionStatus.FAILED
    assert gateway.finds == [redemption.code]
    assert balance(member) == 1200


def test_an_unanswered_call_whose_code_exists_is_issued(gateway):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)
    gateway.create_script = [unanswered()]
    gateway.lands = True

    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    assert redemption.status == RedemptionStatus.ISSUED
    assert redemption.in_doubt_since is None
    assert balance(member) == 700


def test_an_unanswered_call_without_a_code_holds_the_points_until_the_grace_has_passed(gateway):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)
    gateway.create_script = [unanswered()]

    pending = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption
    too_soon = redemption_settle(redemption=pending, create=False)
    settled = redemption_settle(
        redemption=pending, create=False, now=pending.in_doubt_since + timedelta(seconds=601)
    )

    assert pending.status == RedemptionStatus.PENDING
    assert pending.platform_attempts == 1
    assert too_soon.status == RedemptionStatus.PENDING
    assert settled.status == RedemptionStatus.FAILED
    assert balance(member) == 1200
    assert ledger_audit_members(members=[member]) == []


def test_a_late_landing_code_is_found_by_the_sweeper_and_issued(gateway):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)
    gateway.create_script = [unanswered()]
    pending = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption
    gateway.codes[pending.code] = services.IssuedCode(
        pending.code, "gid://shopify/DiscountCodeNode/9"
    )
    Redemption.objects.filter(pk=pending.pk).update(updated_at=NOW - timedelta(hours=1))

    outcome = settle_pending_redemptions()

    pending.refresh_from_db()
    assert outcome == {"issued": 1, "failed": 0, "pending": 0}
    assert (pending.status, pending.platform_discount_id) == (
        RedemptionStatus.ISSUED,
        "gid://shopify/DiscountCodeNode/9",
    )
    assert gateway.specs.__len__() == 1  # the sweeper only looks, it never creates
    assert balance(member) == 700


def test_retrying_a_pending_redemption_with_its_key_carries_on_settling_it(gateway):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)
    gateway.create_script = [unanswered()]
    pending = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    retried = reward_redeem(member=member, reward=reward, idempotency_key="k1")

    assert pending.status == RedemptionStatus.PENDING
    assert retried.created is False
    assert retried.redemption.status == RedemptionStatus.ISSUED
    assert [s.code for s in gateway.specs] == [pending.code, pending.code]
    assert balance(member) == 700


def test_when_the_lookup_fails_too_the_points_stay_held(gateway):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)
    gateway.create_script = [server_error()]
    gateway.find_errors = [server_error()]

    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    assert redemption.status == RedemptionStatus.PENDING
    assert redemption.in_doubt_since is None  # answered: it can be refunded as soon as known
    assert balance(member) == 700


def test_an_order_using_the_code_marks_it_used_once(gateway):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop)
    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption

    first = redemption_mark_used(
        shop=member.shop, discount_codes=(redemption.code.lower(), "RAYA20"), order_id="1001"
    )
    again = redemption_mark_used(
        shop=member.shop, discount_codes=(redemption.code,), order_id="1001"
    )

    redemption.refresh_from_db()
    assert (first, again) == (1, 0)
    assert (redemption.status, redemption.order_id) == (RedemptionStatus.USED, "1001")


@pytest.mark.parametrize("returns, expected_balance", [(True, 1200), (False, 700)])
def test_an_expired_unused_code_returns_its_points_when_the_program_says_so(
    gateway, returns, expected_balance
):
    member = member_with(1200)
    Program.objects.filter(shop=member.shop).update(return_points_for_expired_codes=returns)
    reward = RewardFactory(shop=member.shop, code_expiry_days=7)
    redemption = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption
    Redemption.objects.filter(pk=redemption.pk).update(expires_at=NOW - timedelta(days=2))

    expired = expire_unused_codes()
    again = redemption_expire(redemption=redemption)

    redemption.refresh_from_db()
    assert expired == 1
    assert again.status == RedemptionStatus.EXPIRED
    assert redemption.status == RedemptionStatus.EXPIRED
    assert (redemption.refund_entry_id is not None) == returns
    assert balance(member) == expected_balance
    assert ledger_audit_members(members=[member]) == []


def test_one_redemption_that_cannot_expire_does_not_hold_back_the_others(gateway, monkeypatch):
    member = member_with(1200)
    reward = RewardFactory(shop=member.shop, code_expiry_days=7)
    broken = reward_redeem(member=member, reward=reward, idempotency_key="k1").redemption
    fine = reward_redeem(member=member, reward=reward, idempotency_key="k2").redemption
    Redemption.objects.update(expires_at=NOW - timedelta(days=2))
    real_expire = services.redemption_expire

    def expire(*, redemption, now=None):
        if redemption.pk == broken.pk:
            raise RuntimeError("points already returned by hand")
        return real_expire(redemption=redemption, now=now)

    monkeypatch.setattr(services, "redemption_expire", expire)

    assert expire_unused_codes() == 1

    broken.refresh_from_db()
    fine.refresh_from_db()
    assert (broken.status, fine.status) == (RedemptionStatus.ISSUED, RedemptionStatus.EXPIRED)


def test_install_creates_the_default_reward_once_and_reinstall_restores_it():
    tokens = Tokens(access_token="shpat_x", scopes="write_discounts")
    shop, _ = shop_install(domain="batik.myshopify.com", tokens=tokens)
    shop_install(domain="batik.myshopify.com", tokens=tokens)
    [default] = Reward.objects.filter(shop=shop)

    Reward.objects.filter(pk=default.pk).delete()
    shop_uninstall(shop=shop, at=None)
    shop_install(domain="batik.myshopify.com", tokens=tokens)

    assert (default.kind, default.points_cost, default.value) == (
        RewardKind.AMOUNT_OFF,
        500,
        Decimal("5.00"),
    )
    assert Reward.objects.filter(shop=shop, is_default=True).count() == 1
