"""A temporary home with Claude Code's folder and a config whose export reads it (tests/export's)."""
from tests.export.conftest import home  # noqa: F401  (the fixture, shared)
