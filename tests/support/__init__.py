"""Test support: fixtures (loaded as plugins by tests/conftest.py), builders and shared worlds."""
