"""`{{ text|sync_links }}`: "see sync #3" in a repository's error becomes a link to that sync's report."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()
_SYNC_REF = re.compile(r"sync #(\d{1,12})")


@register.filter
def sync_links(text) -> str:
    escaped = escape(text or "")  # escaped first: the error text may quote tenant code
    return mark_safe(_SYNC_REF.sub(r'<a href="/operators/syncs/\1/">sync #\1</a>', escaped))  # noqa: S308
