"""Command-line subcommands of bot.py. Each module exposes ``add_parser(subparsers)``,
which registers the subcommand and sets ``func`` to a ``run(args) -> int``."""

# Order is the order shown in --help: first steps, daily use, administration, operations.
COMMAND_MODULES = (
    "cli.demo_cmd",
    "cli.init_cmd",
    "cli.console_cmd",
    "cli.run_cmd",
    "cli.import_cmd",
    "cli.export_cmd",
    "cli.parse_cmd",
    "cli.learn_cmd",
    "cli.digest_cmd",
    "cli.invite_cmd",
    "cli.users_cmd",
    "cli.check_cmd",
    "cli.backup_cmd",
    "cli.migrate_cmd",
)
