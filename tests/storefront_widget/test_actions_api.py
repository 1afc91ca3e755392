"""POST /shopify/proxy/api/actions through the signed app proxy: social follows and shares
claimed once per network, a birthday recorded once, and every refusal the contract names."""

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from loyalty.earning.models import ActionRule
from loyalty.ledger.models import LedgerEntry
from loyalty.ledger.services import ledger_credit
from loyalty.members.models import Member
from tests.factories import MemberFactory, ShopFactory
from tests.platforms.shopify.helpers import SHOP, proxy_query

pytestmark = pytest.mark.django_db

CUSTOMER = "115310627314723954"


@pytest.fixture
def shop(db):
    return ShopFactory(domain=SHOP, installed_at=datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def member(shop):
    member = MemberFactory(shop=shop, platform_customer_id=CUSTOMER)
    ledger_credit(member=member, points=300, idempotency_key="seed", source_type="test")
    return member


@pytest.fixture
def follow(shop):
    return ActionRule.objects.create(
        shop=shop, action="social_follow", key="instagram", name="Follow us", points=50
    )


@pytest.fixture
def birthday_rule(shop):
    return ActionRule.objects.create(
        shop=shop, action="birthday", name="Birthday treat", points=100, cap="per_year"
    )


def claim(client, body, *, customer_id=CUSTOMER, query=None, raw=None):
    query = query if query is not None else proxy_query(customer_id=customer_id)
    data = raw if raw is not None else json.dumps(body)
    return client.post(
        "/shopify/proxy/api/actions?" + urlencode(query), data=data, content_type="application/json"
    )


def test_a_social_follow_is_credited_with_the_new_balance(client, member, follow):
    response = claim(client, {"action": "social_follow", "key": "instagram"})

    assert response.status_code == 201
    assert response.json() == {
        "action": "social_follow",
        "key": "instagram",
        "credited": 50,
        "balance": 350,
    }
    member.refresh_from_db()
    assert member.points_balance == 350
    entry = LedgerEntry.objects.get(member=member, source_type="action")
    assert entry.idempotency_key == f"action:{follow.pk}:{member.pk}:once"


def test_a_second_follow_of_the_same_network_is_409_and_credits_nothing(client, member, follow):
    claim(client, {"action": "social_follow", "key": "instagram"})

    response = claim(client, {"action": "social_follow", "key": "instagram"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_claimed"
    member.refresh_from_db()
    assert member.points_balance == 350


def test_a_share_is_its_own_rule(client, shop, member, follow):
    ActionRule.objects.create(
        shop=shop, action="social_share", key="facebook", name="Share", points=20, cap="per_day"
    )

    response = claim(client, {"action": "social_share", "key": "facebook"})

    assert response.status_code == 201
    assert response.json()["credited"] == 20
    assert response.json()["balance"] == 320


@pytest.mark.parametrize(
    "body",
    [
        {"action": "social_follow", "key": "tiktok"},
        {"action": "social_share", "key": "instagram"},
        {"action": "birthday", "birthday": "05-17"},
    ],
)
def test_an_action_without_an_active_rule_is_404(client, member, follow, body):
    ActionRule.objects.create(
        shop=member.shop, action="social_follow", key="tiktok", name="Old", points=9, enabled=False
    )

    response = claim(client, body)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_action"
    assert Member.objects.get(pk=member.pk).points_balance == 300


@pytest.mark.parametrize(
    "body",
    [
        {"action": "review"},
        {"action": "signup"},
        {"action": "social_follow"},
        {"action": "social_follow", "key": ""},
        {"action": "social_follow", "key": 7},
        {"action": "birthday"},
        {"action": "birthday", "birthday": "13-01"},
        {"action": "birthday", "birthday": "02-30"},
        {"action": "birthday", "birthday": "1999-02-29"},
        {"action": "birthday", "birthday": "3000-01-01"},
        {"action": "birthday", "birthday": "5-7"},
        {"action": "birthday", "birthday": 517},
        [],
    ],
)
def test_bad_input_is_400(client, member, follow, birthday_rule, body):
    response = claim(client, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_a_body_that_is_not_json_is_400(client, member, follow):
    response = claim(client, None, raw="{not json")

    assert response.status_code == 400


def test_a_guest_is_401(client, member, follow):
    response = claim(client, {"action": "social_follow", "key": "instagram"}, customer_id="")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_logged_in"


def test_a_forged_signature_is_401_and_credits_nothing(client, member, follow):
    query = {**proxy_query(customer_id=CUSTOMER), "signature": "0" * 64}

    response = claim(client, {"action": "social_follow", "key": "instagram"}, query=query)

    assert response.status_code == 401
    assert Member.objects.get(pk=member.pk).points_balance == 300


def test_another_shops_member_with_the_same_customer_id_is_never_touched(client, member, follow):
    other_shop = ShopFactory(domain="other-shop.myshopify.com")
    other = MemberFactory(shop=other_shop, platform_customer_id=CUSTOMER)
    ActionRule.objects.create(
        shop=other_shop, action="social_follow", key="instagram", name="Follow", points=70
    )

    response = claim(client, {"action": "social_follow", "key": "instagram"})

    assert response.json()["balance"] == 350
    other.refresh_from_db()
    assert other.points_balance == 0
    assert not LedgerEntry.objects.filter(member=other).exists()


def test_a_signed_in_customer_who_is_not_a_member_is_409(client, member, follow):
    response = claim(client, {"action": "social_follow", "key": "instagram"}, customer_id="999")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_a_member"


def test_a_birthday_is_recorded_once_with_no_points_until_the_day(client, member, birthday_rule):
    response = claim(client, {"action": "birthday", "birthday": "1990-05-17"})

    assert response.status_code == 201
    assert response.json() == {
        "action": "birthday",
        "birthday": "05-17",
        "credited": 0,
        "balance": 300,
    }
    member.refresh_from_db()
    assert (member.birthday_month, member.birthday_day, member.birthday_year) == (5, 17, 1990)


def test_a_birthday_without_a_year_may_be_29_february(client, member, birthday_rule):
    response = claim(client, {"action": "birthday", "birthday": "02-29"})

    assert response.status_code == 201
    member.refresh_from_db()
    assert (member.birthday_month, member.birthday_day, member.birthday_year) == (2, 29, None)


def test_the_birthday_cannot_be_moved_once_set(client, member, birthday_rule):
    claim(client, {"action": "birthday", "birthday": "05-17"})

    response = claim(client, {"action": "birthday", "birthday": "11-23"})

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "birthday_already_set"
    member.refresh_from_db()
    assert (member.birthday_month, member.birthday_day) == (5, 17)


def test_sending_the_same_birthday_again_is_200_and_changes_nothing(client, member, birthday_rule):
    claim(client, {"action": "birthday", "birthday": "05-17"})

    response = claim(client, {"action": "birthday", "birthday": "05-17"})

    assert response.status_code == 200
    assert response.json()["birthday"] == "05-17"


def test_a_birthday_imported_earlier_cannot_be_replaced(client, member, birthday_rule):
    Member.objects.filter(pk=member.pk).update(birthday_month=1, birthday_day=2)

    response = claim(client, {"action": "birthday", "birthday": "05-17"})

    assert response.status_code == 409
    member.refresh_from_db()
    assert (member.birthday_month, member.birthday_day) == (1, 2)


def test_actions_only_answer_post(client, member, follow):
    response = client.get(
        "/shopify/proxy/api/actions?" + urlencode(proxy_query(customer_id=CUSTOMER))
    )

    assert response.status_code == 405
