"""Delivery: a Telegram update from getUpdates or the webhook to its replies, exactly once.

See docs/architecture.md for the path and the files.
"""
