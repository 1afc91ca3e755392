"""The import pages' forms: the upload, and the mapping the merchant confirms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from loyalty.imports import parsing
from loyalty.imports.models import ImportMode
from loyalty.imports.services import MAX_FILE_BYTES

ROLE_LABELS = {
    parsing.EMAIL: _("Email"),
    parsing.CUSTOMER_ID: _("Store customer id"),
    parsing.POINTS: _("Points balance"),
    parsing.FIRST_NAME: _("First name"),
    parsing.LAST_NAME: _("Last name"),
    parsing.FULL_NAME: _("Full name (split at the first space)"),
    parsing.BIRTHDAY: _("Birthday"),
    parsing.TIER: _("Tier"),
    parsing.POINTS_SPENT: _("Points spent (shown, not imported)"),
    parsing.POINTS_PENDING: _("Points pending (shown, not imported)"),
    parsing.ENROLLED: _("Enrolled on (new members)"),
}
IGNORE = "ignore"
MAX_TIER_NAMES = 50


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Exported from Smile.io, LoyaltyLion, Yotpo, Rivo, Growave, BON or Joy, or any CSV "
            "with an email or customer id and points (UTF-8, comma or semicolon separated)."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(size)s MB.") % {"size": MAX_FILE_BYTES // 2**20}
            )
        return upload


def _role_field_name(role: str) -> str:
    return f"column_{role}"


class MappingForm(forms.Form):
    """Which column is what, the mode, and what the file's tier names become.

    Built with the file's column labels, the tier names found in the tier column, and the
    shop's tiers; each tier name is one field (`tier_0`, `tier_1`... labelled with the name)."""

    source = forms.ChoiceField(label=_("Exported from"))
    has_header = forms.BooleanField(label=_("The first row is a header"), required=False)
    mode = forms.ChoiceField(
        label=_("Balances in the file"),
        choices=[
            (ImportMode.ADD, _("Add them to the members' current balances")),
            (ImportMode.REPLACE, _("Replace the members' current balances with them")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether the file adds to or replaces balances.")},
    )

    def __init__(self, *args, columns: list[str], tier_names: list[str], tiers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = [(p.key, p.label) for p in parsing.PRESETS.values()]
        column_choices = [("", _("Not imported"))] + [(str(i), c) for i, c in enumerate(columns)]
        for role in parsing.ROLES:
            self.fields[_role_field_name(role)] = forms.ChoiceField(
                label=ROLE_LABELS[role], choices=column_choices, required=False
            )
        self.tier_names = tier_names[:MAX_TIER_NAMES]
        tier_choices = [("", _("Choose")), (IGNORE, _("Ignore this tier name"))] + [
            (str(tier.pk), tier.name) for tier in tiers
        ]
        by_name = {tier.name.lower(): str(tier.pk) for tier in tiers}
        for index, name in enumerate(self.tier_names):
            self.fields[f"tier_{index}"] = forms.ChoiceField(
                label=name,
                choices=tier_choices,
                initial=by_name.get(name.lower(), ""),
                error_messages={"required": _("Choose a Setia tier, or ignore this name.")},
            )
        self.too_many_tier_names = len(tier_names) > MAX_TIER_NAMES

    def role_fields(self):
        return [self[_role_field_name(role)] for role in parsing.ROLES]

    def tier_fields(self):
        return [self[f"tier_{index}"] for index in range(len(self.tier_names))]

    def clean(self):
        cleaned = super().clean()
        mapping = self.mapping()
        if mapping[parsing.EMAIL] is None and mapping[parsing.CUSTOMER_ID] is None:
            self.add_error(
                _role_field_name(parsing.EMAIL),
                _("Choose the column with the email or the store customer id."),
            )
        if mapping[parsing.POINTS] is None and mapping[parsing.TIER] is None:
            self.add_error(
                _role_field_name(parsing.POINTS), _("Choose the column with the points or a tier.")
            )
        used: dict[int, str] = {}
        for role, index in mapping.items():
            if index is None:
                continue
            if index in used:
                self.add_error(
                    _role_field_name(role),
                    _("This column is already imported as “%(other)s”.")
                    % {"other": ROLE_LABELS[used[index]]},
                )
            used.setdefault(index, role)
        if self.too_many_tier_names:
            self.add_error(
                _role_field_name(parsing.TIER),
                _("More than %(count)s tier names: is this the tier column?")
                % {"count": MAX_TIER_NAMES},
            )
        return cleaned

    def mapping(self) -> dict[str, int | None]:
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return {
            role: int(data[_role_field_name(role)]) if data.get(_role_field_name(role)) else None
            for role in parsing.ROLES
        }

    def tier_map(self) -> dict[str, int | None]:
        result: dict[str, int | None] = {}
        for index, name in enumerate(self.tier_names):
            choice = self.cleaned_data.get(f"tier_{index}")
            result[name.lower()] = None if choice == IGNORE else int(choice)
        return result


def mapping_initial(job, *, source: str | None = None, table=None) -> dict:
    """The form's starting values: the job's mapping, or a preset's proposal."""
    mapping = job.mapping
    has_header = job.has_header
    if source is not None and table is not None:
        preset = parsing.PRESETS[source]
        mapping = parsing.propose_mapping(preset=preset, table=table, has_header=has_header)
    initial = {
        "source": source or job.source,
        "has_header": has_header,
        "mode": job.mode or None,
    }
    for role in parsing.ROLES:
        index = mapping.get(role)
        initial[_role_field_name(role)] = "" if index is None else str(index)
    return initial


def posted_tier_column(data, *, fallback: int | None) -> int | None:
    """The tier column as posted (the tier-name fields follow it), else the saved one."""
    if data is None:
        return fallback
    raw = data.get(_role_field_name(parsing.TIER), "")
    return int(raw) if raw.isdigit() else None
