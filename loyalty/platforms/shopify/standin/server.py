"""HTTP side of the stand-in: routing, fault injection, request log, control API, the server.

Routes use Shopify's own paths, so the app only swaps the origin (``SHOPIFY_API_ORIGIN``).
``/_standin/*`` is the control API for another process (``make run``, benchmarks); it is not
recorded and faults never apply to it. The server binds 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from . import admin_api, demo, oauth
from .graphql import Prepared, prepare
from .state import Fault, RecordedRequest, Store
from .wire import Request, Response

if TYPE_CHECKING:
    from .core import StandIn

logger = logging.getLogger(__name__)

GRAPHQL_PATH_RE = re.compile(r"^/admin/api/(?P<version>\d{4}-\d{2}|unstable)/graphql\.json$")
INVALID_TOKEN_BODY = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
MAX_BODY_BYTES = 16 * 1024 * 1024
DEFAULT_SLOW_DELAY = 1.0


class Dispatcher:
    """Turns a :class:`Request` into a :class:`Response`; no sockets here."""

    def __init__(
        self,
        store: Store,
        app: oauth.AppConfig,
        stop_event: threading.Event,
        standin: StandIn | None = None,
    ) -> None:
        self.store = store
        self.app = app
        self.stop_event = stop_event
        self.control = ControlAPI(standin) if standin is not None else None
        self.standin = standin

    @staticmethod
    def target(req: Request) -> str:
        if req.path == "/admin/oauth/access_token":
            return "token"
        if req.path == "/admin/oauth/authorize":
            return "authorize"
        if GRAPHQL_PATH_RE.match(req.path):
            return "graphql"
        return "other"

    def handle(self, req: Request) -> Response:
        if req.path.startswith("/_standin/"):
            if self.control is None:
                return Response.json(404, {"error": "control API disabled"})
            return self.control.handle(req)
        if self.standin is not None and demo.handles(req):
            return demo.handle(self.standin, req)
        target = self.target(req)
        fault = self.store.faults.take(target) if target in ("graphql", "token") else None
        response: Response | None = None
        if fault is not None and fault.kind == "slow":
            delay = DEFAULT_SLOW_DELAY if fault.delay is None else fault.delay
            self.stop_event.wait(delay)  # returns early when the stand-in stops
        elif fault is not None:
            response = self._fault_response(fault, target, req)
        if response is None:
            response = self._route(req, target)
        self.store.record(
            RecordedRequest(
                method=req.method,
                path=req.path,
                headers={k.lower(): v for k, v in req.headers.items()},
                query=req.query,
                body=req.body,
                json=req.json(),
                status=0 if response.drop else response.status,
                shop=response.shop or req.host_shop,
                time=self.store.now(),
                target=target,
                operation=response.operation,
                fault=fault.kind if fault else None,
            )
        )
        return response

    # -- routes ---------------------------------------------------------------------------------
    def _route(self, req: Request, target: str) -> Response:
        if target == "authorize":
            if req.method != "GET":
                return Response.text(405, "Method Not Allowed")
            return oauth.authorize(self.store, self.app, req)
        if target == "token":
            if req.method != "POST":
                return Response.json(405, {"error": "invalid_request"})
            return oauth.access_token(self.store, self.app, req)
        if target == "graphql":
            if req.method != "POST":
                return Response.json(405, {"errors": "Method Not Allowed"})
            match = GRAPHQL_PATH_RE.match(req.path)
            assert match is not None  # noqa: S101 - target() matched it already
            return self._graphql(req, match["version"])
        return Response.json(404, {"errors": "Not Found"})

    def _graphql(self, req: Request, version: str) -> Response:
        token = self.store.authenticate(req.header("X-Shopify-Access-Token"), req.host_shop)
        if token is None:
            return Response.json(401, INVALID_TOKEN_BODY, shop=req.host_shop)
        query, variables, operation_name = _graphql_payload(req)
        if not query:
            return Response.json(
                400, {"errors": {"query": "Required parameter missing or invalid"}}, shop=token.shop
            )
        shop = self.store.shops[token.shop]
        ctx = admin_api.Context(self.store, shop, token, version)
        result = admin_api.execute(ctx, query, variables, operation_name)
        return Response.json(
            200,
            result.body,
            headers={"X-Shopify-API-Version": version, "X-Request-Id": str(uuid.uuid4())},
            shop=shop.domain,
            operation=",".join(result.operations) or None,
        )

    # -- faults ---------------------------------------------------------------------------------
    def _fault_response(self, fault: Fault, target: str, req: Request) -> Response:
        shop = req.host_shop
        if target == "graphql":
            token = self.store.authenticate(req.header("X-Shopify-Access-Token"), None)
            shop = token.shop if token else shop
        request_id = str(uuid.uuid4())
        if fault.kind == "network":
            return Response(0, drop=True, shop=shop)
        if fault.kind == "throttled":
            query, variables, operation_name = _graphql_payload(req)
            prepared = prepare(admin_api.SCHEMA, query or "", variables, operation_name)
            cost = prepared.cost if isinstance(prepared, Prepared) else 1
            if shop in self.store.shops:
                status = self.store.throttle_status(self.store.shops[shop])
            else:
                status = {
                    "maximumAvailable": self.store.bucket_size,
                    "currentlyAvailable": 0.0,
                    "restoreRate": self.store.restore_rate,
                }
            return Response.json(200, admin_api.throttled_body(status, cost), shop=shop)
        if fault.kind == "429":
            retry = {"Retry-After": fault.retry_after or "1"}
            if target == "graphql":
                body: Any = {
                    "errors": [
                        {
                            "message": "Throttled",
                            "extensions": {
                                "code": "THROTTLED",
                                "documentation": admin_api.THROTTLE_DOCS,
                            },
                        }
                    ]
                }
            else:
                body = {
                    "errors": "Exceeded 2 calls per second for api client. Reduce request rates "
                    "to resume uninterrupted service."
                }
            return Response.json(429, body, headers=retry, shop=shop)
        if fault.kind == "500":
            if target == "graphql":
                message = (
                    "Internal error. Looks like something went wrong on our end.\n"
                    f"Request ID: {request_id} (include this in support requests)."
                )
                payload = {
                    "errors": [
                        {
                            "message": message,
                            "extensions": {
                                "code": "INTERNAL_SERVER_ERROR",
                                "requestId": request_id,
                            },
                        }
                    ]
                }
                return Response.json(500, payload, headers={"X-Request-Id": request_id}, shop=shop)
            return Response.json(
                500, {"error": "server_error", "error_description": "Internal Server Error"}
            )
        reason = {"502": "Bad Gateway", "503": "Service Unavailable", "504": "Gateway Timeout"}
        status_code = int(fault.kind)
        html = (
            f"<html><head><title>{status_code} {reason[fault.kind]}</title></head>"
            f"<body><h1>{status_code} {reason[fault.kind]}</h1></body></html>"
        )
        return Response.text(status_code, html, "text/html", shop=shop)


def _graphql_payload(req: Request) -> tuple[str | None, Any, str | None]:
    """``(query, variables, operationName)`` from a JSON or ``application/graphql`` body."""
    if "application/graphql" in (req.header("content-type") or ""):
        return req.body.decode("utf-8", "replace"), None, None
    payload = req.json()
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return None, None, None
    name = payload.get("operationName")
    return payload["query"], payload.get("variables"), name if isinstance(name, str) else None


class ControlAPI:
    """``/_standin/*``: drive the stand-in from another process.

    GET  /_standin/health                      -> {"ok": true, "origin": ...}
    GET  /_standin/shops                       -> {"shops": [summary, ...]}
    POST /_standin/shops                       {domain, name?, email?, currency?,
                                                iana_timezone?, plan?, scopes?} -> 201 summary
    GET  /_standin/shops/{domain}              -> everything the app created in the shop
    POST /_standin/shops/{domain}/customers    {customer_id?, email?, first_name?, last_name?,
                                                tags?, ...} -> 201 customer
    POST /_standin/shops/{domain}/orders       an order payload (payloads.order_payload) -> 201
                                                {id, gid, name, updated_at}; same id replaces
    POST /_standin/shops/{domain}/products     {product_id?, title?, tags?, collections?} -> 201
                                                {id, gid, title, tags, collections}
    GET  /_standin/faults                      -> {"pending": [...]}
    POST /_standin/faults                      {kind, count?, target?, retry_after?, delay?}
    GET  /_standin/requests                    -> {"requests": [...]}
    POST /_standin/reset                       -> clears requests and faults (not shops)
    POST /_standin/session-token               {shop, user_id?, exp_seconds?} -> {"token"}
    POST /_standin/codes                       {shop, scopes?} -> {"code"}
    POST /_standin/expire-token                {token_or_shop} -> {"expired": n}
    POST /_standin/webhooks                    {app_url, topic, shop, payload, webhook_id?,
                                                event_id?, api_version?} -> {"status", "body"}
    """

    def __init__(self, standin: StandIn) -> None:
        self.standin = standin

    def handle(self, req: Request) -> Response:
        try:
            return self._handle(req)
        except (KeyError, ValueError, TypeError) as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
            return Response.json(400, {"error": str(message)})

    def _handle(self, req: Request) -> Response:
        s = self.standin
        path = req.path.removeprefix("/_standin").rstrip("/")
        body = req.json() if req.body else {}
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        route = (req.method, path)
        if route == ("GET", "/health"):
            return Response.json(200, {"ok": True, "origin": s.origin})
        if route == ("GET", "/shops"):
            with s.store.lock:
                return Response.json(200, {"shops": [x.summary() for x in s.store.shops.values()]})
        if route == ("POST", "/shops"):
            domain = body.pop("domain", None) or body.pop("shop", None)
            if not domain:
                raise ValueError("domain is required")
            return Response.json(201, s.add_shop(str(domain), **body).summary())
        shop_match = re.fullmatch(r"/shops/([^/]+)(/customers|/orders|/products)?", path)
        if shop_match and req.method == "GET" and not shop_match[2]:
            with s.store.lock:
                found = s.store.shops.get(shop_match[1].lower())
                if found is None:
                    return Response.json(404, {"error": f"unknown shop {shop_match[1]!r}"})
                return Response.json(200, found.dump())
        if shop_match and req.method == "POST" and shop_match[2] == "/customers":
            return Response.json(201, s.add_customer(shop_match[1], **body))
        if shop_match and req.method == "POST" and shop_match[2] == "/orders":
            return Response.json(201, s.add_order(shop_match[1], body))
        if shop_match and req.method == "POST" and shop_match[2] == "/products":
            return Response.json(201, s.add_product(shop_match[1], **body))
        if route == ("GET", "/faults"):
            return Response.json(200, {"pending": s.faults.pending()})
        if route == ("POST", "/faults"):
            kind = body.pop("kind", None)
            if kind is None:
                raise ValueError("kind is required")
            s.faults.push(str(kind), int(body.pop("count", 1)), **body)
            return Response.json(201, {"pending": s.faults.pending()})
        if route == ("GET", "/requests"):
            return Response.json(200, {"requests": [r.to_dict() for r in s.requests]})
        if route == ("POST", "/reset"):
            s.reset()
            return Response.json(200, {"ok": True})
        if route == ("POST", "/session-token"):
            shop = body.pop("shop")
            return Response.json(200, {"token": s.session_token(shop, **body)})
        if route == ("POST", "/codes"):
            return Response.json(200, {"code": s.issue_code(body["shop"], body.get("scopes"))})
        if route == ("POST", "/expire-token"):
            target = body.get("token_or_shop") or body.get("token") or body.get("shop")
            if not target:
                raise ValueError("token_or_shop is required")
            return Response.json(200, {"expired": s.expire_access_token(str(target))})
        if route == ("POST", "/webhooks"):
            sent = s.send_webhook(
                body.pop("app_url"),
                body.pop("topic"),
                body.pop("shop"),
                body.pop("payload"),
                **body,
            )
            return Response.json(200, {"status": sent.status_code, "body": sent.text})
        return Response.json(404, {"error": f"no control route {req.method} {req.path}"})


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Shopify; every response has a length
    server_version = "ShopifyStandIn/1.0"
    sys_version = ""
    timeout = 30  # idle keep-alive connections are closed after this many seconds

    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    def _serve(self) -> None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._send(Response.json(411, {"errors": "Length Required"}))
            self.close_connection = True
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send(Response.json(400, {"errors": "Bad Content-Length"}))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        path, _, query_string = self.path.partition("?")
        req = Request(self.command, path, query_string, dict(self.headers.items()), body)
        try:
            response = self.server.dispatcher.handle(req)
        except Exception:
            logger.exception("stand-in failed on %s %s", self.command, self.path)
            response = Response.json(500, {"errors": "stand-in internal error; see its log"})
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._connections_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        """Cut idle keep-alive connections so a stopped stand-in really stops answering."""
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return  # the client went away (timeouts, dropped connections): not our problem
        logger.exception("stand-in error serving %s", client_address)


class HTTPServerThread:
    """The listening server and its thread; start/stop are idempotent."""

    def __init__(self, dispatcher: Dispatcher, port: int) -> None:
        self._dispatcher = dispatcher
        self._requested_port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def port(self) -> int | None:
        return self._server.server_address[1] if self._server else None

    def start(self) -> None:
        with self._lock:
            if self._server is not None:
                return
            server = _Server(self._requested_port, self._dispatcher)
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"shopify-standin:{server.server_address[1]}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout)
