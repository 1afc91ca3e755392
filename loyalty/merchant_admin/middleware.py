"""The embedded admin's language.

Shopify opens the app with `?locale=` (the staff member's admin language, e.g. `ms`, `th-TH`);
admin.js keeps it on every link and form it sends and repeats it as Accept-Language, which is
what a redirect followed by `fetch` still carries. Other paths are left alone."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

ADMIN_PREFIX = "/app/"


def admin_language(raw: str) -> str | None:
    """`th-TH`, `ms_MY`, `AR` -> a language the admin speaks, or None."""
    code = raw.strip().replace("_", "-").split("-")[0].lower()
    return code if code in dict(settings.LANGUAGES) else None


def admin_language_of(request) -> str:
    chosen = admin_language(request.GET.get("locale", ""))
    if chosen:
        return chosen
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        chosen = admin_language(code)
        if chosen:
            return chosen
    return settings.LANGUAGE_CODE


class AdminLocaleMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(ADMIN_PREFIX):
            return self.get_response(request)
        language = admin_language_of(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        if "Accept-Language" not in response.get("Vary", ""):
            response["Vary"] = ", ".join(v for v in (response.get("Vary"), "Accept-Language") if v)
        return response
