"""careloop: what every part of the service shares (settings, wire contract, CLI, API)."""

__version__ = "0.1.0"
