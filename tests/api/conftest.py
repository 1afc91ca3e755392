"""Shared by the API's tests: a shop with a key, a call helper, and a scripted store."""

from datetime import UTC, datetime

import pytest
from django.core.cache import cache

from loyalty.api.services import api_key_create
from loyalty.core import platform
from loyalty.shops.models import Platform
from tests.factories import ShopFactory
from tests.rewards.conftest import ScriptedGateway


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def shop():
    return ShopFactory(currency="MYR", installed_at=datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def token(shop):
    return api_key_create(shop=shop, name="Judge.me reviews", actor="staff:42")[1]


@pytest.fixture
def gateway(monkeypatch) -> ScriptedGateway:
    """The store, as the rewards tests script it: redemptions' codes go through this."""
    scripted = ScriptedGateway()
    monkeypatch.setitem(platform._gateways, Platform.SHOPIFY, lambda: scripted)
    return scripted


def call(client, method, path, token, **data):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if method == "get":
        return client.get(path, data, **headers)
    return client.post(path, data, content_type="application/json", **headers)
