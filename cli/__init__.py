"""Command-line subcommands of bot.py. Each module exposes ``add_parser(subparsers)``,
which registers the subcommand and sets ``func`` to a ``run(args) -> int``."""

# Order is the order shown in --help.
COMMAND_MODULES = (
    "cli.migrate_cmd",
)
