"""Operator registry models (public schema)."""
