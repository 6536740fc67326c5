"""careloop edge."""
