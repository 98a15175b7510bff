"""Telegram adapters only: read the update, call the engine or one service, send the reply."""
