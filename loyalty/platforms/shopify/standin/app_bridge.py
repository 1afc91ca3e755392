"""A small App Bridge for the stand-in's admin page, behaving like Shopify's for what Setia uses.

Shopify's admin frames the app; the app loads App Bridge (`cdn.shopify.com/shopifycloud/
app-bridge.js`), whose `shopify.idToken()` asks the framing admin for a fresh session token
over `postMessage`, and which patches `fetch` so that requests to the app's own origin carry
`Authorization: Bearer <token>`. Here:

- `GET /admin/apps/shopifycloud/app-bridge.js` serves that script (`SCRIPT`), from the
  stand-in's origin as Shopify serves it from its CDN.
- The stand-in's admin page (`demo._admin_frame`) embeds `host_script(...)`: it answers the
  app frame's token requests, and only those coming from the app's origin and its own frame.
- `GET /admin/apps/{api_key}/session-token?shop=` mints the token the admin page hands over
  (the real admin has its own backend for this, behind the staff member's login).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from .wire import Response

if TYPE_CHECKING:
    from .core import StandIn

SCRIPT_PATH = "/admin/apps/shopifycloud/app-bridge.js"
TOKEN_SUFFIX = "/session-token"  # noqa: S105 - a path, not a secret
REQUEST_TYPE = "setia-standin:id-token-request"
ANSWER_TYPE = "setia-standin:id-token"

SCRIPT = """/* App Bridge stand-in (local Shopify stand-in): shopify.idToken() and fetch with the
   session token, as Shopify's App Bridge provides them. */
(function () {
  "use strict";
  if (window.shopify) return;
  var script = document.currentScript;
  var adminOrigin = new URL(script.src).origin;
  var meta = document.querySelector('meta[name="shopify-api-key"]');
  var pending = {};
  var sequence = 0;

  window.addEventListener("message", function (event) {
    if (event.origin !== adminOrigin || event.source !== window.parent) return;
    var data = event.data || {};
    var waiting = data.type === "__ANSWER__" && pending[data.id];
    if (!waiting) return;
    delete pending[data.id];
    if (data.token) waiting.resolve(data.token);
    else waiting.reject(new Error(data.error || "App Bridge: no session token"));
  });

  function idToken() {
    return new Promise(function (resolve, reject) {
      if (window.parent === window) {
        reject(new Error("App Bridge: the app is not inside the Shopify admin"));
        return;
      }
      var id = ++sequence;
      pending[id] = { resolve: resolve, reject: reject };
      window.parent.postMessage({ type: "__REQUEST__", id: id }, adminOrigin);
      setTimeout(function () {
        if (!pending[id]) return;
        delete pending[id];
        reject(new Error("App Bridge: the admin did not answer"));
      }, 10000);
    });
  }

  var nativeFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var request = new Request(input, init);
    if (new URL(request.url, location.href).origin !== location.origin) {
      return nativeFetch(request);
    }
    return idToken().then(function (token) {
      var headers = new Headers(request.headers);
      if (!headers.has("Authorization")) headers.set("Authorization", "Bearer " + token);
      return nativeFetch(new Request(request, { headers: headers }));
    });
  };

  var query = new URLSearchParams(location.search);
  window.shopify = {
    config: {
      apiKey: meta ? meta.content : "",
      shop: query.get("shop") || "",
      host: query.get("host") || "",
      locale: query.get("locale") || "en",
    },
    origin: adminOrigin,
    idToken: idToken,
  };
})();
""".replace("__ANSWER__", ANSWER_TYPE).replace("__REQUEST__", REQUEST_TYPE)


def script_response() -> Response:
    return Response(
        200,
        SCRIPT.encode(),
        {"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache"},
    )


def is_token_path(path: str) -> bool:
    return path.startswith("/admin/apps/") and path.endswith(TOKEN_SUFFIX)


def token_response(standin: StandIn, shop: str) -> Response:
    return Response.json(200, {"token": standin.session_token(shop)})


def host_script(*, app_origin: str, token_url: str) -> str:
    """The admin page's side: hand a fresh token to the app frame when it asks."""
    script = """<script>
(function () {
  var appOrigin = __APP_ORIGIN__;
  var tokenUrl = __TOKEN_URL__;
  window.addEventListener("message", function (event) {
    var frame = document.querySelector("iframe");
    var data = event.data || {};
    if (!frame || event.source !== frame.contentWindow || event.origin !== appOrigin) return;
    if (data.type !== "__REQUEST__") return;
    function answer(fields) {
      var message = { type: "__ANSWER__", id: data.id };
      for (var key in fields) message[key] = fields[key];
      event.source.postMessage(message, event.origin);
    }
    fetch(tokenUrl, { cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("token endpoint answered " + response.status);
        return response.json();
      })
      .then(function (body) { answer({ token: body.token }); },
            function (error) { answer({ error: String(error) }); });
  });
})();
</script>"""
    values = {
        "__APP_ORIGIN__": json.dumps(app_origin).replace("<", "\\u003c"),
        "__TOKEN_URL__": json.dumps(token_url).replace("<", "\\u003c"),
        "__REQUEST__": REQUEST_TYPE,
        "__ANSWER__": ANSWER_TYPE,
    }
    for placeholder, value in values.items():
        script = script.replace(placeholder, value)
    return script
