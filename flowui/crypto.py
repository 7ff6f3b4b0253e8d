"""Symmetric encryption for credentials kept in the database (Fernet, key from settings)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class DecryptionError(Exception):
    """The stored value was encrypted with another key or was tampered with."""


def _fernet() -> Fernet:
    digest = hashlib.sha256(settings.FLOWUI_ENCRYPTION_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("stored credential cannot be decrypted with FLOWUI_ENCRYPTION_KEY") from None
