"""Use cases shared by Telegram, the console and the CLI: plain values in, domain errors out."""
