"""The widget's look: colours, launcher place and label, the program name shown, and an
override for every string the widget shows, in each storefront language."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from storefront_widget.models import COLOUR, LABEL_MAX, LauncherPosition, WidgetSettings
from storefront_widget.strings import LOCALES, placeholders, string_keys, widget_strings

STRING_MAX = 200
LANGUAGE_NAMES = {
    "en": _("English"),
    "ms": _("Malay"),
    "ar": _("Arabic"),
    "th": _("Thai"),
}


def string_field_name(locale: str, key: str) -> str:
    return f"s_{locale}_{key}"


class WidgetSettingsForm(forms.Form):
    program_name = forms.CharField(
        label=_("Program name shown"),
        max_length=60,
        required=False,
        help_text=_("Leave empty to show the program's name."),
    )
    primary_color = forms.CharField(
        label=_("Primary colour"),
        validators=[COLOUR],
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    text_color = forms.CharField(
        label=_("Text colour"),
        validators=[COLOUR],
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    background_color = forms.CharField(
        label=_("Background colour"),
        validators=[COLOUR],
        widget=forms.TextInput(attrs={"type": "color"}),
    )
    position = forms.ChoiceField(
        label=_("Launcher position"),
        choices=[
            (LauncherPosition.BOTTOM_RIGHT, _("Bottom right")),
            (LauncherPosition.BOTTOM_LEFT, _("Bottom left")),
        ],
        widget=forms.RadioSelect,
    )
    label = forms.CharField(
        label=_("Launcher label"),
        max_length=LABEL_MAX,
        required=False,
        help_text=_("Leave empty for “Rewards” in the shopper's language."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        defaults = widget_strings()
        for locale in LOCALES:
            for key in string_keys():
                self.fields[string_field_name(locale, key)] = forms.CharField(
                    label=defaults["en"][key],
                    max_length=STRING_MAX,
                    required=False,
                    widget=forms.TextInput(
                        attrs={
                            "placeholder": defaults[locale][key],
                            "lang": locale,
                            "dir": "rtl" if locale == "ar" else "ltr",
                            "data-locale": locale,
                            "data-key": key,
                        }
                    ),
                )

    def clean(self) -> dict:
        cleaned = super().clean()
        defaults = widget_strings()
        for locale in LOCALES:
            for key in string_keys():
                name = string_field_name(locale, key)
                text = (cleaned.get(name) or "").strip()
                cleaned[name] = text
                if not text:
                    continue
                wanted = placeholders(defaults["en"][key])
                if placeholders(text) != wanted:
                    marks = ", ".join(f"{{{mark}}}" for mark in sorted(wanted))
                    self.add_error(
                        name,
                        _("Keep exactly these placeholders: %(marks)s.") % {"marks": marks}
                        if wanted
                        else _("This text takes no placeholders in braces."),
                    )
        return cleaned

    def string_groups(self) -> list[dict]:
        """The string fields by language, for the template."""
        return [
            {
                "locale": locale,
                "name": LANGUAGE_NAMES[locale],
                "fields": [self[string_field_name(locale, key)] for key in string_keys()],
            }
            for locale in LOCALES
        ]

    def look(self) -> dict:
        """The validated values as the settings' fields."""
        data = self.cleaned_data
        return {
            "program_name": data["program_name"].strip(),
            "primary_color": data["primary_color"].lower(),
            "text_color": data["text_color"].lower(),
            "background_color": data["background_color"].lower(),
            "position": data["position"],
            "label": data["label"].strip(),
            "strings": {
                locale: {
                    key: data[string_field_name(locale, key)]
                    for key in string_keys()
                    if data[string_field_name(locale, key)]
                }
                for locale in LOCALES
                if any(data[string_field_name(locale, key)] for key in string_keys())
            },
        }

    @classmethod
    def initial_from(cls, settings: WidgetSettings) -> dict:
        initial = {
            "program_name": settings.program_name,
            "primary_color": settings.primary_color,
            "text_color": settings.text_color,
            "background_color": settings.background_color,
            "position": settings.position,
            "label": settings.label,
        }
        known = set(string_keys())
        for locale, words in (settings.strings or {}).items():
            for key, text in words.items():
                if locale in LOCALES and key in known:
                    initial[string_field_name(locale, key)] = text
        return initial
