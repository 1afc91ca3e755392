"""The widget's look (issue 7 item 3): a form and a live preview of the real, built widget."""

from __future__ import annotations

import base64
import json

from django.conf import settings as django_settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from loyalty.merchant_admin.pages import request_actor
from loyalty.merchant_admin.widget.forms import WidgetSettingsForm
from loyalty.platforms.shopify.embedded import embedded_admin
from storefront_widget.selectors import widget_look, widget_settings_for
from storefront_widget.services import widget_secret_rotate, widget_settings_update
from storefront_widget.state import storefront_state

SAMPLE_BALANCE = 1250


def preview_state(*, shop, settings) -> dict:
    """The shop's real catalogue (rules, rewards, tiers) as a sample member with
    SAMPLE_BALANCE points sees it, in `settings`' look: what the preview widget is fed."""
    state = storefront_state(shop=shop, platform_customer_id=None)
    state["program"] = {**state["program"], "name": settings.program_name or shop.program.name}
    state["widget"] = widget_look(settings=settings)
    state["rewards"] = [
        {
            **reward,
            "available": reward["points_cost"] <= SAMPLE_BALANCE,
            "locked_reason": "points" if reward["points_cost"] > SAMPLE_BALANCE else None,
            "points_needed": max(0, reward["points_cost"] - SAMPLE_BALANCE),
        }
        for reward in state["rewards"]
    ]
    tiers = state["tiers"]
    reached = [tier for tier in tiers if float(tier["threshold"]) <= SAMPLE_BALANCE]
    ahead = [tier for tier in tiers if float(tier["threshold"]) > SAMPLE_BALANCE]
    state["customer"] = {
        "id": "preview",
        "points": {"balance": SAMPLE_BALANCE, "pending": 0, "lifetime_earned": SAMPLE_BALANCE},
        "tier": reached[-1] if reached else None,
        "next_tier": (
            {
                "name": ahead[0]["name"],
                "threshold": ahead[0]["threshold"],
                "remaining": float(ahead[0]["threshold"]) - SAMPLE_BALANCE,
                "basis": "points_earned",
            }
            if ahead
            else None
        ),
        "recent_redemptions": [],
    }
    return state


def data_url(value: dict) -> str:
    encoded = base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    return f"data:application/json;base64,{encoded}"


@embedded_admin
@require_http_methods(["GET", "POST"])
def widget_settings(request: HttpRequest) -> HttpResponse:
    shop = request.shop
    settings = widget_settings_for(shop=shop)
    status = 200
    if request.method == "POST":
        form = WidgetSettingsForm(request.POST)
        if form.is_valid():
            widget_settings_update(
                shop=shop,
                actor=request_actor(request),
                values=form.look(),
            )
            return HttpResponseRedirect(f"{reverse('admin-widget')}?saved=1", status=303)
        status = 400
    else:
        form = WidgetSettingsForm(initial=WidgetSettingsForm.initial_from(settings))
    sample = preview_state(shop=shop, settings=settings)
    return render(
        request,
        "merchant_admin/widget/settings.html",
        {
            "form": form,
            "saved": request.method == "GET" and request.GET.get("saved") == "1",
            "sample_state": sample,
            "sample_state_url": data_url(sample),
            "program_name": shop.program.name,
            "widget_secret": settings.widget_secret if settings.pk else "",
            "app_url": django_settings.APP_URL.rstrip("/"),
            "shop_domain": shop.domain,
        },
        status=status,
    )


@embedded_admin
@require_http_methods(["POST"])
def widget_secret_new(request: HttpRequest) -> HttpResponse:
    """A new secret for stores outside Shopify: tokens signed with the old one stop working."""
    widget_secret_rotate(shop=request.shop, actor=request_actor(request))
    return HttpResponseRedirect(f"{reverse('admin-widget')}?secret=new#script-tag", status=303)
