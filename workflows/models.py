"""Workflow models (tenant schema)."""
