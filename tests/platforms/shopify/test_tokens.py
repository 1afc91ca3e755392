"""Refreshing a shop's expiring token against the stand-in, which (like Shopify) rotates the
refresh token on every refresh and refuses a used one."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from loyalty.platforms.shopify.install import install_with_code
from loyalty.platforms.shopify.tokens import DURABLE_DB_ALIAS, shop_access_token
from loyalty.shops.models import Shop
from tests.platforms.shopify.helpers import SHOP

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


class HandlerFailed(Exception):
    pass


def installed_shop_due_for_refresh(standin) -> Shop:
    shop = install_with_code(shop_domain=SHOP, code=standin.issue_code(SHOP))
    Shop.objects.filter(pk=shop.pk).update(
        access_token_expires_at=timezone.now() - timedelta(minutes=1)
    )
    return Shop.objects.get(pk=shop.pk)


def refreshes(standin) -> list:
    return [
        r
        for r in standin.requests
        if r.target == "token" and r.json.get("grant_type") == "refresh_token"
    ]


def stored_tokens_seen_by_another_connection(shop_id: int) -> tuple[str, str]:
    """What a second worker would read now: only committed rows."""
    seen = {}

    def read():
        try:
            row = Shop.objects.get(pk=shop_id)
            seen["pair"] = (row.access_token, row.refresh_token)
        finally:
            connection.close()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join(timeout=30)
    return seen["pair"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", DURABLE_DB_ALIAS])
def test_refresh_inside_a_transaction_that_rolls_back_keeps_the_rotated_pair(shopify_standin):
    shop = installed_shop_due_for_refresh(shopify_standin)
    old_refresh_token = shop.refresh_token

    # A handler refreshes inside its transaction, then fails: its own writes roll back.
    with pytest.raises(HandlerFailed), transaction.atomic():
        token = shop_access_token(shop=Shop.objects.get(pk=shop.pk))
        committed_meanwhile = stored_tokens_seen_by_another_connection(shop.pk)
        raise HandlerFailed

    # The rotated pair was committed on its own, before the handler's transaction ended.
    assert committed_meanwhile[0] == token
    stored = Shop.objects.get(pk=shop.pk)
    assert stored.access_token == token
    assert stored.refresh_token not in ("", old_refresh_token)
    # And the shop is not locked out: the next refresh uses the stored (new) refresh token,
    # which the stand-in accepts (it refuses a used one, as Shopify does).
    Shop.objects.filter(pk=shop.pk).update(
        access_token_expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert shop_access_token(shop=Shop.objects.get(pk=shop.pk)) not in ("", token)
    assert [r.json["refresh_token"] for r in refreshes(shopify_standin)] == [
        old_refresh_token,
        stored.refresh_token,
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", DURABLE_DB_ALIAS])
def test_refresh_inside_a_transaction_that_commits_is_stored_once(shopify_standin):
    shop = installed_shop_due_for_refresh(shopify_standin)

    with transaction.atomic():
        first = shop_access_token(shop=Shop.objects.get(pk=shop.pk))
        again = shop_access_token(shop=Shop.objects.get(pk=shop.pk))

    assert first == again == Shop.objects.get(pk=shop.pk).access_token
    assert len(refreshes(shopify_standin)) == 1


@pytest.mark.django_db
def test_refresh_outside_any_transaction_stores_the_new_pair(shopify_standin):
    shop = installed_shop_due_for_refresh(shopify_standin)
    old = (shop.access_token, shop.refresh_token)

    token = shop_access_token(shop=shop)

    stored = Shop.objects.get(pk=shop.pk)
    assert (stored.access_token, shop.access_token) == (token, token)
    assert stored.refresh_token != old[1] and token != old[0]
    assert stored.access_token_expires_at > timezone.now() + timedelta(minutes=50)
    assert len(refreshes(shopify_standin)) == 1


@pytest.mark.django_db
def test_a_fresh_token_is_used_without_calling_shopify(shopify_standin):
    shop = install_with_code(shop_domain=SHOP, code=shopify_standin.issue_code(SHOP))

    assert shop_access_token(shop=shop) == shop.access_token
    assert refreshes(shopify_standin) == []
