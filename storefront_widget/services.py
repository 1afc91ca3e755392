"""Changes to the widget's settings, each with its audit row in the same transaction."""

from __future__ import annotations

from django.db import transaction

from loyalty.audit.services import audit_record, audit_snapshot
from loyalty.shops.models import Shop
from storefront_widget.models import WidgetSettings, new_widget_secret
from storefront_widget.state import storefront_catalogue_forget

# What a merchant edits (and the audit log shows); never the widget secret.
LOOK_FIELDS = [
    "program_name",
    "primary_color",
    "text_color",
    "background_color",
    "position",
    "label",
    "strings",
]


def widget_settings_update(*, shop: Shop, actor: str, values: dict) -> WidgetSettings:
    """Save the merchant's look (validated `values` of LOOK_FIELDS) and audit what changed."""
    with transaction.atomic():
        WidgetSettings.objects.get_or_create(shop=shop)
        settings = WidgetSettings.objects.select_for_update().get(shop=shop)
        before = audit_snapshot(instance=settings, fields=LOOK_FIELDS)
        for field in LOOK_FIELDS:
            if field in values:
                setattr(settings, field, values[field])
        settings.full_clean(exclude=["shop", "widget_secret"])
        settings.save()
        after = audit_snapshot(instance=settings, fields=LOOK_FIELDS)
        if before != after:
            audit_record(
                shop=shop,
                actor=actor,
                action="widget.update",
                target=settings,
                before=before,
                after=after,
            )
        transaction.on_commit(lambda: storefront_catalogue_forget(shop=shop))
    return settings


def widget_secret_rotate(*, shop: Shop, actor: str) -> WidgetSettings:
    """A new secret for signed customer tokens: tokens signed with the old one stop working."""
    with transaction.atomic():
        WidgetSettings.objects.get_or_create(shop=shop)
        settings = WidgetSettings.objects.select_for_update().get(shop=shop)
        settings.widget_secret = new_widget_secret()
        settings.save(update_fields=["widget_secret", "updated_at"])
        audit_record(shop=shop, actor=actor, action="widget.rotate_secret", target=settings)
    return settings
