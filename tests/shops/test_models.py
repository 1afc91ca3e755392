import logging

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import override_settings

from loyalty.shops.models import Program, Shop
from loyalty.shops.services import shop_get_or_create
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

TOKEN = "shpat_0123456789abcdef0123456789abcdef"
REFRESH = "shprt_fedcba9876543210fedcba9876543210"


def raw_columns(shop):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM shops_shop WHERE id = %s", [shop.pk]
        )
        return cursor.fetchone()


def test_tokens_are_encrypted_at_rest_and_read_back_in_plain():
    shop = ShopFactory(access_token=TOKEN, refresh_token=REFRESH)

    raw_access, raw_refresh = raw_columns(shop)

    assert TOKEN not in raw_access and REFRESH not in raw_refresh
    assert raw_access.startswith("gAAAAA")  # a Fernet token
    reloaded = Shop.objects.get(pk=shop.pk)
    assert (reloaded.access_token, reloaded.refresh_token) == (TOKEN, REFRESH)


def test_tokens_survive_key_rotation():
    old_key = Fernet.generate_key().decode()
    new_key = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEYS=[old_key]):
        shop = ShopFactory(access_token=TOKEN)

    with override_settings(FIELD_ENCRYPTION_KEYS=[new_key, old_key]):
        assert Shop.objects.get(pk=shop.pk).access_token == TOKEN


def test_a_token_written_with_an_unknown_key_fails_loudly():
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(FIELD_ENCRYPTION_KEYS=[Fernet.generate_key().decode()]):
        shop = ShopFactory(access_token=TOKEN)

    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEY"):
        Shop.objects.get(pk=shop.pk)


def test_tokens_never_show_in_repr_str_or_logs(caplog):
    shop = ShopFactory(
        domain="aisyah-batik.myshopify.com", access_token=TOKEN, refresh_token=REFRESH
    )

    with caplog.at_level(logging.INFO):
        logging.getLogger("setia").info("installed %s %r", shop, shop)

    for text in (repr(shop), str(shop), caplog.text):
        assert TOKEN not in text and REFRESH not in text
    assert repr(shop) == f"<Shop {shop.pk} shopify:aisyah-batik.myshopify.com>"


def test_tokens_are_not_in_the_django_admin(admin_client):
    shop = ShopFactory(access_token=TOKEN, refresh_token=REFRESH)

    change_page = admin_client.get(f"/django-admin/shops/shop/{shop.pk}/change/")
    list_page = admin_client.get("/django-admin/shops/shop/")

    assert change_page.status_code == 200
    assert list_page.status_code == 200
    for page in (change_page, list_page):
        body = page.content.decode()
        assert TOKEN not in body and REFRESH not in body
        assert 'name="access_token"' not in body


def test_domain_is_unique_per_platform():
    from django.db import IntegrityError

    ShopFactory(domain="one.myshopify.com")

    with pytest.raises(IntegrityError):
        Shop.objects.create(platform="shopify", domain="one.myshopify.com")


def test_shop_get_or_create_gives_the_contract_default_program():
    shop, created = shop_get_or_create(domain="New-Shop.myshopify.com", currency="MYR")

    again, created_again = shop_get_or_create(domain="new-shop.myshopify.com")

    assert (created, created_again) == (True, False)
    assert again.pk == shop.pk
    assert shop.domain == "new-shop.myshopify.com"
    program = Program.objects.get(shop=shop)
    assert (program.points_name, program.points_per_currency_unit, program.pending_days) == (
        "points",
        1,
        0,
    )
    assert program.earn_trigger == "order_paid"
