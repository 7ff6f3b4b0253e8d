"""Secrets of a tenant (API keys operators declare they need). Values are stored encrypted and never shown back."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.deconstruct import deconstructible

from flowui import crypto
from flowui_runtime.contracts import SECRET_NAME_RULE, secret_name_valid


@deconstructible
class SecretNameValidator:
    """The same rule as an operator's metadata.json `secrets` (flowui_runtime.contracts.secret_name_valid)."""

    message = SECRET_NAME_RULE

    def __call__(self, value) -> None:
        if not secret_name_valid(value):
            raise ValidationError(self.message, code="invalid")

    def __eq__(self, other) -> bool:
        return isinstance(other, SecretNameValidator)


secret_name_validator = SecretNameValidator()


class TenantSecret(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="secrets")
    name = models.CharField(max_length=100, validators=[secret_name_validator])
    value_encrypted = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "tenants"
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="one_secret_name_per_tenant")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} of {self.tenant}"

    @property
    def value(self) -> str:
        return crypto.decrypt(self.value_encrypted)

    @value.setter
    def value(self, value: str) -> None:
        self.value_encrypted = crypto.encrypt(value)
