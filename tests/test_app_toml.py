"""shopify.app.toml declares what the code relies on: scopes, webhooks, app proxy, privacy."""

import tomllib
from pathlib import Path

from django.conf import settings

TOML = tomllib.loads((Path(__file__).resolve().parents[1] / "shopify.app.toml").read_text())


def test_declares_the_scopes_the_code_requires():
    assert set(TOML["access_scopes"]["scopes"].split(",")) == set(settings.SHOPIFY_SCOPES)


def test_subscribes_every_topic_the_code_registers_and_the_compliance_topics():
    subscriptions = TOML["webhooks"]["subscriptions"]
    topics = {t for s in subscriptions for t in s.get("topics", [])}
    compliance = {t for s in subscriptions for t in s.get("compliance_topics", [])}
    assert topics == set(settings.SHOPIFY_WEBHOOK_TOPICS)
    assert compliance == {"customers/data_request", "customers/redact", "shop/redact"}
    assert {s["uri"].rsplit("/", 2)[-2:] == ["shopify", "webhooks"] for s in subscriptions} == {
        True
    }
    assert TOML["webhooks"]["api_version"] == settings.SHOPIFY_API_VERSION


def test_app_proxy_points_at_the_proxy_routes():
    proxy = TOML["app_proxy"]
    assert (proxy["prefix"], proxy["subpath"]) == ("apps", "setia")
    assert proxy["url"].endswith("/shopify/proxy")
    assert "write_app_proxy" in TOML["access_scopes"]["scopes"]


def test_required_fields_are_present():
    assert len(TOML["name"]) <= 30
    assert TOML["embedded"] is True
    assert TOML["auth"]["redirect_urls"][0].endswith("/shopify/callback")
    assert TOML["application_url"].endswith("/app/")
