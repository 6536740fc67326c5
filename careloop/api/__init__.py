"""The HTTP API: ``create_app(settings)`` builds the FastAPI app."""

from careloop.api.app import create_app

__all__ = ["create_app"]
