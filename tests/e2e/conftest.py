"""What the end-to-end tests through PTB and the fake Bot API share: the demo county built
today with its users linked to the tests' Telegram accounts, and the bot's settings for it."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.support.fake_bot_api import bot_settings, link_demo_accounts

COUNTY_TZ = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def today(database) -> dt.date:
    """The demo county built today, its users linked to the test's Telegram accounts."""
    day = dt.datetime.now(COUNTY_TZ).date()
    link_demo_accounts(database, day)
    return day


@pytest.fixture
def settings(fake_bot_api, db_url, tmp_path, today):
    """The bot's settings for the fake Bot API and the test's database (the county built)."""
    return bot_settings(fake_bot_api, db_url, tmp_path)
