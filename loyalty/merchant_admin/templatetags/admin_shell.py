"""`{% load admin_shell %}` in base.html: what the layout needs from the request."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.translation import get_language

from loyalty.merchant_admin.forms import MEMBER_STATUS_LABELS
from loyalty.merchant_admin.shell import app_bridge_url, navigation

register = template.Library()


@register.simple_tag(takes_context=True)
def admin_shell(context) -> dict:
    request = context.get("request")
    shop = getattr(request, "shop", None)
    program = getattr(shop, "program", None) if shop is not None else None
    match = getattr(request, "resolver_match", None)
    language = get_language() or settings.LANGUAGE_CODE
    return {
        "shop": shop,
        "program_name": program.name if program is not None else "",
        "navigation": navigation(
            current_url_name=(match.url_name or "") if match else "", language=language
        ),
        "app_bridge_url": app_bridge_url(),
        "api_key": settings.SHOPIFY_API_KEY,
        "language": language,
    }


@register.filter
def member_name(member) -> str:
    """The name to show for a member: full name, else email, else customer id."""
    full = f"{member.first_name} {member.last_name}".strip()
    return full or member.email or member.platform_customer_id


@register.filter
def member_status(member) -> str:
    return str(MEMBER_STATUS_LABELS.get(member.status, member.status))
