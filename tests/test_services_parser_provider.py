"""The parser is built once and rebuilt when (and only when) the ledger it knows changed."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Issue, Township, Village
from nlp.workdays import WorkCalendar
from services.parser_provider import ParserProvider, ledger_stamp
from tests.test_engine_support import TODAY, demo_database, demo_template  # noqa: F401


def test_the_same_ledger_gives_the_same_parser(demo_database):
    provider = ParserProvider(WorkCalendar())
    with demo_database.transaction() as s:
        first = provider.get(s)
    with demo_database.transaction() as s:
        issue = s.scalar(select(Issue).where(Issue.code == "ZG-0003"))
        issue.status = "整改中"  # a status change among open states: the parser need not know
    with demo_database.transaction() as s:
        assert provider.get(s) is first


def test_a_new_village_is_known_after_the_ledger_changed(demo_database):
    provider = ParserProvider(WorkCalendar())
    with demo_database.transaction() as s:
        before = provider.get(s)
        assert before.parse("新开村饮水问题已解决", TODAY, []).village is None
        township = s.scalar(select(Township).where(Township.name == "东光镇"))
        s.add(Village(township=township, name="新开村"))
    with demo_database.transaction() as s:
        after = provider.get(s)
        assert after is not before
        assert after.parse("新开村饮水问题已解决", TODAY, []).village == "新开村"


def test_closing_an_issue_moves_the_stamp(demo_database):
    with demo_database.transaction() as s:
        stamp = ledger_stamp(s)
        s.scalar(select(Issue).where(Issue.code == "ZG-0022")).status = "已销号"
        s.flush()
        assert ledger_stamp(s) != stamp
