"""Shared fakes and fixture libraries for the tests (no tests in here).

Fixtures defined here are registered once, in tests/conftest.py (``pytest_plugins``).
"""
