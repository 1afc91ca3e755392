"""How the analytics page writes numbers: grouped integers, money with 2 decimals and the
shop's currency, ratios as percentages; a figure that cannot be computed shows as a dash."""

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()

DASH = "\u2014"


@register.filter
def count(value) -> str:
    if value is None:
        return DASH
    return number_format(value, decimal_pos=0, force_grouping=True)


@register.filter
def money(value, currency: str = "") -> str:
    if value is None:
        return DASH
    amount = Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP)
    text = number_format(amount, decimal_pos=2, force_grouping=True)
    return f"{text} {currency}".strip()


@register.filter
def percent(value) -> str:
    """A fraction (0.1234) as a percentage with one decimal (12.3 %)."""
    if value is None:
        return DASH
    shown = (Decimal(value) * 100).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{number_format(shown, decimal_pos=1)}\u00a0%"


@register.filter
def point_money(value) -> str:
    """A point's money value: as precise as it is (0.006667), at least 2 decimals (0.05)."""
    if value is None:
        return DASH
    amount = Decimal(value).normalize()
    places = max(-amount.as_tuple().exponent, 2)
    return number_format(amount, decimal_pos=places)
