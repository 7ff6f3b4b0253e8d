"""What the portal and the API do with text a user sent, in one place: the NUL guard (PostgreSQL rejects NUL in
text, so a value carrying one is refused or has it removed before any query) and the text of a ValidationError
for a page. `flowui_runtime` keeps its own check (it imports nothing of the platform)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

NUL = "\x00"


def has_nul(*values: str | None) -> bool:
    """True when any of the values contains a NUL character (None counts as empty)."""
    return any(NUL in value for value in values if value)


def without_nul(value: str | None, *, max_chars: int | None = None) -> str:
    """The value with its NUL characters removed and surrounding whitespace stripped (a search or filter term),
    cut to max_chars when given; None is empty."""
    text = (value or "").replace(NUL, "").strip()
    return text if max_chars is None else text[:max_chars]


def validation_error_text(exc: ValidationError) -> str:
    """A ValidationError's messages as one line for a page (field names left out: each message names its problem)."""
    if hasattr(exc, "error_dict"):
        return " ".join(f"{m}" for msgs in exc.message_dict.values() for m in msgs)
    return " ".join(exc.messages)
