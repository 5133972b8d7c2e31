"""The one error hierarchy (`store.errors`), re-exported for `jobs` and `chatops`.

Defined in `store` so that store errors belong to it without importing upwards; code above `store` imports
it from here.
"""
from store.errors import ChatopsError, Conflict, Damaged, ExitCode, Invalid, NotFound, Refused

__all__ = ["ChatopsError", "Conflict", "Damaged", "ExitCode", "Invalid", "NotFound", "Refused"]
