"""A new tenant's owner, chosen by platform staff: an existing user (username or e-mail), or an e-mail that
creates a user with an unusable password, who sets one through a password-reset link."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tenants.models import Role, Tenant
from tenants.services import membership_set


def owner_lookup(*, identifier: str):
    """(existing user or None, e-mail to create one with or ""); ValidationError naming the problem."""
    identifier = (identifier or "").strip()
    users = get_user_model().objects
    if not identifier:
        raise ValidationError("Give the owner: an existing user's username or e-mail, or a new e-mail address.")
    if "@" not in identifier:
        user = users.filter(username=identifier).first()
        if user is None:
            raise ValidationError(f"No user {identifier!r}; give an e-mail address to create one.")
        return user, ""
    try:
        validate_email(identifier)
    except ValidationError:
        raise ValidationError(f"{identifier!r} is not an e-mail address.") from None
    matches = list(users.filter(email__iexact=identifier)[:2])
    if len(matches) > 1:
        raise ValidationError(f"Several users have the e-mail {identifier!r}; give the username instead.")
    return (matches[0], "") if matches else (None, identifier.lower())


@transaction.atomic
def tenant_owner_set(*, tenant: Tenant, identifier: str) -> tuple[object, bool]:
    """Make the user named by `identifier` the tenant's owner; (user, created). A created user has an
    unusable password (see `password_reset_path`)."""
    user, email = owner_lookup(identifier=identifier)
    created = user is None
    if created:
        model = get_user_model()
        base = email.split("@", 1)[0][:120] or "owner"
        username, n = base, 2
        while model.objects.filter(username=username).exists():
            username, n = f"{base}{n}", n + 1
        user = model(username=username, email=email)
        user.set_unusable_password()
        user.save()
    membership_set(user=user, tenant=tenant, role=Role.OWNER)
    return user, created


def password_reset_path(*, user) -> str:
    """The path of the page where `user` sets a password (Django's token: one use, expires with
    PASSWORD_RESET_TIMEOUT)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return f"/reset/{uid}/{default_token_generator.make_token(user)}/"
