"""Test-only helpers kept out of conftest.py so fixtures stay short and readable."""
