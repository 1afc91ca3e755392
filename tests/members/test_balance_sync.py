"""The points balance metafield follows the member's balance: every committed change schedules
a store sync, at most one per member per SETIA_METAFIELD_SYNC_SECONDS, and the sync sends the
balance as it is when it runs, through the gateway to the Shopify stand-in (real HTTP).

Scheduling needs a broker (a task that waits); here the broker is a recorder of the messages
the task would be sent (`sent`), and the tests run the recorded messages themselves."""

import json
import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from config.celery_app import app
from loyalty.earning.batch import order_events_received
from loyalty.ledger.services import ledger_credit, ledger_debit
from loyalty.members.balance_sync import (
    BALANCE_SYNC_CHUNK,
    balance_guard_key,
    balance_sync_schedule,
)
from loyalty.members.models import Member, MemberStatus
from loyalty.members.services import member_redact
from loyalty.platforms.shopify import admin_api, translate
from loyalty.platforms.shopify.standin import payloads
from loyalty.shops.models import Shop
from loyalty.tiers import tasks
from loyalty.tiers.services import tier_assign
from tests.factories import MemberFactory, ShopFactory, TierFactory
from tests.platforms.shopify.helpers import SHOP

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning"),
]

CUSTOMER = 8801
T0 = datetime(2026, 11, 20, 10, tzinfo=UTC)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def no_backoff_waits(monkeypatch):
    """admin_api waits a random share of its backoff between attempts: none in these tests."""
    monkeypatch.setattr(admin_api.random, "uniform", lambda low, high: 0.0)


@pytest.fixture
def sent(monkeypatch):
    """Tasks go to a broker (not in-process), recorded here as (pairs, countdown) messages."""
    messages = []

    def publish(args, kwargs=None, *, countdown=None, **options):
        messages.append((args[0], countdown))

    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(tasks.sync_member_balances, "apply_async", publish)
    return messages


def credit(member, points, key, capture):
    with capture(execute=True):
        ledger_credit(member=member, points=points, idempotency_key=key, source_type="order")


# --- scheduling ------------------------------------------------------------------------------


def test_a_credit_schedules_one_sync_due_after_the_window(sent, django_capture_on_commit_callbacks):
    member = MemberFactory(platform_customer_id="7001")

    credit(member, 40, "a", django_capture_on_commit_callbacks)

    assert sent == [([[member.shop_id, "7001"]], 61)]


def test_nothing_is_scheduled_before_the_commit_or_after_a_rollback(
    sent, django_capture_on_commit_callbacks
):
    member = MemberFactory(platform_customer_id="7001")

    with django_capture_on_commit_callbacks(execute=False):
        ledger_credit(member=member, points=40, idempotency_key="a", source_type="order")
    assert sent == []

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ZeroDivisionError),
        transaction.atomic(),
    ):
        ledger_credit(member=member, points=40, idempotency_key="b", source_type="order")
        1 / 0  # noqa: B018
    assert sent == []


def test_a_burst_schedules_one_sync(sent, django_capture_on_commit_callbacks):
    member = MemberFactory(platform_customer_id="7001")

    for n in range(20):
        credit(member, 10, f"earn-{n}", django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        ledger_debit(member=member, points=50, idempotency_key="spend", source_type="redemption")

    assert sent == [([[member.shop_id, "7001"]], 61)]


@override_settings(SETIA_METAFIELD_SYNC_SECONDS=1)
def test_once_the_window_has_passed_the_next_change_schedules_again(
    sent, django_capture_on_commit_callbacks
):
    member = MemberFactory(platform_customer_id="7001")
    credit(member, 10, "a", django_capture_on_commit_callbacks)
    credit(member, 10, "b", django_capture_on_commit_callbacks)

    time.sleep(1.1)
    credit(member, 10, "c", django_capture_on_commit_callbacks)

    assert sent == [([[member.shop_id, "7001"]], 2)] * 2


@override_settings(SETIA_METAFIELD_SYNC_SECONDS=0)
def test_zero_seconds_turns_the_balance_sync_off(sent, django_capture_on_commit_callbacks):
    member = MemberFactory(platform_customer_id="7001")

    credit(member, 40, "a", django_capture_on_commit_callbacks)

    assert sent == []


def test_without_a_broker_nothing_is_scheduled(django_capture_on_commit_callbacks, monkeypatch):
    """In-process tasks cannot wait: the balance then goes with the tier sync only."""
    messages = []
    monkeypatch.setattr(
        tasks.sync_member_balances, "apply_async", lambda *a, **kw: messages.append(a)
    )
    member = MemberFactory(platform_customer_id="7001")

    credit(member, 40, "a", django_capture_on_commit_callbacks)

    assert messages == []


def test_another_shops_member_with_the_same_customer_id_is_scheduled_on_its_own(
    sent, django_capture_on_commit_callbacks
):
    here = MemberFactory(platform_customer_id="7001")
    there = MemberFactory(platform_customer_id="7001")
    credit(here, 10, "a", django_capture_on_commit_callbacks)
    assert sent == [([[here.shop_id, "7001"]], 61)]

    credit(there, 10, "a", django_capture_on_commit_callbacks)
    credit(here, 10, "b", django_capture_on_commit_callbacks)

    assert sent == [([[here.shop_id, "7001"]], 61), ([[there.shop_id, "7001"]], 61)]


def test_a_batch_of_orders_sends_one_message_for_its_members(
    sent, django_capture_on_commit_callbacks
):
    shop = ShopFactory(currency="MYR", installed_at=T0 - timedelta(days=30))
    MemberFactory(shop=shop, platform_customer_id="901")  # already waiting for a sync:
    with django_capture_on_commit_callbacks(execute=True):
        balance_sync_schedule(pairs=[(shop.pk, "901")])
    sent.clear()
    events = [
        translate.to_event(
            topic="orders/paid",
            payload=payloads.order_payload(
                order_id=5000 + n,
                customer_id=900 + n,
                email=f"buyer{n}@example.com",
                line_items=[{"id": n, "product_id": 101, "price": "20.00", "quantity": 1}],
                currency="MYR",
            ),
            shop_id=shop.pk,
            occurred_at=T0,
            source_id=f"t{n}",
        )
        for n in range(1, 4)
    ]

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        outcomes = order_events_received(shop=shop, events=events, now=T0)

    assert outcomes == ["awarded 20 points (+20)"] * 3
    assert sent == [([[shop.pk, "902"], [shop.pk, "903"]], 61)]  # 901 waits already


def test_many_members_at_once_are_sent_in_chunks(sent, django_capture_on_commit_callbacks):
    pairs = [(7, str(1000 + n)) for n in range(BALANCE_SYNC_CHUNK * 2 + 1)]

    with django_capture_on_commit_callbacks(execute=True):
        balance_sync_schedule(pairs=pairs)
        balance_sync_schedule(pairs=pairs)  # all waiting already

    assert [len(members) for members, _ in sent] == [BALANCE_SYNC_CHUNK, BALANCE_SYNC_CHUNK, 1]
    assert sorted(tuple(p) for members, _ in sent for p in members) == sorted(pairs)


def test_with_redis_the_guards_are_claimed_together(sent):
    """Against the real Redis of the test machine (db 14), when there is one: one pipeline
    claims every member's guard, and only members not waiting already are sent."""
    import redis

    url = "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("needs Redis on 127.0.0.1:6379 (.ci/run starts it)")
    shared = {
        "BACKEND": "loyalty.core.cache.SetiaRedisCache",
        "LOCATION": url,
        "KEY_PREFIX": f"setia-test-{uuid.uuid4().hex[:8]}",
    }
    pairs = [(7, "1"), (7, "2"), (7, "3"), (8, "1")]
    with override_settings(CACHES={"default": shared}):
        balance_sync_schedule(pairs=pairs[:2])
        balance_sync_schedule(pairs=pairs[1:])
        guards = [balance_guard_key(shop_id=s, platform_customer_id=c) for s, c in pairs]
        assert len(cache.get_many(guards)) == 4
        cache.delete_many(guards)

    assert sent == [([[7, "1"], [7, "2"]], 61), ([[7, "3"], [8, "1"]], 61)]


# --- the sync, against the stand-in ------------------------------------------------------------


@pytest.fixture
def member(shopify_standin, shopify_shop):
    shopify_standin.add_customer(SHOP, CUSTOMER, email="siti@example.com")
    return MemberFactory(shop=shopify_shop, platform_customer_id=str(CUSTOMER))


def metafields_in_store(standin, customer=CUSTOMER):
    namespace = f"app--{standin.store.app_id}--loyalty"
    gid = f"gid://shopify/Customer/{customer}"
    return {
        key: (field.type, field.value)
        for (owner, ns, key), field in standin.shop(SHOP).metafields.items()
        if owner == gid and ns == namespace
    }


def store_syncs(standin):
    """The balance sync's requests (the gateway's customers_metafield_set), in order."""
    return [
        r
        for r in standin.requests
        if r.target == "graphql" and "SetiaCustomersMetafield" in r.body.decode()
    ]


def run(messages):
    for members, _countdown in messages:
        tasks.sync_member_balances(members)


def test_twenty_earns_make_one_call_with_the_final_balance(
    shopify_standin, member, sent, django_capture_on_commit_callbacks
):
    for n in range(20):
        credit(member, 10, f"earn-{n}", django_capture_on_commit_callbacks)

    run(sent)

    assert metafields_in_store(shopify_standin) == {
        "points_balance": ("single_line_text_field", "200")
    }
    (call,) = store_syncs(shopify_standin)
    assert call.status == 200
    assert [m["key"] for m in call.json["variables"]["metafields"]] == ["points_balance"]
    assert "tagsAdd" not in call.json["query"] and "tagsRemove" not in call.json["query"]


def test_the_task_sends_the_balance_when_it_runs_not_when_scheduled(
    shopify_standin, member, sent, django_capture_on_commit_callbacks
):
    credit(member, 100, "a", django_capture_on_commit_callbacks)
    messages = list(sent)
    ledger_debit(member=member, points=30, idempotency_key="spent", source_type="redemption")

    run(messages)

    assert metafields_in_store(shopify_standin)["points_balance"][1] == "70"


def test_the_balance_lands_in_the_tier_syncs_own_metafield(
    shopify_standin, shopify_shop, member, django_capture_on_commit_callbacks
):
    gold = TierFactory(shop=shopify_shop, name="Gold", entry_points=200)
    with django_capture_on_commit_callbacks(execute=True):
        tier_assign(member=member, tier=gold, actor="staff:1")
    tier_synced = metafields_in_store(shopify_standin)
    ledger_credit(member=member, points=55, idempotency_key="a", source_type="order")

    tasks.sync_member_balances([[shopify_shop.pk, str(CUSTOMER)]])

    assert tier_synced["points_balance"] == ("single_line_text_field", "200")
    assert metafields_in_store(shopify_standin) == {
        "tier": ("single_line_text_field", "Gold"),
        "points_balance": ("single_line_text_field", "255"),
    }


def test_erased_excluded_and_uninstalled_are_not_sent(
    shopify_standin, shopify_shop, member, django_capture_on_commit_callbacks
):
    excluded = MemberFactory(shop=shopify_shop, platform_customer_id="8802")
    Member.objects.filter(pk=excluded.pk).update(status=MemberStatus.EXCLUDED)
    ledger_credit(member=member, points=10, idempotency_key="a", source_type="order")
    member_redact(shop=shopify_shop, platform_customer_id=str(CUSTOMER))

    assert (
        tasks.sync_member_balances([[shopify_shop.pk, str(CUSTOMER)], [shopify_shop.pk, "8802"]])
        == "synced"
    )
    assert store_syncs(shopify_standin) == []

    MemberFactory(shop=shopify_shop, platform_customer_id="8803")
    Shop.objects.filter(pk=shopify_shop.pk).update(uninstalled_at=timezone.now())
    tasks.sync_member_balances([[shopify_shop.pk, "8803"]])
    assert store_syncs(shopify_standin) == []


def test_only_the_named_shops_member_is_sent(shopify_standin, shopify_shop, member):
    ledger_credit(member=member, points=10, idempotency_key="a", source_type="order")
    elsewhere = MemberFactory(platform_customer_id=str(CUSTOMER))
    ledger_credit(member=elsewhere, points=99, idempotency_key="a", source_type="order")

    tasks.sync_member_balances([[shopify_shop.pk, str(CUSTOMER)]])

    assert len(store_syncs(shopify_standin)) == 1
    assert metafields_in_store(shopify_standin)["points_balance"][1] == "10"


def test_a_throttled_store_is_tried_again_later_for_every_member_left(
    shopify_standin, shopify_shop, member
):
    shopify_standin.add_customer(SHOP, 8802, email="nur@example.com")
    other = MemberFactory(shop=shopify_shop, platform_customer_id="8802")
    ledger_credit(member=member, points=10, idempotency_key="a", source_type="order")
    ledger_credit(member=other, points=20, idempotency_key="b", source_type="order")
    # Both attempts of the one call for both members are throttled (HTTP 200 with THROTTLED);
    # the retry (in-process here, so at once) sends both in one call.
    shopify_standin.faults.push("throttled", count=2)

    assert (
        tasks.sync_member_balances([[shopify_shop.pk, str(CUSTOMER)], [shopify_shop.pk, "8802"]])
        == "will retry: 2 left"
    )

    calls = store_syncs(shopify_standin)
    assert [(r.status, r.fault) for r in calls] == [(200, "throttled")] * 2 + [(200, None)]
    assert [len(r.json["variables"]["metafields"]) for r in calls] == [2, 2, 2]
    assert metafields_in_store(shopify_standin)["points_balance"][1] == "10"
    assert metafields_in_store(shopify_standin, 8802)["points_balance"][1] == "20"


def test_a_store_that_keeps_failing_is_given_up_after_the_tier_syncs_attempts(
    shopify_standin, shopify_shop, member
):
    shopify_standin.faults.push("503", count=100)

    result = tasks.sync_member_balances([[shopify_shop.pk, str(CUSTOMER)]])

    assert result == "will retry: 1 left"
    assert len(store_syncs(shopify_standin)) == tasks.SYNC_MAX_ATTEMPTS * 2
    assert metafields_in_store(shopify_standin) == {}


def test_a_customer_the_store_does_not_know_is_not_retried(shopify_standin, shopify_shop):
    MemberFactory(shop=shopify_shop, platform_customer_id="999999")  # first in line
    shopify_standin.add_customer(SHOP, CUSTOMER, email="siti@example.com")
    MemberFactory(shop=shopify_shop, platform_customer_id=str(CUSTOMER))

    result = tasks.sync_member_balances(
        [[shopify_shop.pk, "999999"], [shopify_shop.pk, str(CUSTOMER)]]
    )

    assert (result, len(store_syncs(shopify_standin))) == ("synced", 2)
    assert metafields_in_store(shopify_standin)["points_balance"][1] == "0"


# --- many members per call ---------------------------------------------------------------------


def members_with_balances(standin, shop, count, *, unknown=()):
    """`count` members with balances 1..count (customers 9001...); the store knows each customer
    except those at the positions in `unknown`."""
    members = []
    for n in range(count):
        customer = 9001 + n
        if n not in unknown:
            standin.add_customer(SHOP, customer, email=f"buyer{n}@example.com")
        member = MemberFactory(shop=shop, platform_customer_id=str(customer))
        ledger_credit(member=member, points=n + 1, idempotency_key=f"earn-{n}", source_type="order")
        members.append(member)
    return members


def balances_in_store(standin, members):
    found = {}
    for m in members:
        field = metafields_in_store(standin, int(m.platform_customer_id)).get("points_balance")
        if field is not None:
            found[m.platform_customer_id] = field
    return found


def test_sixty_members_reach_the_store_in_three_calls(shopify_standin, shopify_shop):
    members = members_with_balances(shopify_standin, shopify_shop, 60)

    result = tasks.sync_member_balances(
        [[shopify_shop.pk, m.platform_customer_id] for m in members]
    )

    assert result == "synced"
    calls = store_syncs(shopify_standin)
    assert [(r.status, len(r.json["variables"]["metafields"])) for r in calls] == [
        (200, 25),
        (200, 25),
        (200, 10),
    ]
    assert balances_in_store(shopify_standin, members) == {
        m.platform_customer_id: ("single_line_text_field", str(n + 1))
        for n, m in enumerate(members)
    }


def test_one_customer_the_store_does_not_know_does_not_hold_back_the_other_24(
    shopify_standin, shopify_shop, caplog
):
    members = members_with_balances(shopify_standin, shopify_shop, 25, unknown={3})
    gone = members[3].platform_customer_id

    with caplog.at_level(logging.WARNING, logger="loyalty.members.balance_sync"):
        result = tasks.sync_member_balances(
            [[shopify_shop.pk, m.platform_customer_id] for m in members]
        )

    # then the atomic first call saved nothing, the second, without that customer, saved 24
    assert result == "synced"  # a refusal is not retried
    calls = store_syncs(shopify_standin)
    assert [len(r.json["variables"]["metafields"]) for r in calls] == [25, 24]
    assert f"gid://shopify/Customer/{gone}" not in json.dumps(calls[1].json["variables"])
    assert balances_in_store(shopify_standin, members) == {
        m.platform_customer_id: ("single_line_text_field", str(n + 1))
        for n, m in enumerate(members)
        if n != 3
    }
    assert [r.getMessage() for r in caplog.records] == [
        f"balance sync for customer(s) {gone} of {SHOP} refused: user_errors: Owner does not exist."
    ]


def test_a_throttled_call_leaves_the_members_not_yet_sent_for_the_retry(
    shopify_standin, shopify_shop, sent
):
    """The stand-in's real bucket, not a fault: it holds 45 points and does not refill (frozen
    clock), so the first call (25 customers: 35 points) passes and the second is throttled on
    both of its attempts; the third is not pressed against the same limit."""
    members = members_with_balances(shopify_standin, shopify_shop, 60)
    frozen = time.time()
    shopify_standin.store.clock = lambda: frozen
    bucket = shopify_standin.shop(SHOP)
    bucket.bucket_available, bucket.bucket_updated = 45.0, frozen

    result = tasks.sync_member_balances(
        [[shopify_shop.pk, m.platform_customer_id] for m in members]
    )

    assert result == "will retry: 35 left"
    calls = store_syncs(shopify_standin)
    assert [len(r.json["variables"]["metafields"]) for r in calls] == [25, 25, 25]
    assert calls[1].json == calls[2].json  # the second call's two attempts
    assert [r.fault for r in calls] == [None] * 3  # throttled by the bucket, not a fault
    assert sent == [
        (
            [[shopify_shop.pk, m.platform_customer_id] for m in members[25:]],
            tasks.SYNC_BACKOFF_SECONDS,
        )
    ]
    assert sorted(balances_in_store(shopify_standin, members)) == sorted(
        m.platform_customer_id for m in members[:25]
    )


def test_a_customer_id_shopify_could_not_read_is_refused_without_a_call(
    shopify_standin, shopify_shop, member, caplog
):
    """One malformed global id would make Shopify refuse the whole request (a GraphQL error
    naming no input), so it is never sent."""
    MemberFactory(shop=shopify_shop, platform_customer_id="guest-12")

    with caplog.at_level(logging.WARNING, logger="loyalty.members.balance_sync"):
        result = tasks.sync_member_balances(
            [[shopify_shop.pk, "guest-12"], [shopify_shop.pk, str(CUSTOMER)]]
        )

    assert result == "synced"
    (call,) = store_syncs(shopify_standin)
    assert [m["ownerId"] for m in call.json["variables"]["metafields"]] == [
        f"gid://shopify/Customer/{CUSTOMER}"
    ]
    assert metafields_in_store(shopify_standin)["points_balance"][1] == "0"
    assert [r.getMessage() for r in caplog.records] == [
        f"balance sync for customer(s) guest-12 of {SHOP} refused: invalid_customer_id: "
        "'guest-12' is not a Shopify customer id"
    ]
