"""flowui.inputs: the one NUL guard and the ValidationError text of the portal pages."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from flowui.inputs import has_nul, validation_error_text, without_nul


def test_it_finds_a_nul_in_any_value_and_treats_none_as_empty():
    assert has_nul("a", None, "b\x00c")
    assert not has_nul("a", None, "", "b")
    assert not has_nul()


def test_it_removes_nul_strips_and_cuts_a_search_term():
    assert without_nul("  a\x00b \x00") == "ab"
    assert without_nul(None) == ""
    assert without_nul("x" * 300 + "\x00", max_chars=200) == "x" * 200


def test_it_joins_the_messages_of_a_field_or_plain_validation_error():
    assert validation_error_text(ValidationError({"slug": ["Bad slug."], "url": "Bad URL."})) == "Bad slug. Bad URL."
    assert validation_error_text(ValidationError(["One.", "Two."])) == "One. Two."
