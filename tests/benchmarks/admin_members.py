"""Merchant admin benchmark (run by hand, not by the test suite): server time of the members
pages and the dashboard with a million members.

    .venv/bin/python tests/benchmarks/admin_members.py

1. A PostgreSQL database of its own, `setia_bench_admin` (BENCH_ADMIN_DATABASE_URL to choose
   another), migrated, then filled once with set-based SQL (generate_series, no Python loops):
   BENCH_ADMIN_MEMBERS members (1,000,000) of one shop with 10 ledger entries each
   (10,000,000), a tenth of them in a tier, a fifth never active; plus a second shop with a
   tenth as many members (every query must keep to its shop). Generation is skipped when the
   database already holds that many members; BENCH_ADMIN_REBUILD=1 starts again.
2. Server time, in-process (Django's test client, the session token verified as for every
   admin request, templates rendered): the member list's first page, a filtered page, a
   search, a deep page (a keyset cursor half-way down the list), a member's page and the
   dashboard (counted live, then from today's analytics roll-up, as once the hourly task
   ran). BENCH_ADMIN_RUNS (21) runs after 3 warm-up runs; median and p90 against the 150 ms
   target; then the PostgreSQL plan of each list query (which index it reads).
3. The analytics page over chosen periods (89 days, a year), on roll-ups generated once from
   the ledger (a customer day per member's earning day, 300,000 non-members with 3 orders
   each, ~11 million rows, every one linked to its neighbours: what the migration does): the
   first view of a period (the shared cache emptied before each run) and a period seen before.

Figures, not assertions: the exit status is 1 only when the benchmark itself broke (a page
did not answer 200). A 100,000-member run (BENCH_ADMIN_MEMBERS=100000) shows that it works in
a minute; do not run the full size while other benchmarks run on the machine.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

DATABASE_URL = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/setia_bench_admin"
)
MEMBERS = int(os.environ.get("BENCH_ADMIN_MEMBERS", "1000000"))
ENTRIES_PER_MEMBER = 10
RUNS = int(os.environ.get("BENCH_ADMIN_RUNS", "21"))
WARMUP = 3
TARGET_MS = 150.0
SHOP = "setia-bench-admin.myshopify.com"
OTHER_SHOP = "setia-bench-admin-other.myshopify.com"
CHUNK = 100_000  # members per INSERT ... SELECT

# Production-shaped settings (DEBUG off) with throwaway secrets, as the tests use.
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
# A fixed key (the test settings draw a new one per process): the generated shops' tokens are
# read again by later runs.
os.environ.setdefault("FIELD_ENCRYPTION_KEY", "c2V0aWEtYmVuY2gtYWRtaW4ta2V5LTMyLWJ5dGVzISE=")


def say(message: str) -> None:
    print(message, flush=True)


def ensure_database() -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin_url = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and os.environ.get("BENCH_ADMIN_REBUILD") == "1":
            conn.execute(f'DROP DATABASE "{name}"')
            exists = None
        if not exists:
            say(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


MEMBERS_SQL = """
INSERT INTO members_member (
    shop_id, platform_customer_id, email, first_name, last_name, status, enrolled_at,
    points_balance, points_pending, lifetime_earned, lifetime_spent, points_debt,
    last_activity_at, tier_id, tier_since, tier_by_hand, tier_metric, created_at, updated_at
)
SELECT %(shop)s, (%(id_base)s + n)::text, 'shopper' || n || '@example.com',
       (ARRAY['Aisyah','Siti','Nur','Ahmad','Muhammad','Mei Ling','Kumar','Somchai','Fatimah',
              'Hafiz'])[1 + n %% 10] || ' ' || n,
       (ARRAY['Rahman','Abdullah','Tan','Lim','Wong','Ismail','Hassan','Nair','Chua',
              'Suksawat'])[1 + (n / 10) %% 10],
       CASE WHEN n %% 200 = 0 THEN 'excluded' ELSE 'active' END,
       timestamptz '2023-01-01' + n * interval '97 seconds',
       b.balance, 0, b.balance, 0, 0,
       CASE WHEN n %% 5 = 0 THEN NULL
            ELSE timestamptz '2025-01-01' + ((n::bigint * 7919) %% 31536000) * interval '1 second'
       END,
       CASE WHEN n %% 10 = 0 THEN %(tier)s::bigint END,
       CASE WHEN n %% 10 = 0 THEN timestamptz '2025-06-01' END,
       false, b.balance, now(), now()
FROM generate_series(%(low)s, %(high)s) AS n
CROSS JOIN LATERAL (
    SELECT sum(10 + ((n::bigint * k) %% 90))::int AS balance FROM generate_series(1, 10) AS k
) AS b
"""

LEDGER_SQL = """
INSERT INTO ledger_ledgerentry (
    shop_id, member_id, kind, state, points, remaining, reversed_points, shortfall, debt,
    already_expired, source_type, source_id, idempotency_key, reason, actor, created_at
)
SELECT m.shop_id, m.id, 'earn', 'active', 10 + ((n.n::bigint * k) %% 90),
       10 + ((n.n::bigint * k) %% 90), 0, 0, 0, 0, 'order', (5000000000 + m.id * 10 + k)::text,
       'bench:' || m.id || ':' || k, '', 'system',
       m.enrolled_at + k * interval '3 days'
FROM members_member m
CROSS JOIN LATERAL (SELECT (m.platform_customer_id::bigint - %(id_base)s) AS n) AS n
CROSS JOIN generate_series(1, %(per_member)s) AS k
WHERE m.shop_id = %(shop)s AND m.id BETWEEN %(low_id)s AND %(high_id)s
"""


def generate() -> tuple:
    from django.db import connection, transaction
    from django.utils import timezone

    from loyalty.members.models import Member
    from loyalty.shops.models import Shop
    from loyalty.tiers.models import Tier
    from tests.factories import ShopFactory, TierFactory

    # Written under this run's key whatever key an earlier run had (only these two columns).
    Shop.objects.filter(domain__in=[SHOP, OTHER_SHOP]).update(
        access_token="shpat_x", refresh_token=""
    )
    shop = Shop.objects.filter(domain=SHOP).first()
    if shop is not None and Member.objects.filter(shop=shop).count() >= MEMBERS:
        say(f"reusing {MEMBERS:,} members of {SHOP}")
        return shop, Tier.objects.get(shop=shop, name="Gold")
    if shop is not None:
        say("the database holds another size: BENCH_ADMIN_REBUILD=1 to start again")
        raise SystemExit(1)

    now = timezone.now()
    shop = ShopFactory(
        domain=SHOP, name="Setia Bench", currency="MYR", access_token="shpat_x", installed_at=now
    )
    gold = TierFactory(shop=shop, name="Gold", threshold=1000)
    other = ShopFactory(domain=OTHER_SHOP, access_token="shpat_y", installed_at=now)
    other_gold = TierFactory(shop=other, name="Gold", threshold=1000)

    started = time.perf_counter()
    for target, tier, count, id_base in (
        (shop, gold, MEMBERS, 8_000_000_000),
        (other, other_gold, MEMBERS // 10, 9_000_000_000),
    ):
        for low in range(1, count + 1, CHUNK):
            high = min(low + CHUNK - 1, count)
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    MEMBERS_SQL,
                    {
                        "shop": target.pk,
                        "tier": tier.pk,
                        "low": low,
                        "high": high,
                        "id_base": id_base,
                    },
                )
                cursor.execute(
                    "SELECT min(id), max(id) FROM members_member WHERE shop_id = %s "
                    "AND platform_customer_id::bigint BETWEEN %s AND %s",
                    [target.pk, id_base + low, id_base + high],
                )
                low_id, high_id = cursor.fetchone()
                cursor.execute(
                    LEDGER_SQL,
                    {
                        "shop": target.pk,
                        "low_id": low_id,
                        "high_id": high_id,
                        "id_base": id_base,
                        "per_member": ENTRIES_PER_MEMBER,
                    },
                )
            say(
                f"  {target.domain}: members {high:,}/{count:,} "
                f"({time.perf_counter() - started:.0f} s)"
            )
    with connection.cursor() as cursor:
        say("VACUUM ANALYZE")
        cursor.execute("VACUUM ANALYZE members_member")
        cursor.execute("VACUUM ANALYZE ledger_ledgerentry")
    say(f"generated in {time.perf_counter() - started:.0f} s")
    return shop, gold


# The analytics roll-ups such a shop would have: a customer day for each day a member earned (an
# order, points activity), 300,000 customers who are not members with 3 orders each over three
# years, then every customer day linked to its neighbours (what the migration does to a big
# shop), and each day's shop figures summed from its customer days.
CUSTOMER_DAYS_SQL = [
    """
    INSERT INTO analytics_customerday (shop_id, day, customer_key, member_id, orders, revenue,
                                       points_activity)
    SELECT shop_id, (created_at AT TIME ZONE 'UTC')::date, 'm' || member_id, member_id,
           count(*), sum(points) * 0.75, true
    FROM ledger_ledgerentry WHERE shop_id = %(shop)s GROUP BY 1, 2, 3, 4
    """,
    """
    INSERT INTO analytics_customerday (shop_id, day, customer_key, member_id, orders, revenue,
                                       points_activity)
    SELECT %(shop)s, date '2023-01-01' + ((n * 7 + k * 41) %% 1120)::int, 'c' || (7000000 + n),
           NULL, 1, 20 + (n %% 80), false
    FROM generate_series(1, 300000) AS n CROSS JOIN generate_series(1, 3) AS k
    ON CONFLICT DO NOTHING
    """,
]
SHOP_DAYS_SQL = """
INSERT INTO analytics_shopday (
    shop_id, day, members_enrolled, members_total, members_active, points_issued,
    points_redeemed, points_expired, points_taken_back, points_pending_end, points_balance_end,
    redemptions, redemptions_value, member_orders, member_revenue, nonmember_orders,
    nonmember_revenue, reward_orders, reward_revenue, tiers, windows, computed_at
)
SELECT %(shop)s, day, 0, 0, count(member_id), sum(orders) FILTER (WHERE member_id IS NOT NULL),
       0, 0, 0, 0, 0, 0, 0,
       coalesce(sum(orders) FILTER (WHERE member_id IS NOT NULL), 0),
       coalesce(sum(revenue) FILTER (WHERE member_id IS NOT NULL), 0),
       coalesce(sum(orders) FILTER (WHERE member_id IS NULL), 0),
       coalesce(sum(revenue) FILTER (WHERE member_id IS NULL), 0), 0, 0, '[]', '{}', now()
FROM analytics_customerday WHERE shop_id = %(shop)s GROUP BY day
"""


def generate_analytics(shop) -> None:
    from django.db import connection, transaction

    from loyalty.analytics.models import CustomerDay
    from loyalty.analytics.services import link_customer_days

    if CustomerDay.objects.filter(shop=shop).exists():
        say("reusing the analytics roll-ups")
        return
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in CUSTOMER_DAYS_SQL:
            cursor.execute(sql, {"shop": shop.pk})
        say(f"customer days written ({time.perf_counter() - started:.0f} s)")
        linking = time.perf_counter()
        link_customer_days(shop_id=shop.pk)
        say(f"every customer day linked in {time.perf_counter() - linking:.0f} s")
        cursor.execute(SHOP_DAYS_SQL, {"shop": shop.pk})
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE analytics_customerday")
        cursor.execute("VACUUM ANALYZE analytics_shopday")
    say(
        f"{CustomerDay.objects.filter(shop=shop).count():,} customer days, generated in "
        f"{time.perf_counter() - started:.0f} s"
    )


def measure(client, path: str, shop, before=None) -> tuple[float, float, int]:
    """Median and p90 of RUNS answers after WARMUP; `before()` runs ahead of each, untimed."""
    from tests.merchant_admin.helpers import admin_get

    for _ in range(WARMUP):
        response = admin_get(client, path, shop)
        if response.status_code != 200:
            say(f"{path} answered {response.status_code}")
            raise SystemExit(1)
    times = []
    for _ in range(RUNS):
        if before is not None:
            before()
        started = time.perf_counter()
        response = admin_get(client, path, shop)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    times.sort()
    p90 = times[min(len(times) - 1, round(0.9 * (len(times) - 1)))]
    return statistics.median(times), p90, len(response.content)


def report(label: str, median: float, p90: float, _size: int) -> None:
    verdict = "ok" if median < TARGET_MS else "OVER"
    say(f"{label:34} {median:7.1f}ms {p90:7.1f}ms  {verdict}")


def plan_of(path: str, shop) -> str:
    """The plan of the page's member-list query, reduced to the scans it does."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tests.merchant_admin.helpers import admin_get

    with CaptureQueriesContext(connection) as queries:
        admin_get(Client(), path, shop)
    scans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            sql = query["sql"]
            if 'FROM "members_member"' not in sql or "LIMIT" not in sql:
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS OFF) {sql}")
            lines = [row[0] for row in cursor.fetchall()]
            scans += [
                line.strip().removeprefix("->  ").split("  (")[0]
                for line in lines
                if "Scan" in line
            ]
            scans += [line.strip() for line in lines if line.startswith("Execution Time")]
    return "; ".join(scans)


def main() -> int:
    ensure_database()
    setup_django()
    from django.test import Client

    from loyalty.analytics.models import ShopDay
    from loyalty.analytics.services import analytics_rollup_day, shop_today
    from loyalty.members.models import Member
    from loyalty.merchant_admin.keyset import cursor_encode

    shop, gold = generate()
    members = Member.objects.filter(shop=shop)
    say(
        f"{members.count():,} members, "
        f"{Member.objects.exclude(shop=shop).count():,} of another shop; measuring "
        f"{RUNS} runs after {WARMUP} warm-up runs"
    )
    middle = members.order_by("-enrolled_at", "-id")[MEMBERS // 2]  # setup only (OFFSET)
    deep = cursor_encode(value=middle.enrolled_at, pk=middle.pk)
    busy = members.filter(tier=gold).order_by("-points_balance").first()

    pages = [
        ("member list, first page", "/app/members/"),
        ("member list, filtered", f"/app/members/?tier={gold.pk}&balance_min=700&sort=-balance"),
        (
            "member list, activity range",
            "/app/members/?active_after=2025-03-01&active_before=2025-03-08&sort=-activity",
        ),
        ("member list, search", "/app/members/?q=shopper4242"),
        ("member list, deep page", f"/app/members/?after={deep}"),
        ("member page", f"/app/members/{busy.pk}/"),
        ("dashboard, counted live", "/app/"),
    ]
    client = Client()
    ShopDay.objects.filter(shop=shop).delete()
    say(f"\n{'page':34} {'median':>9} {'p90':>9}  target {TARGET_MS:.0f} ms")
    for label, path in pages:
        report(label, *measure(client, path, shop))
    # What the dashboard reads once the hourly analytics task has rolled today up.
    started = time.perf_counter()
    analytics_rollup_day(shop=shop, day=shop_today(shop=shop), windows=False)
    rolled_in = time.perf_counter() - started
    report("dashboard, today's roll-up", *measure(client, "/app/", shop))
    say(f"(today's roll-up itself, the hourly task's work: {rolled_in:.1f} s)")
    generate_analytics(shop)
    from django.core.cache import cache

    say("")
    for label, path in (
        ("analytics, 89 days", "/app/analytics/?period=custom&start=2025-03-01&end=2025-05-28"),
        ("analytics, a year", "/app/analytics/?period=custom&start=2025-01-01&end=2025-12-31"),
    ):
        # A chosen period's distinct customers are counted on its first view, then kept.
        report(f"{label}, first view", *measure(client, path, shop, before=cache.clear))
        report(f"{label}, seen before", *measure(client, path, shop))
    say("\nplans of the list queries:")
    for label, path in pages[:5]:
        say(f"  {label}: {plan_of(path, shop)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
