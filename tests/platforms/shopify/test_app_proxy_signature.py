"""Setia's app proxy signature check says exactly what `shopify_app`'s does, on any query."""

import hashlib
import hmac
import string
import time
from urllib.parse import urlencode

import hypothesis
from django.http import QueryDict
from django.test import override_settings
from hypothesis import strategies as st
from shopify_app import ShopifyApp

from loyalty.platforms.shopify.embedded import app_proxy_verified

SECRET = "test-api-secret"
SDK = ShopifyApp(client_id="test-api-key", client_secret=SECRET)

keys = st.sampled_from(
    ["shop", "logged_in_customer_id", "path_prefix", "timestamp", "extra", "a", "z", "é"]
)
values = st.text(alphabet=string.ascii_letters + string.digits + " .,=&/é-_", max_size=12)


def sign(pairs: list[tuple[str, str]], secret: str) -> str:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    message = "".join(f"{k}={','.join(v)}" for k, v in sorted(grouped.items()))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


@hypothesis.settings(max_examples=400, deadline=None)
@hypothesis.given(
    pairs=st.lists(st.tuples(keys, values), max_size=6),
    shops=st.lists(st.sampled_from(["a.myshopify.com", "b.myshopify.com", ""]), max_size=2),
    age=st.sampled_from([0, 30, 89, 91, 600, -30, -200, None]),
    signed_with=st.sampled_from([SECRET, "another-secret", None]),
)
def test_our_check_agrees_with_shopify_app(pairs, shops, age, signed_with):
    pairs = [(k, v) for k, v in pairs if k not in ("shop", "timestamp")]
    pairs += [("shop", shop) for shop in shops]
    if age is not None:
        pairs.append(("timestamp", str(int(time.time()) - age)))
    signature = sign(pairs, signed_with) if signed_with else "0" * 64
    query = urlencode([*pairs, ("signature", signature)])

    with override_settings(SHOPIFY_API_SECRET=SECRET):
        ours = app_proxy_verified(QueryDict(query))
    theirs = SDK.verify_app_proxy_req(
        {"method": "GET", "headers": {}, "url": f"https://s.example/p?{query}", "body": ""}
    )

    assert (ours is not None) == theirs.ok
    if ours is not None:
        assert ours == (theirs.shop or "", theirs.logged_in_customer_id or "")
