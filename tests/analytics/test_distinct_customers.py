"""Distinct customers over any period, counted in one pass over the customer days with their
neighbouring days (`link_customer_days`), equal the same figures counted by grouping per
customer (the reference below, the way they were counted before), whatever the history, the
period, and the order in which days were rolled up and rolled up again."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.analytics.models import CustomerDay
from loyalty.analytics.selectors import analytics_customer_figures
from loyalty.analytics.services import link_customer_days
from tests.factories import MemberFactory, ShopFactory

DAY0 = date(2026, 3, 1)
DAYS = 12
KEYS = ("m1", "m2", "m3", "c7", "e@x", "o99")

# One customer's day: (customer, day offset, orders, points activity).
customer_day = st.tuples(
    st.sampled_from(KEYS),
    st.integers(0, DAYS - 1),
    st.integers(0, 3),
    st.booleans(),
).filter(lambda row: row[2] > 0 or (row[3] and row[0].startswith("m")))


def reference(rows: list[CustomerDay], first: date, last: date) -> dict:
    """Grouping per customer over the period's rows."""
    inside = [r for r in rows if first <= r.day <= last]
    orders: dict[str, int] = {}
    member: dict[str, bool] = {}
    active = set()
    for r in inside:
        if r.member_id and (r.orders or r.points_activity):
            active.add(r.member_id)
        if r.orders:
            orders[r.customer_key] = orders.get(r.customer_key, 0) + r.orders
            member[r.customer_key] = member.get(r.customer_key, False) or bool(r.member_id)
    members = [k for k in orders if member[k]]
    others = [k for k in orders if not member[k]]
    return {
        "active_members": len(active),
        "buyers": len(orders),
        "member_buyers": len(members),
        "member_repeat_buyers": sum(orders[k] >= 2 for k in members),
        "nonmember_buyers": len(others),
        "nonmember_repeat_buyers": sum(orders[k] >= 2 for k in others),
    }


@pytest.fixture
def world(db):
    shop = ShopFactory()
    other = ShopFactory()
    members = {f"m{i}": MemberFactory(shop=shop) for i in (1, 2, 3)}
    return shop, other, members


def roll_up_day(shop, members, day: date, rows: list[tuple]) -> None:
    """What a day's roll-up does to the customer days: replace the day's rows, relink the
    customers it had before and has now."""
    before = CustomerDay.objects.filter(shop=shop, day=day)
    keys = set(before.values_list("customer_key", flat=True))
    before.delete()
    merged: dict[str, tuple[int, bool]] = {}
    for key, orders, activity in rows:
        was = merged.get(key, (0, False))
        merged[key] = (was[0] + orders, was[1] or activity)
    CustomerDay.objects.bulk_create(
        CustomerDay(
            shop=shop,
            day=day,
            customer_key=key,
            member=members.get(key),
            orders=orders,
            revenue=Decimal(orders * 10),
            points_activity=activity and key in members,
        )
        for key, (orders, activity) in merged.items()
    )
    keys.update(merged)
    link_customer_days(shop_id=shop.pk, keys=keys)


@pytest.mark.django_db
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    history=st.lists(customer_day, max_size=30),
    rerolled=st.lists(
        st.tuples(st.integers(0, DAYS - 1), st.lists(customer_day, max_size=4)), max_size=4
    ),
    order=st.randoms(use_true_random=False),
    periods=st.lists(
        st.tuples(st.integers(0, DAYS - 1), st.integers(0, DAYS - 1)), min_size=1, max_size=6
    ),
)
def test_one_pass_counts_equal_grouping_per_customer(world, history, rerolled, order, periods):
    shop, other, members = world
    CustomerDay.objects.all().delete()
    by_day: dict[int, list[tuple]] = {}
    for key, offset, orders, activity in history:
        by_day.setdefault(offset, []).append((key, orders, activity))
    # Days rolled up in any order (a backfill, a late hourly run), then some rolled up again
    # with other customers (a refund, a late order), each relinking only its own customers.
    days = list(by_day)
    order.shuffle(days)
    for offset in days:
        roll_up_day(shop, members, DAY0 + timedelta(days=offset), by_day[offset])
    for offset, rows in rerolled:
        by_day[offset] = [(key, orders, activity) for key, _, orders, activity in rows]
        roll_up_day(shop, members, DAY0 + timedelta(days=offset), by_day[offset])
    # Another shop's customers with the same keys on the same days count for it alone.
    roll_up_day(other, {}, DAY0, [("m1", 2, False), ("c7", 1, False)])

    rows = list(CustomerDay.objects.filter(shop=shop))
    for a, b in periods:
        first, last = DAY0 + timedelta(days=min(a, b)), DAY0 + timedelta(days=max(a, b))
        assert analytics_customer_figures(shop=shop, first=first, last=last) == reference(
            rows, first, last
        ), (first, last)


def test_relinking_every_customer_gives_the_links_of_incremental_roll_ups(world):
    shop, _, members = world
    roll_up_day(shop, members, DAY0 + timedelta(days=4), [("m1", 1, False), ("c7", 2, False)])
    roll_up_day(shop, members, DAY0, [("m1", 0, True), ("c7", 1, False)])
    roll_up_day(shop, members, DAY0 + timedelta(days=2), [("m1", 1, False)])
    links = list(
        CustomerDay.objects.filter(shop=shop)
        .order_by("customer_key", "day")
        .values_list("customer_key", "day", "prev_order_day", "next_order_day", "prev_active_day")
    )
    d = lambda n: DAY0 + timedelta(days=n)  # noqa: E731
    assert links == [
        ("c7", d(0), None, d(4), None),
        ("c7", d(4), d(0), None, d(0)),
        ("m1", d(0), None, d(2), None),
        ("m1", d(2), None, d(4), d(0)),
        ("m1", d(4), d(2), None, d(2)),
    ]
    CustomerDay.objects.update(prev_order_day=None, next_order_day=None, prev_active_day=None)
    link_customer_days(shop_id=shop.pk)
    assert (
        list(
            CustomerDay.objects.filter(shop=shop)
            .order_by("customer_key", "day")
            .values_list(
                "customer_key", "day", "prev_order_day", "next_order_day", "prev_active_day"
            )
        )
        == links
    )


def test_the_migrations_linking_of_existing_rows_agrees_with_the_service(world):
    """analytics 0004 links the customer days already rolled up with its own copy of the SQL
    (over every shop at once): run on the same rows, it gives the service's links."""
    import importlib

    from django.db import connection

    migration = importlib.import_module("loyalty.analytics.migrations.0004_customerday_neighbours")
    shop, other, members = world
    roll_up_day(shop, members, DAY0 + timedelta(days=3), [("m1", 1, False), ("c7", 2, False)])
    roll_up_day(shop, members, DAY0, [("m1", 0, True), ("c7", 1, False), ("e@x", 1, False)])
    roll_up_day(shop, members, DAY0 + timedelta(days=1), [("m1", 1, False), ("e@x", 0, False)])
    roll_up_day(other, {}, DAY0 + timedelta(days=2), [("m1", 1, False), ("c7", 1, False)])
    columns = ("shop_id", "customer_key", "day", "prev_order_day", "next_order_day")
    by_service = list(
        CustomerDay.objects.order_by("shop_id", "customer_key", "day").values_list(
            *columns, "prev_active_day"
        )
    )
    CustomerDay.objects.update(prev_order_day=None, next_order_day=None, prev_active_day=None)

    with connection.cursor() as cursor:
        cursor.execute(migration.LINK_ALL)

    assert (
        list(
            CustomerDay.objects.order_by("shop_id", "customer_key", "day").values_list(
                *columns, "prev_active_day"
            )
        )
        == by_service
    )
    assert any(row[3] or row[4] for row in by_service)  # there were links to compare
