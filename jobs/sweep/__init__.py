"""The 08:30 enforcement sweep and the CEO daily summary (issue 27)."""
