"""Keyset pagination: the next page starts after the last row seen (its sort value and id),
never at an OFFSET, so a deep page costs what the first one does when an index matches the
order. The cursor is opaque to the merchant (base64 of JSON) and only ever narrows a query
already scoped to the shop, so a tampered one can at worst show the shop's own rows."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet


@dataclass(frozen=True)
class Cursor:
    value: Any
    pk: int
    in_nulls: bool  # past the rows with a value, among those without one


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None


def cursor_encode(*, value: Any, pk: int, in_nulls: bool = False) -> str:
    if hasattr(value, "isoformat"):
        value = value.isoformat()
    raw = json.dumps([value, pk, in_nulls], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(raw: str | None, *, queryset: QuerySet, field: str) -> Cursor | None:
    """The cursor, or None (the first page) when it is missing or not one of ours."""
    if not raw or len(raw) > 200:
        return None
    try:
        value, pk, in_nulls = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        model_field = queryset.model._meta.get_field(field)
        value = None if in_nulls else model_field.to_python(value)
    except (ValueError, TypeError, binascii.Error, ValidationError):
        return None
    if not isinstance(pk, int) or isinstance(pk, bool) or not isinstance(in_nulls, bool):
        return None
    if value is None and not in_nulls:
        return None
    return Cursor(value=value, pk=pk, in_nulls=in_nulls)


def _after(field: str, *, descending: bool, id_descending: bool, cursor: Cursor) -> Q:
    # `field <= v` (or >=) is redundant with the OR, but it is what lets the index range start
    # at the cursor instead of filtering every row before it.
    bound, strict = ("lte", "lt") if descending else ("gte", "gt")
    id_strict = "lt" if id_descending else "gt"
    return Q(**{f"{field}__{bound}": cursor.value}) & (
        Q(**{f"{field}__{strict}": cursor.value})
        | Q(**{field: cursor.value, f"pk__{id_strict}": cursor.pk})
    )


def keyset_page(
    queryset: QuerySet,
    *,
    field: str,
    after: str | None,
    size: int,
    descending: bool = True,
    id_descending: bool | None = None,
    nullable: bool = False,
) -> Page:
    """One page of `queryset` ordered by `field` then id, after the cursor `after`.

    `id_descending` (default: as `field`) follows the index's direction for the id, so that a
    scan of that index (forward or backward) yields the order. With `nullable`, rows without a
    value come last, by id, whichever the direction."""
    id_descending = descending if id_descending is None else id_descending
    cursor = cursor_decode(after, queryset=queryset, field=field)
    id_order = "-pk" if id_descending else "pk"
    items: list = []
    if cursor is None or not cursor.in_nulls:
        with_value = queryset.filter(**{f"{field}__isnull": False}) if nullable else queryset
        if cursor is not None:
            with_value = with_value.filter(
                _after(field, descending=descending, id_descending=id_descending, cursor=cursor)
            )
        order = F(field).desc() if descending else F(field).asc()
        items = list(with_value.order_by(order, id_order)[: size + 1])
    if nullable and len(items) <= size:
        without = queryset.filter(**{f"{field}__isnull": True})
        if cursor is not None and cursor.in_nulls:
            without = without.filter(**{f"pk__{'lt' if id_descending else 'gt'}": cursor.pk})
        items += list(without.order_by(id_order)[: size + 1 - len(items)])
    if len(items) <= size:
        return Page(items=items, next_cursor=None)
    items = items[:size]
    last = items[-1]
    value = getattr(last, field)
    return Page(
        items=items,
        next_cursor=cursor_encode(value=value, pk=last.pk, in_nulls=value is None),
    )
