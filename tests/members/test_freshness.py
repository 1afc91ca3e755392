"""Every change a shopper can see moves the member's version, after commit and only then, so
a cached storefront answer is never used past a change."""

import pytest
from django.core.cache import cache
from django.db import transaction

from loyalty.ledger.services import ledger_credit
from loyalty.members.freshness import member_version_key
from loyalty.members.services import member_get_or_create, member_redact
from loyalty.rewards.models import Redemption, RedemptionStatus
from loyalty.rewards.services import redemption_expire, redemption_mark_used
from loyalty.tiers.services import tier_assign
from tests.factories import MemberFactory, RewardFactory, ShopFactory, TierFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def version(member):
    return cache.get(
        member_version_key(shop_id=member.shop_id, platform_customer_id=member.platform_customer_id)
    )


def moves(member, change, capture) -> bool:
    before = version(member)
    with capture(execute=True):
        change()
    after = version(member)
    return after is not None and after != before


def test_points_enrolment_tier_and_codes_each_move_the_version(
    django_capture_on_commit_callbacks,
):
    shop = ShopFactory()
    member = MemberFactory(shop=shop, platform_customer_id="7001")
    gold = TierFactory(shop=shop, name="Gold")
    redemption = Redemption.objects.create(
        shop=shop,
        member=member,
        reward=RewardFactory(shop=shop),
        idempotency_key="r1",
        status=RedemptionStatus.ISSUED,
        points=500,
        code="SETIA-AAAA",
    )
    capture = django_capture_on_commit_callbacks

    assert moves(
        member,
        lambda: ledger_credit(member=member, points=5, idempotency_key="a", source_type="order"),
        capture,
    )
    assert moves(member, lambda: tier_assign(member=member, tier=gold, actor="staff:1"), capture)
    assert moves(
        member,
        lambda: redemption_mark_used(shop=shop, discount_codes=["setia-aaaa"], order_id="9"),
        capture,
    )
    redemption.refresh_from_db()
    redemption.status = RedemptionStatus.ISSUED
    redemption.save()
    assert moves(member, lambda: redemption_expire(redemption=redemption), capture)
    newcomer = MemberFactory.build(shop=shop, platform_customer_id="7002")
    assert moves(
        newcomer,
        lambda: member_get_or_create(shop=shop, platform_customer_id="7002"),
        capture,
    )
    assert moves(member, lambda: member_redact(shop=shop, platform_customer_id="7001"), capture)


def test_a_change_that_rolls_back_moves_nothing(django_capture_on_commit_callbacks):
    member = MemberFactory(platform_customer_id="7001")

    def credit_then_fail():
        with transaction.atomic():
            ledger_credit(member=member, points=5, idempotency_key="a", source_type="order")
            raise RuntimeError("the caller's next step failed")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        credit_then_fail()

    assert version(member) is None
