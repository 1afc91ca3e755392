"""Secrets at rest: a text field encrypted with Fernet (AES-128-CBC + HMAC-SHA256).

`FIELD_ENCRYPTION_KEY` holds one or more comma-separated keys; the first encrypts and all
decrypt, so keys can be rotated by prepending a new one and re-saving rows.
"""

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@cache
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY must be 32 url-safe base64-encoded bytes (a Fernet key)."
        ) from exc


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.FIELD_ENCRYPTION_KEYS))


class EncryptedTextField(models.TextField):
    """Stores ciphertext; Python code sees plaintext. Not searchable or orderable by value."""

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return cipher().encrypt(value.encode()).decode()

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return value
        try:
            return cipher().decrypt(value.encode()).decode()
        except InvalidToken as exc:
            raise ImproperlyConfigured(
                "An encrypted value could not be decrypted: FIELD_ENCRYPTION_KEY does not hold "
                "the key it was written with."
            ) from exc
