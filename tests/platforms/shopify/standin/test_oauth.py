"""Authorize, code grant, token exchange and refresh, as Shopify and shopify_app see them."""

from __future__ import annotations

import base64
import dataclasses
import time
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import shopify

from loyalty.platforms.shopify.standin import StandIn

from .conftest import API_KEY, API_SECRET, GRAPHQL_URL, OTHER_SHOP, SHOP, TOKEN_URL

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SHOP_QUERY = "{ shop { myshopifyDomain } }"


class _AppSession(shopify.Session):
    api_key = API_KEY
    secret = API_SECRET


def _authorize(standin: StandIn, **params: str) -> httpx.Response:
    query = {
        "client_id": API_KEY,
        "scope": "read_customers,write_customers,write_discounts",
        "redirect_uri": "https://app.example/shopify/callback",
        "state": "nonce-1",
        **params,
    }
    return httpx.get(
        f"{standin.origin}/admin/oauth/authorize",
        params=query,
        headers={"Host": SHOP},
        timeout=5,
    )


def _code_from(response: httpx.Response) -> str:
    return dict(parse_qsl(urlsplit(response.headers["location"]).query))["code"]


def _exchange(client: httpx.Client, code: str, **extra: object) -> httpx.Response:
    body = {"client_id": API_KEY, "client_secret": API_SECRET, "code": code, **extra}
    return client.post(TOKEN_URL, json=body)


def _graphql_status(client: httpx.Client, access_token: str, host_shop: str = SHOP) -> int:
    url = GRAPHQL_URL.replace(SHOP, host_shop)
    headers = {"X-Shopify-Access-Token": access_token}
    return client.post(url, json={"query": SHOP_QUERY}, headers=headers).status_code


def test_authorize_redirects_to_the_callback_with_a_signed_code(standin):
    # when the merchant's browser reaches the authorize URL on the shop's host
    response = _authorize(standin)

    # then it is sent back with Shopify's params, in Shopify's order, signed with the secret
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    params = dict(parse_qsl(location.query))
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        "https://app.example/shopify/callback"
    )
    assert [k for k, _ in parse_qsl(location.query)] == [
        "code", "hmac", "host", "shop", "state", "timestamp"
    ]  # fmt: skip
    assert params["shop"] == SHOP
    assert params["state"] == "nonce-1"
    assert base64.urlsafe_b64decode(params["host"] + "==") == b"admin.shopify.com/store/demo-shop"
    assert abs(int(params["timestamp"]) - time.time()) < 5
    assert _AppSession.validate_params(params) is True


def test_authorize_takes_the_shop_from_the_query_on_the_bare_origin(standin):
    # when the request reaches the stand-in's own host with ?shop=
    response = httpx.get(
        f"{standin.origin}/admin/oauth/authorize",
        params={
            "client_id": API_KEY,
            "scope": "read_orders",
            "redirect_uri": "http://127.0.0.1:8000/shopify/callback",
            "shop": SHOP,
        },
        timeout=5,
    )

    # then the code is for that shop and no state is invented
    params = dict(parse_qsl(urlsplit(response.headers["location"]).query))
    assert response.status_code == 302
    assert params["shop"] == SHOP
    assert "state" not in params


def test_authorize_rejects_an_unknown_client_id_and_an_unknown_shop(standin):
    # when the client id is wrong, then 400
    wrong_client = _authorize(standin, client_id="someone-else")
    assert wrong_client.status_code == 400
    assert wrong_client.text == (
        "Oauth error invalid_request: Could not find Shopify API application with api_key "
        "someone-else"
    )
    # when the shop does not exist, then 404
    unknown_shop = httpx.get(
        f"{standin.origin}/admin/oauth/authorize",
        params={"client_id": API_KEY, "redirect_uri": "https://a.example/cb"},
        headers={"Host": "nowhere.myshopify.com"},
        timeout=5,
    )
    assert unknown_shop.status_code == 404


def test_code_grant_with_expiring_returns_a_rotating_pair(standin, client):
    # given a code for the requested scopes
    code = _code_from(_authorize(standin))

    # when the app exchanges it with expiring=1
    response = _exchange(client, code, expiring=1)

    # then Shopify's expiring shape comes back; read_customers is implied by write_customers
    body = response.json()
    assert response.status_code == 200
    assert sorted(body) == [
        "access_token", "expires_in", "refresh_token", "refresh_token_expires_in", "scope"
    ]  # fmt: skip
    assert body["access_token"].startswith("shpat_")
    assert body["refresh_token"].startswith("shprt_")
    assert body["scope"] == "write_customers,write_discounts"
    assert body["expires_in"] == 3599
    assert body["refresh_token_expires_in"] == 7775999
    assert _graphql_status(client, body["access_token"]) == 200


def test_code_grant_without_expiring_accepts_a_form_body_and_never_expires(standin, client):
    # given a code
    code = standin.issue_code(SHOP, "read_orders")

    # when exchanged form-encoded, without expiring
    response = client.post(
        TOKEN_URL, data={"client_id": API_KEY, "client_secret": API_SECRET, "code": code}
    )

    # then only the token and its scope come back
    assert response.status_code == 200
    assert sorted(response.json()) == ["access_token", "scope"]
    assert response.json()["scope"] == "read_orders"


def test_a_code_is_single_use(standin, client):
    # given a code already exchanged
    code = standin.issue_code(SHOP)
    assert _exchange(client, code).status_code == 200

    # when exchanged again
    response = _exchange(client, code)

    # then Shopify's invalid_request
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "The authorization code was not found or was already used",
    }


def test_a_bad_client_secret_is_invalid_client_and_does_not_burn_the_code(standin, client):
    # given a fresh code
    code = standin.issue_code(SHOP)

    # when exchanged with the wrong secret
    rejected = client.post(
        TOKEN_URL, json={"client_id": API_KEY, "client_secret": "wrong", "code": code}
    )

    # then 401 invalid_client, and the code still works with the right secret
    assert rejected.status_code == 401
    assert rejected.json()["error"] == "invalid_client"
    assert _exchange(client, code).status_code == 200


def test_a_code_expires_after_ten_minutes_and_is_bound_to_its_shop():
    # given a stand-in on a controllable clock, with two shops
    now = [1_800_000_000.0]
    with StandIn(API_KEY, API_SECRET, clock=lambda: now[0]) as standin:
        standin.add_shop(SHOP)
        standin.add_shop(OTHER_SHOP)
        with standin.client() as client:
            late = standin.issue_code(SHOP)
            foreign = standin.issue_code(SHOP)

            # when one code is redeemed after 10 minutes, the other at another shop's host
            now[0] += 600
            late_response = _exchange(client, late)
            foreign_response = client.post(
                TOKEN_URL.replace(SHOP, OTHER_SHOP),
                json={"client_id": API_KEY, "client_secret": API_SECRET, "code": foreign},
            )

    # then both are refused
    assert late_response.status_code == 400
    assert foreign_response.status_code == 400


def test_token_exchange_through_shopify_app_gives_an_offline_expiring_token(
    standin, shopify_app, client
):
    # given a session token as App Bridge sends it, verified by Shopify's package
    session_token = standin.session_token(SHOP, user_id="42")
    verified = shopify_app.verify_app_home_req(
        {
            "method": "GET",
            "headers": {"Authorization": f"Bearer {session_token}"},
            "url": "https://app.example/app/api/state",
            "body": "",
        },
        app_home_patch_id_token_path="/app/patch-id-token",
    )
    assert (verified.ok, verified.shop, verified.user_id) == (True, "demo-shop", "42")

    # when the app exchanges it for an offline token with the stand-in
    result = shopify_app.exchange_using_token_exchange(
        access_mode="offline",
        id_token=verified.id_token,
        invalid_token_response=verified.invalid_token_response,
        http_client=client,
    )

    # then the package accepts the answer as it would Shopify's
    token = result.access_token
    assert (result.ok, result.log.code) == (True, "success")
    assert token.shop == "demo-shop"
    assert token.access_mode == "offline"
    assert token.token.startswith("shpat_")
    assert token.refresh_token.startswith("shprt_")
    assert token.scope == "write_customers,write_discounts,read_orders,write_app_proxy"
    expires = datetime.strptime(token.expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(expires.timestamp() - (time.time() + 3599)) < 5
    assert _graphql_status(client, token.token) == 200
    sent = standin.requests[0]
    assert sent.json["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert sent.json["expiring"] == 1
    assert sent.headers["host"] == SHOP


def test_online_token_exchange_carries_the_staff_user(standin, shopify_app, client):
    # given an App Bridge token for staff user 42
    claims_token = standin.session_token(SHOP, user_id="42")
    id_token = {
        "exchangeable": True,
        "token": claims_token,
        "claims": {"dest": f"https://{SHOP}"},
    }

    # when exchanged for an online token
    result = shopify_app.exchange_using_token_exchange(
        access_mode="online", id_token=id_token, http_client=client
    )

    # then it is a per-user token without a refresh token
    assert result.ok is True
    assert result.access_token.token.startswith("shpua_")
    assert result.access_token.refresh_token is None
    assert result.access_token.user.id == 42
    assert result.access_token.user.account_owner is False


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda s: s.session_token(SHOP, exp_seconds=-11), id="expired"),
        pytest.param(lambda s: s.session_token(SHOP, aud="another-app"), id="wrong-aud"),
        pytest.param(lambda s: s.session_token(SHOP)[:-2] + "xx", id="bad-signature"),
        pytest.param(lambda s: s.checkout_session_token(SHOP, 7), id="not-exchangeable"),
        pytest.param(
            lambda s: s.session_token(
                SHOP,
                dest="https://nowhere.myshopify.com",
                iss="https://nowhere.myshopify.com/admin",
            ),
            id="unknown-shop",
        ),
    ],
)
def test_token_exchange_rejects_bad_subject_tokens(standin, shopify_app, client, make_token):
    # given a subject token Shopify would refuse
    bad = make_token(standin)

    # when shopify_app exchanges it (its own checks bypassed with a raw dict)
    result = shopify_app.exchange_using_token_exchange(
        access_mode="offline",
        id_token={"exchangeable": True, "token": bad, "claims": {"dest": f"https://{SHOP}"}},
        http_client=client,
    )

    # then the stand-in answered 400 invalid_subject_token, which the package maps to 401
    assert (result.ok, result.log.code, result.response.status) == (
        False,
        "invalid_subject_token",
        401,
    )
    assert standin.requests[-1].status == 400


def test_refresh_rotates_and_a_used_refresh_token_is_rejected(standin, shopify_app, client):
    # given an expiring token whose access token is due for refresh
    first = shopify_app.exchange_using_token_exchange(
        access_mode="offline",
        id_token={
            "exchangeable": True,
            "token": standin.session_token(SHOP),
            "claims": {"dest": f"https://{SHOP}"},
        },
        http_client=client,
    ).access_token
    stale = {**dataclasses.asdict(first), "expires": "2000-01-01T00:00:00Z"}

    # when it is refreshed, then refreshed again with the same (now used) refresh token
    rotated = shopify_app.refresh_token_exchanged_access_token(stale, http_client=client)
    replayed = shopify_app.refresh_token_exchanged_access_token(stale, http_client=client)

    # then the first gives a new pair, the replay is invalid_grant (the package's 401)
    assert (rotated.ok, rotated.log.code) == (True, "success")
    assert rotated.access_token.token != first.token
    assert rotated.access_token.refresh_token != first.refresh_token
    assert (replayed.ok, replayed.log.code, replayed.response.status) == (
        False,
        "invalid_grant",
        401,
    )
    assert standin.requests[-1].json == {
        "client_id": API_KEY,
        "client_secret": API_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": first.refresh_token,
    }
    # and the new refresh token works once in turn
    newer = {**dataclasses.asdict(rotated.access_token), "expires": "2000-01-01T00:00:00Z"}
    assert shopify_app.refresh_token_exchanged_access_token(newer, http_client=client).ok is True


def test_until_replacement_used_lets_a_lost_refresh_be_retried():
    # given Shopify's 2026-08-28 policy and a first refresh whose answer was "lost"
    with StandIn(API_KEY, API_SECRET, refresh_reuse="until_replacement_used") as standin:
        standin.add_shop(SHOP)
        with standin.client() as client:
            pair = _exchange(client, standin.issue_code(SHOP), expiring=1).json()

            def refresh(token: str) -> httpx.Response:
                body = {
                    "client_id": API_KEY,
                    "client_secret": API_SECRET,
                    "grant_type": "refresh_token",
                    "refresh_token": token,
                }
                return client.post(TOKEN_URL, json=body)

            lost = refresh(pair["refresh_token"])
            # when the old token is retried, then its replacement is used
            retried = refresh(pair["refresh_token"])
            replacement_used = refresh(retried.json()["refresh_token"])
            # then once the replacement was used, the old token is retired
            after = refresh(pair["refresh_token"])

    assert [r.status_code for r in (lost, retried, replacement_used, after)] == [200, 200, 200, 400]
    assert after.json()["error"] == "invalid_grant"


def test_a_refresh_token_expires_after_ninety_days():
    # given an expiring pair on a controllable clock
    now = [1_800_000_000.0]
    with StandIn(API_KEY, API_SECRET, clock=lambda: now[0]) as standin:
        standin.add_shop(SHOP)
        with standin.client() as client:
            pair = _exchange(client, standin.issue_code(SHOP), expiring=1).json()

            # when 90 days pass
            now[0] += 90 * 86400
            response = client.post(
                TOKEN_URL,
                json={
                    "client_id": API_KEY,
                    "client_secret": API_SECRET,
                    "grant_type": "refresh_token",
                    "refresh_token": pair["refresh_token"],
                },
            )

    # then the refresh token is refused
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_an_expired_access_token_is_401_until_refreshed(standin, shopify_app, client, token):
    # given the shop's access token forced to expire
    assert standin.expire_access_token(SHOP) == 1

    # when the app calls GraphQL, then Shopify's 401
    rejected = client.post(
        GRAPHQL_URL,
        json={"query": SHOP_QUERY},
        headers={"X-Shopify-Access-Token": token["access_token"]},
    )
    assert rejected.status_code == 401
    assert rejected.json() == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }

    # and after a refresh the new token works
    refreshed = shopify_app.refresh_token_exchanged_access_token(
        {
            "shop": "demo-shop",
            "token": token["access_token"],
            "expires": "2000-01-01T00:00:00Z",
            "refresh_token": token["refresh_token"],
            "refresh_token_expires": None,
            "access_mode": "offline",
            "scope": token["scope"],
        },
        http_client=client,
    )
    assert _graphql_status(client, refreshed.access_token.token) == 200


def test_a_token_is_only_good_for_its_own_shop_and_uninstall_revokes_it(standin, client, token):
    # given a second shop
    standin.add_shop(OTHER_SHOP)

    # when the first shop's token is sent to the second shop's host, then 401
    assert _graphql_status(client, token["access_token"], OTHER_SHOP) == 401
    assert _graphql_status(client, token["access_token"]) == 200

    # when the app is uninstalled, then the token and the refresh token stop working
    standin.uninstall(SHOP)
    assert _graphql_status(client, token["access_token"]) == 401
    refresh = client.post(
        TOKEN_URL,
        json={
            "client_id": API_KEY,
            "client_secret": API_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
        },
    )
    assert refresh.json()["error"] == "invalid_grant"
