"""Block Kit and plain-text rendering of Notices: records in, payloads out, no policy decided here."""
