"""Exporters: one module per consumer format."""
