"""The analytics page: figures over a chosen period, read from the daily roll-ups."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from loyalty.platforms.shopify.embedded import embedded_admin


@embedded_admin
def analytics_page(request: HttpRequest) -> HttpResponse:
    return render(request, "merchant_admin/analytics/page.html", {"shop": request.shop})
