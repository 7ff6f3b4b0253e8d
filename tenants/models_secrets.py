"""Secrets of a tenant (API keys operators declare they need). Values are stored encrypted and never shown back."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from flowui import crypto

secret_name_validator = RegexValidator(
    r"^[A-Z][A-Z0-9_]{0,99}$", "Use upper-case letters, digits and '_', starting with a letter (e.g. OPENAI_API_KEY)."
)


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
