"""Settings: config.yaml defaults, environment overrides, command-line overrides.

Built once at start-up by :func:`load_settings` and passed down; nothing reads the
environment or the file anywhere else.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

DEFAULT_CONFIG = Path(__file__).resolve().parent / "config.yaml"

# Environment variable -> dotted key in the settings tree.
ENV_OVERRIDES = {
    "DATABASE_URL": "database.url",
    "TELEGRAM_BOT_TOKEN": "telegram.token",
    "TELEGRAM_BASE_URL": "telegram.base_url",
    "TELEGRAM_BASE_FILE_URL": "telegram.base_file_url",
    "TELEGRAM_WEBHOOK_URL": "telegram.webhook.url",
    "TELEGRAM_WEBHOOK_SECRET": "telegram.webhook.secret_token",
    "GONGJIAN_TIMEZONE": "county.timezone",
    "GONGJIAN_EVIDENCE_DIR": "storage.evidence_dir",
}


class ConfigError(Exception):
    """The configuration cannot be used; the message names file, key and reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CountySettings(_Strict):
    name: str = "汪清县"
    timezone: str = "Asia/Shanghai"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class DatabaseSettings(_Strict):
    url: str = "sqlite:///gongjian.db"
    echo: bool = False


class WebhookSettings(_Strict):
    url: str | None = None
    listen: str = "0.0.0.0"
    port: int = Field(default=8443, ge=1, le=65535)
    secret_token: str | None = None


class TelegramSettings(_Strict):
    token: str | None = None
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    bot_username: str | None = None
    startup_retries: int = Field(default=10, ge=0)
    startup_backoff_seconds: float = Field(default=2.0, gt=0)
    rate_limit_max_retries: int = Field(default=3, ge=1)
    # Parse and write the ledger in a child process (a second core) instead of a thread.
    engine_process: bool = False
    webhook: WebhookSettings = WebhookSettings()


class DigestSettings(_Strict):
    default_time: str = "08:30"
    item_limit: int = Field(default=30, ge=1)
    due_soon_working_days: int = Field(default=3, ge=1)

    @field_validator("default_time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        dt.time.fromisoformat(value)
        return value


class HolidaySettings(_Strict):
    """Holidays and make-up working days for years chinese-calendar does not know yet."""

    holidays: list[dt.date] = []
    workdays: list[dt.date] = []


class PolicySettings(_Strict):
    invite_valid_days: int = Field(default=7, ge=1)
    undo_minutes: int = Field(default=10, ge=1)
    duplicate_window_minutes: int = Field(default=30, ge=1)
    invite_attempts_per_hour: int = Field(default=5, ge=1)
    question_valid_hours: int = Field(default=12, ge=1, le=24 * 30)  # the bot's questions (buttons) expire


class StorageSettings(_Strict):
    evidence_dir: str = "evidence"
    reader_model: str = "reader_model.json.gz"  # the county's own second reader (python bot.py learn)


class ImportSettings(_Strict):
    """Limits of `python bot.py import`: a larger file is refused before it is read in full."""

    max_rows: int = Field(default=200_000, ge=1)  # per sheet (or CSV file)
    max_file_mb: float = Field(default=20, gt=0)
    max_unpacked_mb: float = Field(default=200, gt=0)  # an .xlsx is a zip: its unpacked size


class Settings(_Strict):
    county: CountySettings = CountySettings()
    database: DatabaseSettings = DatabaseSettings()
    telegram: TelegramSettings = TelegramSettings()
    digest: DigestSettings = DigestSettings()
    calendar: HolidaySettings = HolidaySettings()
    policy: PolicySettings = PolicySettings()
    storage: StorageSettings = StorageSettings()
    # "import" is a Python keyword: the attribute is import_, the key in config.yaml import.
    import_: ImportSettings = Field(default=ImportSettings(), alias="import")
    config_path: str | None = None

    def path_of(self, value: str) -> Path:
        """A path from the configuration, relative to the configuration file's folder."""
        path = Path(value)
        if path.is_absolute() or self.config_path is None:
            return path
        return Path(self.config_path).resolve().parent / path

    def __repr__(self) -> str:  # never show the token
        return f"Settings(config_path={self.config_path!r}, database={self.database.url!r})"

    __str__ = __repr__


def _set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    node = tree
    *parents, leaf = dotted.split(".")
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[leaf] = value


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    *,
    database_url: str | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Read config.yaml (or ``config_path``), apply environment and ``--db`` overrides."""
    environ = dict(os.environ if environ is None else environ)
    path = Path(config_path or environ.get("GONGJIAN_CONFIG") or DEFAULT_CONFIG)
    tree = _read_yaml(path)
    for var, dotted in ENV_OVERRIDES.items():
        if environ.get(var):
            _set_dotted(tree, dotted, environ[var])
    if database_url:
        _set_dotted(tree, "database.url", database_url)
    tree["config_path"] = str(path)
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: {key}: {first['msg']}") from None
