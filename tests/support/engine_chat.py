"""Fixtures and helpers shared by the engine and service tests (no tests in here).

The ledger is the demo county (services/demo.py) built for a fixed day, 2026-12-01 (a
Tuesday), on both backends. Demo users get Telegram ids so that tests speak as Telegram
would. The clock is fake and can be moved forward.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from db.models import Issue, IssueEvent, User
from db.session import Database
from nlp.workdays import calendar_from_settings
from services.conversation.messages import Attachment, Incoming, Reply, reply_to
from services.parser_provider import ParserProvider
from settings import Settings, load_settings

TODAY = dt.date(2026, 12, 1)
TZ = ZoneInfo("Asia/Shanghai")
TELEGRAM_IDS = {
    "演示管理员": 1001,
    "督巡办老周": 1002,
    "东台村工作队": 1003,
    "东光镇干部": 1004,
    "水利局小王": 1005,
    "县领导": 1006,
}
GROUP_ID = -100500


class FakeClock:
    """A clock the test moves forward by hand."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start

    def __call__(self) -> dt.datetime:
        return self.current

    def advance(self, **delta) -> None:
        self.current += dt.timedelta(**delta)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    """A migrated SQLite file holding the demo county, copied by each SQLite test."""
    from services.demo import build_demo  # slow to import: only when a test asks for the demo county

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copyfile(sqlite_template, path)
    database = Database.connect(f"sqlite:///{path}")
    build_demo(database, TODAY)
    _give_telegram_ids(database)
    database.dispose()
    return path


def _give_telegram_ids(database: Database) -> None:
    with database.transaction() as session:
        for name, telegram_id in TELEGRAM_IDS.items():
            session.execute(update(User).where(User.name == name).values(telegram_id=telegram_id))


@pytest.fixture
def demo_database(db_url: str, request: pytest.FixtureRequest) -> Iterator[Database]:
    """The demo county on SQLite or PostgreSQL, demo users with Telegram ids."""
    if db_url.startswith("sqlite:///"):
        shutil.copyfile(request.getfixturevalue("demo_template"), db_url.removeprefix("sqlite:///"))
        database = Database.connect(db_url)
    else:
        from services.demo import build_demo

        database = Database.connect(db_url)
        build_demo(database, TODAY)
        _give_telegram_ids(database)
    yield database
    database.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Default settings with evidence kept under the test's temporary folder."""
    base = load_settings(environ={})
    storage = base.storage.model_copy(update={"evidence_dir": str(tmp_path / "evidence")})
    return base.model_copy(update={"storage": storage})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(dt.datetime(2026, 12, 1, 9, 0, tzinfo=TZ))


@pytest.fixture(scope="session")
def parser_provider() -> ParserProvider:
    """One provider for the session: the demo ledger is the same in every test, so the
    parser (slow to build) is rebuilt only when a test changed the ledger's stamp."""
    return ParserProvider(calendar_from_settings(load_settings(environ={})))


@pytest.fixture
def engine(demo_database: Database, settings: Settings, clock: FakeClock, parser_provider: ParserProvider):
    from services.conversation.engine import ConversationEngine

    engine = ConversationEngine(demo_database, settings, clock=clock, parser_provider=parser_provider)
    engine.bot_username = "gongjian_test_bot"
    return engine


class Chat:
    """Speaks to the engine as one Telegram user in one chat; remembers the last replies."""

    def __init__(self, engine, sender_id: int, *, group: bool = False, addressed: bool = True) -> None:
        self.engine = engine
        self.sender_id = sender_id
        self.chat_type = "group" if group else "private"
        self.chat_id = GROUP_ID if group else sender_id
        self.addressed = addressed
        self.message_id = 0
        self.last: list[Reply] = []

    def _send(self, **fields) -> list[Reply]:
        self.message_id += 1
        incoming = Incoming(
            sender_id=self.sender_id, chat_id=self.chat_id, chat_type=self.chat_type,
            message_id=self.message_id, addressed=self.addressed, sender_name="测试用户", **fields,
        )
        self.last = reply_to(self.engine, self.engine.database, incoming)
        return self.last

    def say(self, text: str) -> list[Reply]:
        return self._send(text=text)

    def photo(self, caption: str, data: bytes = b"\xff\xd8fake-jpeg", file_id: str = "file-1") -> list[Reply]:
        return self._send(text=caption, attachment=Attachment(kind="photo", file_id=file_id, data=data))

    def press(self, label: str, replies: list[Reply] | None = None) -> list[Reply]:
        """Press the button whose text contains ``label`` in the given (or last) replies."""
        for reply in replies if replies is not None else self.last:
            for row in reply.buttons:
                for button in row:
                    if label in button.text:
                        return self._send(callback_data=button.data)
        raise AssertionError(f"no button {label!r} in {buttons_of(replies or self.last)}")

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.last)


def buttons_of(replies: list[Reply]) -> list[str]:
    return [button.text for reply in replies for row in reply.buttons for button in row]


def chat_as(engine, name: str, **kwargs) -> Chat:
    return Chat(engine, TELEGRAM_IDS[name], **kwargs)


def issue_state(database: Database, code: str) -> tuple[str, dt.date | None, int]:
    """(status, deadline, number of events) of an issue."""
    with database.transaction() as session:
        issue = session.scalar(select(Issue).where(Issue.code == code))
        events = session.scalars(select(IssueEvent).where(IssueEvent.issue_id == issue.id)).all()
        return issue.status, issue.deadline, len(events)


def user_named(database: Database, name: str) -> User:
    with database.transaction() as session:
        user = session.scalar(select(User).where(User.name == name))
        session.expunge(user)
        return user
