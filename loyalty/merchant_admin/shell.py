"""The admin's frame around every page: navigation, App Bridge, the program's name."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

SHOPIFY_APP_BRIDGE = "https://cdn.shopify.com/shopifycloud/app-bridge.js"
# Where the local Shopify stand-in serves its App Bridge (loyalty/platforms/shopify/standin/
# app_bridge.py SCRIPT_PATH); not imported, so production never loads the stand-in.
STANDIN_APP_BRIDGE_PATH = "/admin/apps/shopifycloud/app-bridge.js"

# (url name, label) in the order the navigation shows them; areas not built yet are skipped.
NAVIGATION = (
    ("admin-home", _("Home")),
    ("admin-members", _("Members")),
    ("admin-program", _("Program")),
    ("admin-widget", _("Widget")),
    ("admin-imports", _("Import and export")),
    ("admin-analytics", _("Analytics")),
    ("admin-operations", _("Operations")),
)


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str
    href: str
    current: bool


def _is_local(origin: str) -> bool:
    host = urlsplit(origin).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def app_bridge_url() -> str:
    """APP_BRIDGE_URL when set; the stand-in's copy when the Shopify origin is the local
    stand-in; otherwise Shopify's CDN."""
    if settings.APP_BRIDGE_URL:
        return settings.APP_BRIDGE_URL
    origin = settings.SHOPIFY_API_ORIGIN
    if origin and _is_local(origin):
        return f"{origin}{STANDIN_APP_BRIDGE_PATH}"
    return SHOPIFY_APP_BRIDGE


def with_locale(url: str, language: str) -> str:
    """Keep the admin's language on a link (Shopify only passes it on the first load)."""
    if not language or language == settings.LANGUAGE_CODE:
        return url
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}{urlencode({'locale': language})}"


def reverse_if_defined(url_name: str) -> str | None:
    """The page's address, or None while its area has not defined it yet."""
    try:
        return reverse(url_name)
    except NoReverseMatch:
        return None


def navigation(*, current_url_name: str, language: str) -> list[NavItem]:
    items = []
    for url_name, label in NAVIGATION:
        href = reverse_if_defined(url_name)
        if href is None:
            continue
        area = url_name.removeprefix("admin-")
        current = current_url_name == url_name or (
            url_name != "admin-home" and current_url_name.startswith(f"admin-{area}-")
        )
        items.append(NavItem(url_name, str(label), with_locale(href, language), current))
    return items


def theme_editor_url(*, shop_domain: str) -> str:
    """The theme editor with Setia's app embed switched on, ready to save."""
    return (
        f"https://{shop_domain}/admin/themes/current/editor?context=apps"
        f"&activateAppId={settings.SHOPIFY_API_KEY}/setia-launcher"
    )
