import pytest
from django.utils import timezone

from loyalty.shops.models import Shop
from loyalty.shops.selectors import shop_installed_by_domain, shop_installed_forget
from tests.factories import ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    shop_installed_forget()
    yield
    shop_installed_forget()


def test_finds_an_installed_shop_without_loading_its_tokens(django_assert_num_queries):
    shop = ShopFactory(domain="aisyah.myshopify.com")

    with django_assert_num_queries(1):
        found = shop_installed_by_domain(platform="shopify", domain="AISYAH.myshopify.com")

    assert found.pk == shop.pk
    assert {"access_token", "refresh_token"} <= found.get_deferred_fields()


def test_uninstalled_unknown_and_other_platform_shops_are_not_found():
    ShopFactory(domain="gone.myshopify.com", uninstalled_at=timezone.now())
    ShopFactory(domain="never.myshopify.com", installed_at=None)

    assert shop_installed_by_domain(platform="shopify", domain="gone.myshopify.com") is None
    assert shop_installed_by_domain(platform="shopify", domain="never.myshopify.com") is None
    assert shop_installed_by_domain(platform="shopify", domain="nobody.myshopify.com") is None
    assert shop_installed_by_domain(platform="bigcommerce", domain="gone.myshopify.com") is None


def test_with_max_age_an_installed_shop_is_remembered_a_missing_one_is_not(
    django_assert_num_queries,
):
    shop = ShopFactory(domain="aisyah.myshopify.com")
    shop_installed_by_domain(platform="shopify", domain=shop.domain, max_age=60)
    shop_installed_by_domain(platform="shopify", domain="nobody.myshopify.com", max_age=60)
    Shop.objects.filter(pk=shop.pk).update(uninstalled_at=timezone.now())

    with django_assert_num_queries(1):  # only the missing shop is asked for again
        remembered = shop_installed_by_domain(platform="shopify", domain=shop.domain, max_age=60)
        missing = shop_installed_by_domain(
            platform="shopify", domain="nobody.myshopify.com", max_age=60
        )
    fresh = shop_installed_by_domain(platform="shopify", domain=shop.domain)

    assert (remembered.pk, missing, fresh) == (shop.pk, None, None)
