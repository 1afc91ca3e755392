"""The merchant's settings for the storefront widget, one row per shop."""

from __future__ import annotations

import secrets

from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from loyalty.shops.models import Shop

COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}\Z", _("Enter a colour as #rrggbb, for example #1f4f46."))
LABEL_MAX = 30


class LauncherPosition(models.TextChoices):
    BOTTOM_RIGHT = "bottom-right", "Bottom right"
    BOTTOM_LEFT = "bottom-left", "Bottom left"


def new_widget_secret() -> str:
    return secrets.token_hex(32)


class WidgetSettings(models.Model):
    """How the widget looks on this shop's storefront. Blank texts fall back to the widget's
    own words (and the program's name); `strings` holds per-language overrides:
    {"ms": {"title": "..."}}, only keys the widget knows (storefront_widget.strings)."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="widget_settings")
    program_name = models.CharField(max_length=60, blank=True)
    primary_color = models.CharField(max_length=7, default="#1f4f46", validators=[COLOUR])
    text_color = models.CharField(max_length=7, default="#1c1c1c", validators=[COLOUR])
    background_color = models.CharField(max_length=7, default="#ffffff", validators=[COLOUR])
    position = models.CharField(
        max_length=16, choices=LauncherPosition.choices, default=LauncherPosition.BOTTOM_RIGHT
    )
    label = models.CharField(max_length=LABEL_MAX, blank=True)
    strings = models.JSONField(default=dict, blank=True)
    # Signs customer tokens for stores outside Shopify (a plain script tag): never shown to
    # shoppers, compared in constant time (storefront_widget.tokens).
    widget_secret = models.CharField(max_length=64, default=new_widget_secret)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"widget settings of {self.shop_id}"
