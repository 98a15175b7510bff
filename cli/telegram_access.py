"""Reaching Telegram from the command line: the token's form, the proxy, and what to say
when Telegram cannot be reached (``run`` and ``check`` say the same)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from settings import TelegramSettings

# @BotFather's tokens: the bot's number, a colon, then about 35 letters, digits, - and _.
TOKEN_FORMAT = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")
PROXY_KEYS = "config.yaml 的 telegram.proxy 或环境变量 HTTPS_PROXY"


def token_problem(token: str) -> str | None:
    """Why ``token`` cannot be a bot token (in Chinese), or None when its form is right."""
    if TOKEN_FORMAT.fullmatch(token.strip()):
        return None
    return (
        "机器人令牌格式不对：应为“数字:字母串”，例如 123456789:AAH...（冒号后约 35 位），"
        "请从 @BotFather 复制完整的令牌到 TELEGRAM_BOT_TOKEN。"
    )


def shown_proxy(proxy: str) -> str:
    """The proxy URL without its user name and password."""
    parts = urlsplit(proxy)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def retry_budget_seconds(telegram: TelegramSettings) -> float:
    """How long start-up goes on retrying getMe before it gives up (delivery.faults)."""
    from delivery.faults import BACKOFF_CAP_SECONDS

    return sum(
        min(BACKOFF_CAP_SECONDS, telegram.startup_backoff_seconds * 2 ** (attempt - 1))
        for attempt in range(1, telegram.startup_retries + 1)
    )


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} 秒" if seconds < 90 else f"{seconds / 60:.0f} 分钟"


def what_to_check(telegram: TelegramSettings) -> str:
    """The proxy setting in use or missing, and what to check."""
    if telegram.proxy:
        return f"当前代理 {shown_proxy(telegram.proxy)}：请检查代理是否在运行、地址和端口是否正确（{PROXY_KEYS}）"
    return (
        f"未设代理。在中国大陆须经代理：在 {PROXY_KEYS} 中设置代理地址"
        "（如 http://127.0.0.1:7890），并检查网络、防火墙和 telegram.base_url"
    )


def unreachable_notice(telegram: TelegramSettings, error: Exception) -> str:
    """One line: Telegram cannot be reached, the proxy setting, and that retries go on."""
    from telegram.error import TimedOut

    host = urlsplit(telegram.base_url).netloc
    why = "连接超时" if isinstance(error, TimedOut) else "连接失败"
    budget = retry_budget_seconds(telegram)
    return (
        f"⚠️ 连不上 Telegram（{host}，{why}）。{what_to_check(telegram)}。"
        f"正在自动重试（间隔逐步加长，约 {_duration(budget)}后仍不通则退出）……"
    )
