"""PostgreSQL plans of the member list: the first page, filtered pages, a search and a deep page
each read an index (no sequential scan of the members table), with enough members generated
that the planner would rather scan the table if no index fitted."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.members.models import Member
from loyalty.merchant_admin import selectors
from loyalty.merchant_admin.keyset import cursor_encode
from tests.factories import ShopFactory, TierFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

MEMBERS = 40_000


@pytest.fixture
def shop(db):
    shop = ShopFactory(domain="plans.myshopify.com")
    other = ShopFactory(domain="plans-other.myshopify.com")
    gold = TierFactory(shop=shop, name="Gold", threshold=1000)
    with connection.cursor() as cursor:
        for target, count in ((shop, MEMBERS), (other, MEMBERS // 4)):
            cursor.execute(
                """
                INSERT INTO members_member (
                    shop_id, platform_customer_id, email, first_name, last_name, status,
                    enrolled_at, points_balance, points_pending, lifetime_earned, lifetime_spent,
                    points_debt, last_activity_at, tier_id, tier_by_hand, tier_metric,
                    created_at, updated_at
                )
                SELECT %s, (8000000000 + n)::text, 'shopper' || n || '@example.com',
                       'First' || n, 'Last' || (n %% 1000), 'active',
                       %s::timestamptz + n * interval '1 minute', (n * 7919) %% 5000, 0,
                       (n * 7919) %% 5000, 0, 0,
                       CASE WHEN n %% 5 = 0 THEN NULL ELSE
                           %s::timestamptz + ((n::bigint * 104729) %% 500000) * interval '1 minute'
                       END,
                       CASE WHEN n %% 10 = 0 THEN %s::bigint ELSE NULL END, false, 0, now(), now()
                FROM generate_series(1, %s) AS n
                """,
                [
                    target.pk,
                    datetime(2024, 1, 1, tzinfo=UTC),
                    datetime(2025, 1, 1, tzinfo=UTC),
                    gold.pk if target == shop else None,
                    count,
                ],
            )
        cursor.execute("ANALYZE members_member")
    shop.gold = gold
    return shop


def plans(run) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        run()
    member_queries = [q["sql"] for q in queries.captured_queries if "members_member" in q["sql"]]
    assert member_queries
    out = []
    with connection.cursor() as cursor:
        for sql in member_queries:
            cursor.execute(f"EXPLAIN {sql}")
            out.append("\n".join(row[0] for row in cursor.fetchall()))
    return out


def assert_indexed(run, *index_names):
    for plan in plans(run):
        assert "Seq Scan on members_member" not in plan, plan
        assert any(name in plan for name in index_names), plan


def middle_cursor(*, field: str, position: int) -> str:
    member = Member.objects.order_by("-pk")[position]
    return cursor_encode(value=getattr(member, field), pk=member.pk)


def test_first_page_newest_members_reads_the_enrolment_index(shop):
    assert_indexed(
        lambda: selectors.member_list(shop=shop, filters=selectors.MemberFilters()),
        "member_shop_enrolled",
    )


def test_deep_page_reads_the_index_from_the_cursor(shop):
    after = middle_cursor(field="enrolled_at", position=MEMBERS // 2)

    plan = plans(
        lambda: selectors.member_list(shop=shop, filters=selectors.MemberFilters(), after=after)
    )[0]

    assert "Seq Scan" not in plan
    assert "member_shop_enrolled" in plan
    assert "Index Cond" in plan and "enrolled_at <=" in plan


def test_balance_sort_both_ways_reads_the_balance_index(shop):
    for sort in ("-balance", "balance"):
        assert_indexed(
            lambda sort=sort: selectors.member_list(
                shop=shop, filters=selectors.MemberFilters(), sort=sort
            ),
            "member_shop_balance",
        )


def test_activity_sort_reads_the_activity_index_for_members_with_and_without_activity(shop):
    assert_indexed(
        lambda: selectors.member_list(
            shop=shop, filters=selectors.MemberFilters(), sort="-activity"
        ),
        "member_shop_activity",
    )


def test_filtered_pages_read_an_index(shop):
    filtered = [
        selectors.MemberFilters(tier_id=shop.gold.pk),
        selectors.MemberFilters(balance_min=4990),
        selectors.MemberFilters(
            active_after=datetime(2025, 6, 1, tzinfo=UTC),
            active_before=datetime(2025, 6, 2, tzinfo=UTC),
        ),
    ]
    for filters in filtered:
        assert_indexed(
            lambda filters=filters: selectors.member_list(shop=shop, filters=filters),
            "member_shop_tier",
            "member_shop_balance",
            "member_shop_activity",
            "member_shop_enrolled",
        )


@pytest.mark.parametrize(
    ("search", "index"),
    [
        ("shopper1234@", "member_shop_email_prefix"),
        ("8000012345", "member_customer_unique_per_shop"),
        ("first123", "member_shop_first_name_prefix"),
    ],
)
def test_search_reads_the_prefix_indexes(shop, search, index):
    run = lambda: selectors.member_list(  # noqa: E731
        shop=shop, filters=selectors.MemberFilters(search=search)
    )

    assert_indexed(run, index)
