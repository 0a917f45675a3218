"""Jenkins controller stand-in (sandbox only, never shipped)."""
