"""Shopify's OAuth endpoints: ``/admin/oauth/authorize`` (auto-approves) and the token endpoint.

The token endpoint serves three grants exactly as shopify_app 1.0.2 sends them (JSON body;
form bodies are accepted too, as Shopify does): authorization code, token exchange (session
token -> access token) and refresh. Errors use Shopify's OAuth error bodies and statuses, which
shopify_app maps to its result codes (``invalid_subject_token``, ``invalid_grant``...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt

from .signing import SHOP_DOMAIN_RE, decode_session_token, host_param, sign_oauth_query
from .state import AccessToken, RefreshToken, Store, granted_scope_string, normalize_scopes
from .wire import Request, Response

# OAuth protocol identifiers (not secrets, hence the S105 waivers).
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105
ID_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:id_token"  # noqa: S105
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"  # noqa: S105
ONLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:online-access-token"  # noqa: S105
SCOPE_RE = re.compile(r"^(unauthenticated_|customer_)?(read|write)_[a-z_]+$")


@dataclass(frozen=True)
class AppConfig:
    api_key: str
    api_secret: str
    redirect_urls: tuple[str, ...] | None = None  # None: any http(s) redirect_uri is accepted


def _oauth_error(status: int, error: str, description: str, shop: str | None = None) -> Response:
    return Response.json(status, {"error": error, "error_description": description}, shop=shop)


def _staff_user(shop_domain: str, user_id: str) -> dict[str, Any]:
    """The ``associated_user`` of an online token (token exchange uses the JWT ``sub``)."""
    numeric = int(user_id) if str(user_id).isdigit() else 1
    return {
        "id": numeric,
        "first_name": "Staff",
        "last_name": f"Member {numeric}",
        "email": f"staff{numeric}@{shop_domain.removesuffix('.myshopify.com')}.example",
        "account_owner": numeric == 1,
        "locale": "en",
        "collaborator": False,
        "email_verified": True,
    }


def token_body(access: AccessToken, refresh: RefreshToken | None) -> dict[str, Any]:
    """Shopify's token response. Lifetimes are reported one second short (3599, 7775999)."""
    now = access.created_at
    body: dict[str, Any] = {
        "access_token": access.token,
        "scope": granted_scope_string(access.scopes),
    }
    if access.expires_at is not None:
        body["expires_in"] = max(0, int(access.expires_at - now) - 1)
    if access.online:
        body["associated_user_scope"] = body["scope"]
        body["associated_user"] = access.user
    if refresh is not None:
        body["refresh_token"] = refresh.token
        body["refresh_token_expires_in"] = max(0, int(refresh.expires_at - now) - 1)
    return body


# -- GET /admin/oauth/authorize ----------------------------------------------------------------
def authorize(store: Store, app: AppConfig, req: Request) -> Response:
    """Auto-approve and redirect to ``redirect_uri`` with a signed code, as Shopify does."""
    domain = req.host_shop or (req.arg("shop") or "").strip().lower() or None
    if req.arg("client_id") != app.api_key:
        return Response.text(
            400,
            "Oauth error invalid_request: Could not find Shopify API application with api_key "
            f"{req.arg('client_id') or ''}",
            shop=domain,
        )
    if domain is None or domain not in store.shops:
        return Response.text(404, f"Shop {domain or '(none)'} not found; add it to the stand-in")
    redirect_uri = req.arg("redirect_uri") or ""
    parts = urlsplit(redirect_uri)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return Response.text(
            400, "Oauth error invalid_request: The redirect_uri is missing or invalid", shop=domain
        )
    if app.redirect_urls is not None and redirect_uri not in app.redirect_urls:
        return Response.text(
            400,
            "Oauth error invalid_request: The redirect_uri is not whitelisted",
            shop=domain,
        )
    requested = normalize_scopes(req.arg("scope"))
    bad = [s for s in requested if not SCOPE_RE.match(s)]
    if bad:
        return Response.text(
            400, f"Oauth error invalid_scope: The access scope is invalid: {bad[0]}", shop=domain
        )
    online = "per-user" in (req.query_lists.get("grant_options[]") or [])
    code = store.issue_code(domain, requested or None, online)
    params: dict[str, Any] = {"code": code, "host": host_param(domain), "shop": domain}
    if req.arg("state") is not None:
        params["state"] = req.arg("state")
    params["timestamp"] = str(int(store.now()))
    signed = sign_oauth_query(params, app.api_secret)
    ordered = {k: signed[k] for k in sorted(signed)}
    separator = "&" if parts.query else "?"
    location = f"{redirect_uri}{separator}{urlencode(ordered)}"
    return Response(302, b"", {"Location": location}, shop=domain)


# -- POST /admin/oauth/access_token ------------------------------------------------------------
def _form(req: Request) -> dict[str, str] | None:
    """JSON or form-encoded body merged over the query string; values as strings."""
    merged: dict[str, str] = {k: v[-1] for k, v in req.query_lists.items()}
    content_type = (req.header("content-type") or "").lower()
    if "json" in content_type:
        payload = req.json()
        if not isinstance(payload, dict):
            return None
        merged.update({k: "" if v is None else str(v) for k, v in payload.items()})
    elif req.body:
        try:
            text = req.body.decode()
        except UnicodeDecodeError:
            return None
        merged.update({k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()})
    return merged


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true")


def access_token(store: Store, app: AppConfig, req: Request) -> Response:
    form = _form(req)
    if form is None:
        return _oauth_error(400, "invalid_request", "The request body could not be parsed.")
    if form.get("client_id") != app.api_key or form.get("client_secret") != app.api_secret:
        return _oauth_error(
            401,
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication "
            "included, or unsupported authentication method.",
            req.host_shop,
        )
    grant = form.get("grant_type") or "authorization_code"
    if grant == "authorization_code":
        return _code_grant(store, req, form)
    if grant == TOKEN_EXCHANGE_GRANT:
        return _token_exchange(store, app, req, form)
    if grant == "refresh_token":
        return _refresh(store, req, form)
    return _oauth_error(
        400, "unsupported_grant_type", f"The grant type {grant!r} is not supported."
    )


def _code_grant(store: Store, req: Request, form: dict[str, str]) -> Response:
    entry = store.redeem_code(form.get("code") or "", req.host_shop)
    if entry is None:
        return _oauth_error(
            400,
            "invalid_request",
            "The authorization code was not found or was already used",
            req.host_shop,
        )
    user = _staff_user(entry.shop, "1") if entry.online else None
    with store.lock:
        access, refresh = store.issue_access_token(
            entry.shop,
            entry.scopes,
            online=entry.online,
            expiring=_truthy(form.get("expiring")),
            user=user,
        )
        return Response.json(200, token_body(access, refresh), shop=entry.shop)


def _token_exchange(store: Store, app: AppConfig, req: Request, form: dict[str, str]) -> Response:
    if form.get("subject_token_type") != ID_TOKEN_TYPE:
        return _oauth_error(400, "invalid_request", "subject_token_type must be an id_token.")
    requested = form.get("requested_token_type")
    if requested not in (OFFLINE_TOKEN_TYPE, ONLINE_TOKEN_TYPE):
        return _oauth_error(400, "invalid_request", "requested_token_type is not supported.")

    def invalid(why: str, shop: str | None = None) -> Response:
        return _oauth_error(400, "invalid_subject_token", why, shop or req.host_shop)

    try:
        claims = decode_session_token(
            form.get("subject_token") or "",
            api_key=app.api_key,
            secret=app.api_secret,
            now=store.now(),
        )
    except jwt.InvalidTokenError as exc:
        return invalid(f"The subject token is invalid: {exc}")
    domain = str(claims.get("dest", "")).removeprefix("https://").lower()
    if not SHOP_DOMAIN_RE.match(domain) or domain not in store.shops:
        return invalid("The subject token's dest is not a known shop.")
    if claims.get("iss") != f"https://{domain}/admin":
        return invalid("The subject token is not exchangeable (iss must be the shop's admin).")
    if req.host_shop is not None and req.host_shop != domain:
        return invalid("The subject token was issued for another shop.", domain)
    online = requested == ONLINE_TOKEN_TYPE
    with store.lock:
        shop = store.shops[domain]
        access, refresh = store.issue_access_token(
            domain,
            shop.scopes,
            online=online,
            expiring=_truthy(form.get("expiring")),
            user=_staff_user(domain, str(claims.get("sub", "1"))) if online else None,
        )
        return Response.json(200, token_body(access, refresh), shop=domain)


def _refresh(store: Store, req: Request, form: dict[str, str]) -> Response:
    entry = store.use_refresh_token(form.get("refresh_token") or "", req.host_shop)
    if entry is None:
        return _oauth_error(
            400,
            "invalid_grant",
            "The refresh token is invalid, expired, or has been revoked.",
            req.host_shop,
        )
    with store.lock:
        access, refresh = store.issue_access_token(
            entry.shop, entry.scopes, online=False, expiring=True, parent_refresh=entry.token
        )
        return Response.json(200, token_body(access, refresh), shop=entry.shop)
