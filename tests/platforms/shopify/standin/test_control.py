"""The control API: another process seeds shops, injects faults and reads the request log."""

from __future__ import annotations

import httpx
import pytest

from .conftest import API_KEY, API_SECRET, SHOP, json_reply

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

SEEDED = "seeded-shop.myshopify.com"


@pytest.fixture
def control(standin):
    with httpx.Client(base_url=f"{standin.origin}/_standin", timeout=5) as http:
        yield http


def test_health_and_seeding_a_shop_with_a_customer(standin, control):
    # when a script seeds a shop and a customer over HTTP
    health = control.get("/health")
    created = control.post(
        "/shops",
        json={"domain": SEEDED, "name": "Seeded", "currency": "EUR", "scopes": ["read_orders"]},
    )
    customer = control.post(
        f"/shops/{SEEDED}/customers", json={"customer_id": 55, "email": "a@b.example"}
    )
    listed = control.get("/shops")

    # then the stand-in has them, as if added in-process
    assert health.json() == {"ok": True, "origin": standin.origin}
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("domain", "name", "currency", "scopes")} == {
        "domain": SEEDED,
        "name": "Seeded",
        "currency": "EUR",
        "scopes": ["read_orders"],
    }
    assert customer.status_code == 201
    assert (customer.json()["id"], customer.json()["gid"]) == (55, "gid://shopify/Customer/55")
    assert [s["domain"] for s in listed.json()["shops"]] == [SHOP, SEEDED]
    assert standin.shop(SEEDED).customers[55].email == "a@b.example"


def test_faults_requests_and_reset(standin, control, graphql):
    # given a fault pushed over HTTP
    pushed = control.post("/faults", json={"kind": "429", "count": 1, "retry_after": "0"})

    # when the app calls GraphQL twice
    statuses = [graphql("{ shop { name } }").status_code for _ in range(2)]
    log = control.get("/requests").json()["requests"]
    control.post("/reset")

    # then the fault hit once, the log shows both calls (not the control calls), reset clears it
    assert pushed.status_code == 201
    assert pushed.json()["pending"] == [
        {"kind": "429", "remaining": 1, "target": "graphql", "retry_after": "0", "delay": None}
    ]
    assert statuses == [429, 200]
    graphql_calls = [r for r in log if r["target"] == "graphql"]
    assert [(r["status"], r["fault"], r["operation"], r["shop"]) for r in graphql_calls] == [
        (429, "429", None, SHOP),
        (200, None, "shop", SHOP),
    ]
    assert graphql_calls[1]["json"] == {"query": "{ shop { name } }"}
    assert graphql_calls[1]["headers"]["host"] == SHOP
    assert control.get("/requests").json() == {"requests": []}
    assert control.get("/faults").json() == {"pending": []}


def test_session_tokens_codes_and_expiry_over_http(standin, control, client):
    # when a script mints a session token and exchanges it, and gets a code
    session_token = control.post("/session-token", json={"shop": SHOP, "user_id": "9"}).json()[
        "token"
    ]
    exchanged = client.post(
        f"https://{SHOP}/admin/oauth/access_token",
        json={
            "client_id": API_KEY,
            "client_secret": API_SECRET,
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": session_token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
            "requested_token_type": "urn:shopify:params:oauth:token-type:offline-access-token",
            "expiring": 1,
        },
    )
    code = control.post("/codes", json={"shop": SHOP}).json()["code"]
    expired = control.post(
        "/expire-token", json={"token_or_shop": exchanged.json()["access_token"]}
    )

    # then the token was valid, the code is usable, and the token is now expired
    assert exchanged.status_code == 200
    assert len(code) == 32
    assert expired.json() == {"expired": 1}
    assert standin.store.authenticate(exchanged.json()["access_token"], None) is None


def test_webhooks_can_be_sent_by_the_stand_in_process(standin, control, receiver):
    # given an app that accepts webhooks
    receiver.respond = lambda req: json_reply(200, {"ok": True})

    # when a script asks the stand-in to deliver one
    sent = control.post(
        "/webhooks",
        json={
            "app_url": receiver.url,
            "topic": "shop/redact",
            "shop": SHOP,
            "payload": {"shop_id": 1},
        },
    )

    # then it was delivered, signed, and the app's answer is reported back
    assert sent.json() == {"status": 200, "body": '{"ok": true}'}
    assert receiver.received[0].headers["X-Shopify-Topic"] == "shop/redact"
    assert receiver.received[0].body == b'{"shop_id":1}'


def test_shop_state_dump_and_bad_requests(control, graphql, standin):
    # given a webhook subscription created by the app
    graphql(
        """mutation { webhookSubscriptionCreate(topic: ORDERS_PAID, webhookSubscription:
        {uri: "https://setia.example/shopify/webhooks"}) { userErrors { message } } }"""
    )

    # when the shop state is read, and nonsense is sent
    dump = control.get(f"/shops/{SHOP}").json()
    unknown_shop = control.get("/shops/nowhere.myshopify.com")
    bad_fault = control.post("/faults", json={"kind": "teapot"})
    no_route = control.get("/nothing")

    # then the dump shows what the app created; errors are 404 and 400 with a message
    assert [(w["topic"], w["uri"]) for w in dump["webhooks"]] == [
        ("ORDERS_PAID", "https://setia.example/shopify/webhooks")
    ]
    assert (dump["customers"], dump["discounts"], dump["metafields"]) == ([], [], [])
    assert unknown_shop.status_code == 404
    assert unknown_shop.json() == {"error": "unknown shop 'nowhere.myshopify.com'"}
    assert bad_fault.status_code == 400
    assert no_route.status_code == 404
