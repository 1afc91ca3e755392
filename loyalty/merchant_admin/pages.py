"""What every admin page of every area shares: the view decorator, the acting staff member and
the post/redirect/get answer."""

from __future__ import annotations

from functools import wraps
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from loyalty.audit.services import staff_actor
from loyalty.platforms.shopify.embedded import embedded_admin


def admin_view(methods=("GET",)):
    """An admin page: the session token verified (`embedded_admin`), only these methods, and
    dates shown and read in the shop's timezone."""

    def decorate(view):
        @embedded_admin
        @require_http_methods(list(methods))
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                zone = ZoneInfo(request.shop.iana_timezone)
            except (KeyError, ValueError):
                zone = ZoneInfo("UTC")
            with timezone.override(zone):
                return view(request, *args, **kwargs)

        return wrapper

    return decorate


def request_actor(request: HttpRequest) -> str:
    """The staff member making the request, as the audit log names them."""
    return staff_actor(user_id=request.shopify_user_id)


def see_other(name: str, *args, query: str = "") -> HttpResponseRedirect:
    """Post/redirect/get to the named page: 303, so the browser (and fetch) follows with a GET."""
    response = HttpResponseRedirect(reverse(name, args=args) + (f"?{query}" if query else ""))
    response.status_code = 303
    return response
