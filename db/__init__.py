"""Ledger storage: typed SQLAlchemy 2 models, engine/session set-up, migrations."""
