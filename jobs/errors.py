"""The error hierarchy, for the domain and the interface: it lives in `store` (imports point down only)."""
from store.errors import ChatopsError, Conflict, Damaged, ExitCode, Invalid, NotFound, Refused

__all__ = ["ChatopsError", "Conflict", "Damaged", "ExitCode", "Invalid", "NotFound", "Refused"]
