"""Pure text -> structured intent. No Telegram, no database session in here."""
