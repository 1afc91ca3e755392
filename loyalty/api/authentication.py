from __future__ import annotations

from dataclasses import dataclass

from rest_framework import authentication, exceptions, throttling

from loyalty.api.models import ApiKey
from loyalty.api.services import api_key_verify


@dataclass(frozen=True)
class ApiClient:
    """Who calls: one merchant's key. DRF's `request.user`; the shop scopes every query."""

    key: ApiKey

    is_authenticated = True

    @property
    def shop(self):
        return self.key.shop

    @property
    def actor(self) -> str:
        return f"api:{self.key.prefix}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer setia_<prefix>_<secret>`."""

    def authenticate(self, request):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise exceptions.NotAuthenticated("Send your API key as `Authorization: Bearer ...`.")
        key = api_key_verify(token=token.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("This API key is unknown or revoked.")
        return ApiClient(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="setia"'


class PerKeyThrottle(throttling.SimpleRateThrottle):
    """Requests per key (settings: REST_FRAMEWORK's DEFAULT_THROTTLE_RATES["api_key"])."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        client = request.user
        if not isinstance(client, ApiClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": client.key.prefix}
