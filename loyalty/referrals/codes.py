"""Pure helpers: the member's link code, and emails compared as one inbox.

A link code is the member's primary key in base 36 followed by a 10-character HMAC of
(shop, member) under SECRET_KEY: stable, unguessable without the key, verified on the way
back without a table, and another shop's code never verifies. Rotating SECRET_KEY changes
every member's link (old links then answer 404)."""

from __future__ import annotations

import base64

from django.utils.crypto import constant_time_compare, salted_hmac

SIGNATURE_CHARS = 10
_SALT = "setia.referrals.link"
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_GMAIL = {"gmail.com", "googlemail.com"}


def _signature(shop_id: int, member_id: int) -> str:
    digest = salted_hmac(_SALT, f"{shop_id}:{member_id}", algorithm="sha256").digest()
    return base64.b32encode(digest).decode().lower()[:SIGNATURE_CHARS]


def _base36(number: int) -> str:
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = _DIGITS[rest] + out
        if not number:
            return out


def referral_code(*, shop_id: int, member_id: int) -> str:
    return _base36(member_id) + _signature(shop_id, member_id)


def referral_code_member_id(*, shop_id: int, code: str) -> int | None:
    """The member id a code names for this shop, or None when it does not verify."""
    code = (code or "").strip().lower()
    if not (SIGNATURE_CHARS < len(code) <= SIGNATURE_CHARS + 13) or not code.isalnum():
        return None
    head, signature = code[:-SIGNATURE_CHARS], code[-SIGNATURE_CHARS:]
    if not code.isascii():
        return None
    member_id = int(head, 36)
    if not constant_time_compare(signature, _signature(shop_id, member_id)):
        return None
    return member_id


def email_normalised(email: str) -> str:
    """One spelling per inbox: lower case, no `+tag`, and for Gmail no dots in the name."""
    email = (email or "").strip().lower()
    name, at, domain = email.rpartition("@")
    if not at or not name:
        return email
    name = name.split("+", 1)[0]
    if domain in _GMAIL:
        name = name.replace(".", "")
        domain = "gmail.com"
    return f"{name}@{domain}"
