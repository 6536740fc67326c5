"""careloop models."""
