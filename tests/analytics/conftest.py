"""A small shop with a known history over three days of its calendar (Kuala Lumpur, UTC+8),
built through the ledger, rewards and tier services; the tests compute its figures by hand.

Day 1 (2026-03-02), day 2 (03-03), day 3 (03-04), local times:

members: Dina enrolled 02-20; Adam and Bella on day 1; Chen on day 2.
day 1  10:00 Adam earns 100        11:00 Bella earns 50, pending until day 3 11:00
       12:00 Dina earns 200        13:00 Dina earns 40, expiring day 2 16:00
       12:30 Dina put on Silver    14:00 Dina redeems 100 (a 10.00 reward code, issued)
       orders: Adam 40.00; guest x@example.com 25.00; customer 900 35.00;
               Dina 99.00 cancelled (not counted); a test order (net 0, not counted)
day 2  00:30 guest X@Example.com 15.00 (day 1 16:30 UTC: counts on day 2)
       09:00 Adam redeems 60 (a 6.00 code, used in order 1006 at 10:00: 60.00)
       09:30 Adam put on Silver    12:00 Dina up to Gold       13:00 Chen earns 30
       14:00 Adam: 10 deducted by hand
       15:00 Dina redeems 50; the store refuses, 15:05 the 50 go back (failed)
       17:00 Dina's 40 expire       18:00 order: Dina 80.00
day 3  07:00 Chen earns 20 (day 2 23:00 UTC: counts on day 3)
       08:00 order: Chen 30.00      10:00 a refund takes 30 of Adam's 100 back
       12:00 order: customer 900 45.00

Another shop has members, points, orders and a used code on the same days: never counted.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from loyalty.core import platform
from loyalty.earning.models import OrderRecord
from loyalty.ledger.models import EntryKind
from loyalty.ledger.services import (
    ledger_credit,
    ledger_debit,
    ledger_expire_due,
    ledger_reverse,
)
from loyalty.members.models import Member
from loyalty.rewards.models import Redemption, RedemptionStatus, Reward
from loyalty.rewards.services import redemption_mark_used, reward_redeem
from loyalty.shops.models import Platform, Shop
from loyalty.tiers.services import tier_assign
from tests.factories import MemberFactory, RewardFactory, ShopFactory, TierFactory
from tests.rewards.conftest import ScriptedGateway

KL = ZoneInfo("Asia/Kuala_Lumpur")
DAY1, DAY2, DAY3 = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


def at(day: date, hour: int, minute: int = 0, zone=KL) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


@dataclasses.dataclass
class History:
    shop: Shop
    other: Shop
    adam: Member
    bella: Member
    chen: Member
    dina: Member
    reward: Reward


@pytest.fixture
def gateway(monkeypatch) -> ScriptedGateway:
    scripted = ScriptedGateway()
    monkeypatch.setitem(platform._gateways, Platform.SHOPIFY, lambda: scripted)
    return scripted


def order(shop, order_id, amount, paid_at, *, member=None, email="", customer="", **fields):
    return OrderRecord.objects.create(
        shop=shop,
        order_id=order_id,
        member=member,
        email=email,
        platform_customer_id=customer or (member.platform_customer_id if member else ""),
        paid_at=paid_at,
        net_amount=Decimal(amount),
        **{"facts": {"test": False}, **fields},
    )


def credit(member, points, when, key, **fields):
    return ledger_credit(
        member=member, points=points, idempotency_key=key, source_type="test", now=when, **fields
    ).entry


def redeem(member, reward, when, key):
    return reward_redeem(member=member, reward=reward, idempotency_key=key, now=when).redemption


def failed_redemption(member, reward, points, when, returned_at):
    """What a refused store call leaves: the debit, its reversal, the redemption failed."""
    debit = ledger_debit(
        member=member,
        points=points,
        idempotency_key=f"failed:{member.pk}",
        source_type="redemption",
        kind=EntryKind.REDEEM,
        now=when,
    ).entry
    back = ledger_reverse(entry=debit, idempotency_key=f"failed:{member.pk}:back", now=returned_at)
    return Redemption.objects.create(
        shop=member.shop,
        member=member,
        reward=reward,
        idempotency_key=f"failed:{member.pk}",
        status=RedemptionStatus.FAILED,
        points=points,
        code=f"SETIA-FAIL-{member.pk}",
        debit_entry=debit,
        refund_entry=back.entry,
        created_at=when,
    )


def build_other_shop(gateway) -> Shop:
    other = ShopFactory(iana_timezone="Asia/Kuala_Lumpur", currency="MYR")
    reward = RewardFactory(shop=other, points_cost=10, value=Decimal("1.00"))
    someone = MemberFactory(shop=other, enrolled_at=at(DAY1, 8))
    credit(someone, 5000, at(DAY1, 9), "o1", available_at=at(DAY3, 20))
    credit(someone, 700, at(DAY2, 9), "o2")
    code = redeem(someone, reward, at(DAY2, 10), "o-r").code
    ledger_expire_due(member=someone, now=at(DAY2, 11))
    order(other, "1006", "999.00", at(DAY2, 10), member=someone)
    order(other, "1002", "500.00", at(DAY1, 11), email="x@example.com")
    # A code of the other shop used in an order whose id matches one of the shop's orders.
    redemption_mark_used(shop=other, discount_codes=[code], order_id="1002")
    TierFactory(shop=other, name="Platinum", threshold=1)
    return other


@pytest.fixture
def history(db, gateway) -> History:
    shop = ShopFactory(iana_timezone="Asia/Kuala_Lumpur", currency="MYR")
    return build_history(shop, other=build_other_shop(gateway))


def build_history(shop: Shop, *, other: Shop | None = None) -> History:
    """The history of the module docstring, in `shop` (a gateway fixture must be active)."""
    silver = TierFactory(shop=shop, name="Silver", threshold=100)
    gold = TierFactory(shop=shop, name="Gold", threshold=200)
    # Points are worth 0.05 each: the cheapest active fixed-amount reward, 5.00 for 100.
    reward = RewardFactory(shop=shop, name="5 off", points_cost=100, value=Decimal("5.00"))
    RewardFactory(shop=shop, name="12 off", points_cost=200, value=Decimal("12.00"))
    # Two rewards used once, then switched off: they no longer give a point its value.
    ten_off = RewardFactory(shop=shop, name="10 off", points_cost=100, value=Decimal("10.00"))
    six_off = RewardFactory(shop=shop, name="6 off", points_cost=60, value=Decimal("6.00"))

    dina = MemberFactory(shop=shop, first_name="Dina", enrolled_at=at(date(2026, 2, 20), 9))
    adam = MemberFactory(shop=shop, first_name="Adam", enrolled_at=at(DAY1, 9))
    bella = MemberFactory(shop=shop, first_name="Bella", enrolled_at=at(DAY1, 10))
    chen = MemberFactory(shop=shop, first_name="Chen", enrolled_at=at(DAY2, 12))

    # Day 1.
    adam_earn = credit(adam, 100, at(DAY1, 10), "a1")
    credit(bella, 50, at(DAY1, 11), "b1", available_at=at(DAY3, 11))
    credit(dina, 200, at(DAY1, 12), "d1")
    credit(dina, 40, at(DAY1, 13), "d2", expires_at=at(DAY2, 16))
    tier_assign(member=dina, tier=silver, actor="staff:1", now=at(DAY1, 12, 30))
    ten = redeem(dina, ten_off, at(DAY1, 14), "d-r1")
    order(shop, "1001", "40.00", at(DAY1, 10), member=adam)
    order(shop, "1002", "25.00", at(DAY1, 11), email="x@example.com")
    order(shop, "1003", "35.00", at(DAY1, 12), customer="900")
    order(shop, "1004", "99.00", at(DAY1, 13), member=dina, cancelled_at=at(DAY1, 15))
    order(shop, "1005", "0", at(DAY1, 14), customer="901", facts={"test": True})
    # Day 2.
    order(shop, "1007", "15.00", at(DAY2, 0, 30), email="X@Example.com")
    six = redeem(adam, six_off, at(DAY2, 9), "a-r1")
    order(shop, "1006", "60.00", at(DAY2, 10), member=adam)
    redemption_mark_used(shop=shop, discount_codes=[six.code], order_id="1006")
    Reward.objects.filter(pk__in=[ten_off.pk, six_off.pk]).update(enabled=False)
    tier_assign(member=adam, tier=silver, actor="staff:1", now=at(DAY2, 9, 30))
    tier_assign(member=dina, tier=gold, actor="staff:1", now=at(DAY2, 12))
    credit(chen, 30, at(DAY2, 13), "c1")
    ledger_debit(
        member=adam,
        points=10,
        idempotency_key="a-adj",
        source_type="manual",
        kind=EntryKind.ADJUST,
        now=at(DAY2, 14),
    )
    failed_redemption(dina, reward, 50, at(DAY2, 15), at(DAY2, 15, 5))
    ledger_expire_due(member=dina, now=at(DAY2, 17))
    order(shop, "1008", "80.00", at(DAY2, 18), member=dina)
    # Day 3.
    credit(chen, 20, at(DAY3, 7), "c2")
    order(shop, "1010", "30.00", at(DAY3, 8), member=chen)
    ledger_reverse(entry=adam_earn, idempotency_key="a1-refund", points=30, now=at(DAY3, 10))
    order(shop, "1009", "45.00", at(DAY3, 12), customer="900")

    assert ten.status == RedemptionStatus.ISSUED and ten.money_value == Decimal("10.00")
    return History(
        shop=shop, other=other, adam=adam, bella=bella, chen=chen, dina=dina, reward=reward
    )


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)
