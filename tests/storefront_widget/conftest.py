import pytest
from django.core.cache import cache
from django.test import override_settings

from loyalty.shops.selectors import shop_installed_forget
from storefront_widget.state import storefront_catalogue_forget, storefront_state_forget


@pytest.fixture
def storefront_caching():
    """The storefront's caches on (STOREFRONT_CACHE_SECONDS), empty before and after."""

    def forget():
        cache.clear()
        storefront_catalogue_forget()
        storefront_state_forget()
        shop_installed_forget()

    forget()
    with override_settings(STOREFRONT_CACHE_SECONDS=60):
        yield
    forget()
