"""The parser is built once and rebuilt when (and only when) the ledger it knows changed."""

from __future__ import annotations

from sqlalchemy import select

from db.models import Issue, Township, Village
from nlp.workdays import WorkCalendar
from services.parser_provider import ParserProvider, ledger_stamp
from tests.support.engine_chat import TODAY


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
    # a clock that stands still: on a loaded machine, building the parser can outlast the
    # periodic re-check, which would then (rightly) see the uncommitted village early
    provider = ParserProvider(WorkCalendar(), clock=lambda: 0.0)
    with demo_database.transaction() as s:
        before = provider.get(s)
        assert before.parse("新开村饮水问题已解决", TODAY, []).village is None
        township = s.scalar(select(Township).where(Township.name == "东光镇"))
        s.add(Village(township=township, name="新开村"))
        assert provider.current(s)[1].targets("东光镇", "新开村") == []
    with demo_database.transaction() as s:
        after, villages = provider.current(s)
        assert after is not before
        assert after.parse("新开村饮水问题已解决", TODAY, []).village == "新开村"
        [target] = villages.targets(None, "新开村")  # the directory is read with the parser
        village = s.scalar(select(Village).where(Village.name == "新开村"))
        assert (target.village_id, target.township, target.household_id) == (village.id, "东光镇", None)


def test_the_village_directory_finds_villages_as_the_ledger_does(demo_database):
    from services.issues import VillageDirectory, targets_for

    with demo_database.transaction() as s:
        township = s.scalar(select(Township).where(Township.name == "复兴镇"))
        s.add(Village(township=township, name="东台村"))  # a second 东台村, in another township
        s.flush()
        villages = VillageDirectory.load(s)
        for township_name in (None, "东光镇", "复兴镇", "汪清镇"):
            for name in ("东台村", "红旗村", "没有这个村"):
                from_ledger = targets_for(s, township=township_name, village=name, household=None)
                assert villages.targets(township_name, name) == from_ledger, (township_name, name)
        assert [t.township for t in villages.targets(None, "东台村")] == ["东光镇", "复兴镇"]


def test_closing_an_issue_moves_the_stamp(demo_database):
    with demo_database.transaction() as s:
        stamp = ledger_stamp(s)
        s.scalar(select(Issue).where(Issue.code == "ZG-0022")).status = "已销号"
        s.flush()
        assert ledger_stamp(s) != stamp
