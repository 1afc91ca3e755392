"""Reads of the widget's settings."""

from __future__ import annotations

from loyalty.shops.models import Program, Shop
from storefront_widget.models import WidgetSettings

COLOUR_FIELDS = ("primary_color", "text_color", "background_color")


def widget_settings_for(*, shop: Shop) -> WidgetSettings:
    """The shop's settings, or the defaults (unsaved) when the merchant never changed them."""
    found = WidgetSettings.objects.filter(shop=shop).first()
    return found if found is not None else WidgetSettings(shop=shop)


def _luminance(colour: str) -> float:
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def readable_on(colour: str) -> str:
    """White or near-black, whichever contrasts more with `colour` (WCAG relative luminance)."""
    light = _luminance(colour)
    on_white = 1.05 / (light + 0.05)
    on_dark = (light + 0.05) / (_luminance("#1c1c1c") + 0.05)
    return "#ffffff" if on_white >= on_dark else "#1c1c1c"


def widget_look(*, settings: WidgetSettings) -> dict:
    """The `widget` part of the state answer: what the widget applies as custom properties,
    its launcher place and label, and the merchant's non-empty string overrides by language."""
    return {
        "primary_color": settings.primary_color,
        "accent_text_color": readable_on(settings.primary_color),
        "text_color": settings.text_color,
        "background_color": settings.background_color,
        "position": settings.position,
        "label": settings.label,
        "strings": {
            locale: {key: text for key, text in words.items() if text}
            for locale, words in (settings.strings or {}).items()
            if any(words.values())
        },
    }


def widget_program_name(*, settings: WidgetSettings, program: Program) -> str:
    return settings.program_name or program.name
