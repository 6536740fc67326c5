"""careloop alerts."""
