"""The transport-free conversation engine: text, button presses and attachments in;
replies with text, buttons and files out. Telegram, the console and the tests drive it."""
