"""Settings: config.yaml defaults, environment overrides, command-line overrides.

Built once at start-up by :func:`load_settings` and passed down; nothing reads the
environment or the file anywhere else.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import proxy_bypass_environment
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from vocab import CATEGORIES

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


PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


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
            raise ValueError(f"未知的时区“{value}”（应为 Asia/Shanghai 这样的名称）") from exc
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
    # Every request to Telegram goes through it; empty: HTTPS_PROXY / https_proxy (load_settings).
    proxy: str | None = None

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if urlsplit(value).scheme not in PROXY_SCHEMES or not urlsplit(value).hostname:
            raise ValueError(f"代理地址应像 http://127.0.0.1:7890 或 socks5://127.0.0.1:1080，而不是“{value}”")
        return value

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
        try:
            dt.time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"时间应为 HH:MM，例如 08:30，而不是“{value}”") from None
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
    # 佐证材料 (services/evidence.py): categories whose 销号 needs evidence or a written reason,
    # how close two images' perceptual hashes must be to count as one photo (0-64 bits), how
    # old a photo's EXIF time may be before it is marked, how long an unlinked file is kept.
    evidence_required: list[str] = []
    evidence_similar_bits: int = Field(default=6, ge=0, le=64)
    evidence_old_days: int = Field(default=30, ge=1)
    evidence_orphan_hours: int = Field(default=48, ge=1)

    @field_validator("evidence_required")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in CATEGORIES]
        if unknown:
            raise ValueError(f"未知的类别“{unknown[0]}”（可选：{'、'.join(CATEGORIES)}）")
        return value


class StorageSettings(_Strict):
    """Every key here is a path: relative to the configuration file's folder."""

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
        if self.config_path is None:
            return Path(value).expanduser()
        return absolute_path(value, Path(self.config_path).parent)

    def with_absolute_paths(self) -> Settings:
        """These settings with storage.* and a SQLite file URL made absolute (path_of)."""
        if self.config_path is None:
            return self
        folder = Path(self.config_path).parent
        storage = {k: str(self.path_of(v)) for k, v in self.storage.model_dump().items() if isinstance(v, str)}
        url = absolute_sqlite_url(self.database.url, folder)
        return self.model_copy(update={
            "storage": self.storage.model_copy(update=storage),
            "database": self.database.model_copy(update={"url": url}),
        })

    def __repr__(self) -> str:  # never show the token
        return f"Settings(config_path={self.config_path!r}, database={self.database.url!r})"

    __str__ = __repr__


def absolute_path(value: str, base: Path) -> Path:
    """``value`` (``~`` expanded) made absolute against the folder ``base``."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else Path(os.path.normpath(base / path))


def absolute_sqlite_url(url: str, base: Path) -> str:
    """A SQLite URL whose file is relative, made absolute against ``base``; others unchanged."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # not a URL at all: connecting reports it
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return url
    full = str(absolute_path(name, base))
    return url if full == name else parsed.set(database=full).render_as_string(hide_password=False)


def _from_cwd(dotted: str, value: str) -> str:
    """A path typed in the environment or on the command line: relative to the current folder."""
    if dotted == "database.url":
        return absolute_sqlite_url(value, Path.cwd())
    if dotted.startswith("storage."):
        return str(absolute_path(value, Path.cwd()))
    return value


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
        raise ConfigError(f"读不了配置文件 {path}：{exc.strerror}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" 第 {mark.line + 1} 行" if mark is not None else ""
        raise ConfigError(f"{path}{where} 不是有效的 YAML（{getattr(exc, 'problem', exc)}）：检查缩进和冒号") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}：最外层应是 county:、database:、telegram: 这样的分节")
    return data


def load_settings(
    config_path: str | os.PathLike[str] | None = None,
    *,
    database_url: str | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Read config.yaml (or ``config_path``), apply environment and ``--db`` overrides.

    Paths come back absolute: those written in the file are relative to its folder, those
    given in the environment or with ``--db`` to the current folder (as typed in a shell).
    """
    environ = dict(os.environ if environ is None else environ)
    path = Path(config_path or environ.get("GONGJIAN_CONFIG") or DEFAULT_CONFIG)
    tree = _read_yaml(path)
    for var, dotted in ENV_OVERRIDES.items():
        if environ.get(var):
            _set_dotted(tree, dotted, _from_cwd(dotted, environ[var]))
    _proxy_from_environment(tree, environ)
    if database_url:
        _set_dotted(tree, "database.url", _from_cwd("database.url", database_url))
    tree["config_path"] = os.path.abspath(path)
    try:
        return Settings.model_validate(tree).with_absolute_paths()
    except ValidationError as exc:
        raise ConfigError(describe_invalid(exc, path, environ, database_url)) from None


def _proxy_from_environment(tree: dict[str, Any], environ: dict[str, str]) -> None:
    """No telegram.proxy in the file: take HTTPS_PROXY (or https_proxy), as curl would for an
    https base_url not listed in NO_PROXY."""
    telegram = tree.get("telegram")
    if telegram is not None and not isinstance(telegram, dict):
        return  # validation names the mistake
    telegram = telegram or {}
    proxy = environ.get("HTTPS_PROXY") or environ.get("https_proxy")
    if telegram.get("proxy") or not proxy:
        return
    base = urlsplit(str(telegram.get("base_url") or TelegramSettings().base_url))
    no_proxy = environ.get("NO_PROXY") or environ.get("no_proxy") or ""
    if base.scheme != "https" or proxy_bypass_environment(base.hostname or "", {"no": no_proxy}):
        return
    if urlsplit(proxy).scheme not in PROXY_SCHEMES:
        return  # not one httpx can use: leave it to the other programs that read it
    _set_dotted(tree, "telegram.proxy", proxy)


# pydantic's error types -> Chinese; {ctx keys} are filled from the error's context.
_REASONS = {
    "extra_forbidden": "没有这个设置项（拼写错误，或放错了分节）",
    "missing": "缺少这一项",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文字",
    "date_parsing": "应为日期 YYYY-MM-DD",
    "date_from_datetime_parsing": "应为日期 YYYY-MM-DD",
    "date_type": "应为日期 YYYY-MM-DD",
    "list_type": "应为列表（每行以 - 开头）",
    "model_type": "应为一组设置（键: 值）",
    "dict_type": "应为一组设置（键: 值）",
    "greater_than_equal": "不能小于 {ge}",
    "greater_than": "应大于 {gt}",
    "less_than_equal": "不能大于 {le}",
    "less_than": "应小于 {lt}",
}


def describe_invalid(exc: ValidationError, path: Path, environ: dict[str, str], database_url: str | None) -> str:
    """The first problem in Chinese, naming the key and where it was set (file, variable, --db)."""
    first = exc.errors()[0]
    parts = [str(part) for part in first["loc"]]
    key = ".".join(part for part in parts if not part.isdigit())
    items = [f"第 {int(part) + 1} 项" for part in parts if part.isdigit()]
    context = first.get("ctx") or {}
    if first["type"] == "value_error" and "error" in context:
        reason = str(context["error"])
    elif first["type"] in _REASONS:
        reason = _REASONS[first["type"]].format(**context)
    else:
        reason = f"取值无效（{first['msg']}）"
    value = first.get("input")
    if first["type"] not in ("value_error", "extra_forbidden", "missing") and not isinstance(value, dict | list):
        reason += f"，而不是“{value}”"
    where = f"{path} 中的 {key}"
    variables = [var for var, dotted in ENV_OVERRIDES.items() if dotted == key and environ.get(var)]
    if key == "database.url" and database_url:
        where = "--db 给出的数据库地址"
    elif variables:
        where = f"环境变量 {variables[0]}（{key}）"
    return f"{where}{''.join(' ' + item for item in items)}：{reason}"

