"""Command declarations, one module per area (see chatops/registry.py)."""
