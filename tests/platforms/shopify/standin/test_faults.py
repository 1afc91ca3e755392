"""Fault injection, observed by a raw httpx client and by shopify_app's retry logic."""

from __future__ import annotations

import dataclasses
import threading
import time

import httpx
import pytest

from .conftest import API_KEY, API_SECRET, API_VERSION, TOKEN_URL

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

QUERY = "{ shop { name } }"


def _refresh(client: httpx.Client, refresh_token: str) -> httpx.Response:
    return client.post(
        TOKEN_URL,
        json={
            "client_id": API_KEY,
            "client_secret": API_SECRET,
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
        },
    )


def test_throttled_is_http_200_with_a_throttled_error_and_cost(standin, graphql):
    # given one throttled fault
    standin.faults.push("throttled")

    # when two queries are sent
    throttled = graphql(QUERY)
    normal = graphql(QUERY)

    # then the first is Shopify's THROTTLED body, the second is answered
    body = throttled.json()
    assert throttled.status_code == 200
    assert body["errors"] == [
        {
            "message": "Throttled",
            "extensions": {
                "code": "THROTTLED",
                "documentation": "https://shopify.dev/api/usage/rate-limits",
            },
        }
    ]
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1
    assert body["extensions"]["cost"]["actualQueryCost"] is None
    assert sorted(body["extensions"]["cost"]["throttleStatus"]) == [
        "currentlyAvailable",
        "maximumAvailable",
        "restoreRate",
    ]
    assert body["extensions"]["cost"]["throttleStatus"]["currentlyAvailable"] == 0
    assert normal.json()["data"] == {"shop": {"name": "Demo Shop"}}
    assert [r.fault for r in standin.requests[-2:]] == ["throttled", None]


def test_429_carries_retry_after(standin, graphql):
    # given a 429 with Retry-After 0 and one with the default
    standin.faults.push("429", retry_after=0)
    standin.faults.push("429")

    # when two queries are sent
    first, second = graphql(QUERY), graphql(QUERY)

    # then both are 429 with the header, THROTTLED in the body
    assert (first.status_code, first.headers["retry-after"]) == (429, "0")
    assert (second.status_code, second.headers["retry-after"]) == (429, "1")
    assert first.json()["errors"][0]["extensions"]["code"] == "THROTTLED"


@pytest.mark.parametrize(
    ("kind", "content_type"),
    [
        ("500", "application/json; charset=utf-8"),
        ("502", "text/html; charset=utf-8"),
        ("503", "text/html; charset=utf-8"),
    ],
)
def test_server_errors(standin, graphql, kind, content_type):
    # given a 5xx fault
    standin.faults.push(kind)

    # when a query is sent
    response = graphql(QUERY)

    # then that status, with Shopify's kind of body
    assert response.status_code == int(kind)
    assert response.headers["content-type"] == content_type
    if kind == "500":
        assert response.json()["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


def test_slow_delays_the_answer(standin, graphql):
    # given two slow faults
    standin.faults.push("slow", 2, delay=0.3)

    # when one query is sent with a short timeout and one with a long timeout
    with pytest.raises(httpx.ReadTimeout):
        graphql(QUERY, timeout=0.1)
    started = time.monotonic()
    answered = graphql(QUERY, timeout=5)

    # then the first times out and the second is answered, late
    assert answered.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_network_closes_the_connection_without_answering(standin, graphql):
    # given a network fault
    standin.faults.push("network")

    # when a query is sent, then the connection drops
    with pytest.raises(httpx.RemoteProtocolError):
        graphql(QUERY)
    assert standin.requests[-1].status == 0
    assert graphql(QUERY).status_code == 200


def test_faults_target_graphql_token_or_any_and_count(standin, client, graphql, token):
    # given two token faults and then one for any endpoint
    standin.faults.push("500", 2, target="token")
    standin.faults.push("503", target="any")

    # when GraphQL and token calls interleave
    statuses = [
        graphql(QUERY).status_code,  # "any" 503: the token faults do not apply here
        _refresh(client, token["refresh_token"]).status_code,  # token fault 1
        graphql(QUERY).status_code,
        _refresh(client, token["refresh_token"]).status_code,  # token fault 2
        _refresh(client, token["refresh_token"]).status_code,  # consumed: answered
    ]

    # then each fault hit only its target, as many times as asked
    assert statuses == [503, 500, 200, 500, 200]
    assert len(standin.faults) == 0


def test_shopify_app_retries_through_429_and_token_5xx(standin, shopify_app, client, token):
    # given a 429 (Retry-After 0) for GraphQL and two 502s for the token endpoint
    standin.faults.push("429", retry_after="0")
    standin.faults.push("502", 2, target="token")

    # when the package queries and refreshes
    result = shopify_app.admin_graphql_request(
        QUERY,
        shop="demo-shop",
        access_token=token["access_token"],
        api_version=API_VERSION,
        http_client=client,
    )
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

    # then both recover the way the package promises
    assert [log.code for log in result.http_logs] == ["rate_limited_retry", "success"]
    # shopify_app 1.0.2 reads "Retry-After" from dict(httpx headers), whose keys are lower-case,
    # so it always waits its default 1 s whatever the header says (the stand-in sent "0").
    assert "Retrying after 1 seconds" in result.http_logs[0].detail
    assert [log.code for log in refreshed.http_logs] == [
        "server_error_retry",
        "server_error_retry",
        "success",
    ]
    assert dataclasses.asdict(refreshed.access_token)["refresh_token"].startswith("shprt_")


def test_push_rejects_nonsense():
    # given a queue
    from loyalty.platforms.shopify.standin.state import FaultQueue

    queue = FaultQueue()

    # when given an unknown kind, a throttled token fault or a zero count, then ValueError
    with pytest.raises(ValueError, match="unknown fault kind"):
        queue.push("418")
    with pytest.raises(ValueError, match="use '429' for the token endpoint"):
        queue.push("throttled", target="token")
    with pytest.raises(ValueError, match="count must be >= 1"):
        queue.push("500", 0)
    assert len(queue) == 0


def test_stop_is_not_held_up_by_a_slow_fault(standin):
    # given a request stuck in a 30 s slow fault
    standin.faults.push("slow", delay=30)
    outcome: list[object] = []

    url = f"{standin.origin}/admin/api/{API_VERSION}/graphql.json"

    def call() -> None:
        try:
            outcome.append(httpx.post(url, json={"query": QUERY}, timeout=10).status_code)
        except httpx.HTTPError as exc:
            outcome.append(type(exc))

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(0.2)

    # when the stand-in stops
    started = time.monotonic()
    standin.stop()
    caller.join(5)

    # then it stops promptly and the caller got an answer or an error, not a hang
    assert time.monotonic() - started < 5
    assert not caller.is_alive()
    assert len(outcome) == 1
