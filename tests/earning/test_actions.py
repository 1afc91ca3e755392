from datetime import UTC, datetime, timedelta

import pytest

from loyalty.core.dispatch import PlatformRecords, handle_event
from loyalty.earning import tasks
from loyalty.earning.actions import ActionError, action_claim, members_celebrating
from loyalty.earning.models import ActionRule
from loyalty.ledger.models import LedgerEntry
from loyalty.members.models import Member
from loyalty.platforms.shopify import translate
from loyalty.platforms.shopify.standin import payloads
from tests.factories import MemberFactory, ShopFactory

pytestmark = pytest.mark.django_db

# 2026-11-20 17:00 UTC is already 21 November in Kuala Lumpur.
NOW = datetime(2026, 11, 20, 17, tzinfo=UTC)


@pytest.fixture
def shop():
    return ShopFactory(iana_timezone="Asia/Kuala_Lumpur", installed_at=NOW - timedelta(days=400))


def rule(shop, action, points, cap="once", key="", **kwargs):
    return ActionRule.objects.create(
        shop=shop,
        action=action,
        name=f"{action} {key}".strip(),
        points=points,
        cap=cap,
        key=key,
        **kwargs,
    )


def balance(member):
    member.refresh_from_db()
    return member.points_balance


def deliver(shop, topic, payload):
    event = translate.to_event(
        topic=topic, payload=payload, shop_id=shop.pk, occurred_at=NOW, source_id="t"
    )
    return handle_event(event, shop=shop, records=PlatformRecords())


def test_signup_bonus_when_the_first_order_enrols_the_customer(shop):
    rule(shop, "signup", 50)

    deliver(
        shop,
        "orders/paid",
        payloads.order_payload(order_id=1, customer_id=42, line_items=[{"price": "10.00"}]),
    )

    member = Member.objects.get(platform_customer_id="42")
    assert balance(member) == 60
    assert sorted(LedgerEntry.objects.values_list("source_type", "points")) == [
        ("action", 50),
        ("order", 10),
    ]


def test_newsletter_subscription_from_customer_update_earns_once(shop):
    rule(shop, "newsletter", 25)
    member = MemberFactory(shop=shop, platform_customer_id="42")
    subscribed = payloads.customer_payload(customer_id=42, email="a@example.com")
    subscribed["email_marketing_consent"] = {"state": "subscribed"}

    deliver(shop, "customers/update", subscribed)
    deliver(shop, "customers/update", subscribed)

    assert balance(member) == 25


def test_unsubscribed_customer_update_earns_nothing(shop):
    rule(shop, "newsletter", 25)
    member = MemberFactory(shop=shop, platform_customer_id="42")
    payload = payloads.customer_payload(customer_id=42)
    payload["email_marketing_consent"] = {"state": "not_subscribed"}

    deliver(shop, "customers/update", payload)

    assert balance(member) == 0


def test_birthday_points_once_a_year_on_the_shops_local_day(shop):
    rule(shop, "birthday", 100, cap="per_year")
    birthday = MemberFactory(shop=shop, birthday_month=11, birthday_day=21)
    yesterday = MemberFactory(shop=shop, birthday_month=11, birthday_day=20)

    assert list(members_celebrating(shop=shop, action="birthday", now=NOW)) == [birthday]
    for _ in range(2):
        for member in members_celebrating(shop=shop, action="birthday", now=NOW):
            action_claim(shop=shop, member=member, action="birthday", now=NOW)

    assert (balance(birthday), balance(yesterday)) == (100, 0)
    next_year = NOW.replace(year=2027)
    action_claim(shop=shop, member=birthday, action="birthday", now=next_year)
    assert balance(birthday) == 200


def test_leap_day_birthdays_are_celebrated_on_the_28th_in_other_years(shop):
    leap = MemberFactory(shop=shop, birthday_month=2, birthday_day=29)

    on_28th = datetime(2027, 2, 28, 3, tzinfo=UTC)

    assert list(members_celebrating(shop=shop, action="birthday", now=on_28th)) == [leap]


def test_anniversary_of_enrolment(shop):
    member = MemberFactory(shop=shop, enrolled_at=datetime(2025, 11, 21, 2, tzinfo=UTC))
    MemberFactory(shop=shop, enrolled_at=datetime(2026, 11, 21, 2, tzinfo=UTC))  # joined today

    assert list(members_celebrating(shop=shop, action="anniversary", now=NOW)) == [member]


def test_the_hourly_task_awards_birthdays_and_anniversaries_once(shop, monkeypatch):
    rule(shop, "birthday", 100, cap="per_year")
    rule(shop, "anniversary", 30, cap="per_year")
    member = MemberFactory(
        shop=shop,
        birthday_month=11,
        birthday_day=21,
        enrolled_at=datetime(2024, 11, 21, tzinfo=UTC),
    )
    monkeypatch.setattr("loyalty.earning.tasks.timezone.now", lambda: NOW)

    assert tasks.award_celebrations.delay().get() == 2
    assert tasks.award_celebrations.delay().get() == 0
    assert balance(member) == 130


def test_birthday_points_from_the_hourly_task_count_toward_tiers(shop, monkeypatch):
    from tests.factories import TierFactory

    rule(shop, "birthday", 100, cap="per_year")
    TierFactory(shop=shop, name="Silver", threshold=100)
    member = MemberFactory(shop=shop, birthday_month=11, birthday_day=21)
    monkeypatch.setattr("loyalty.earning.tasks.timezone.now", lambda: NOW)

    tasks.award_celebrations.delay().get()

    member.refresh_from_db()
    assert (member.points_balance, member.tier.name) == (100, "Silver")


def test_social_follow_once_per_network(shop):
    rule(shop, "social_follow", 10, key="instagram")
    rule(shop, "social_follow", 10, key="tiktok")
    member = MemberFactory(shop=shop)

    first = action_claim(shop=shop, member=member, action="social_follow", key="instagram", now=NOW)
    again = action_claim(shop=shop, member=member, action="social_follow", key="instagram", now=NOW)
    action_claim(shop=shop, member=member, action="social_follow", key="tiktok", now=NOW)

    assert ([c.created for c in first], [c.created for c in again]) == ([True], [False])
    assert again[0].entry.pk == first[0].entry.pk
    assert balance(member) == 20
    with pytest.raises(ActionError):
        action_claim(shop=shop, member=member, action="social_follow", key="myspace", now=NOW)


def test_custom_action_capped_per_day(shop):
    rule(shop, "custom", 5, cap="per_day", key="quiz")
    member = MemberFactory(shop=shop)

    action_claim(shop=shop, member=member, action="custom", key="quiz", now=NOW)
    action_claim(
        shop=shop, member=member, action="custom", key="quiz", now=NOW + timedelta(hours=1)
    )
    action_claim(shop=shop, member=member, action="custom", key="quiz", now=NOW + timedelta(days=1))

    assert balance(member) == 10


def test_actions_outside_their_window_or_disabled_earn_nothing(shop):
    rule(shop, "review", 20, ends_at=NOW - timedelta(days=1))
    rule(shop, "review", 20, enabled=False)
    member = MemberFactory(shop=shop)

    with pytest.raises(ActionError):
        action_claim(shop=shop, member=member, action="review", now=NOW)

    assert balance(member) == 0


def test_another_shops_member_cannot_claim(shop):
    rule(shop, "review", 20)
    stranger = MemberFactory(shop=ShopFactory())

    with pytest.raises(ActionError):
        action_claim(shop=shop, member=stranger, action="review", now=NOW)

    assert LedgerEntry.objects.count() == 0
