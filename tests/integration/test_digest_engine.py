"""/digest through the conversation engine (what the console and Telegram drive): today's
changes, imports, reopened items, and the chart drawn only after the turn has committed."""

from __future__ import annotations

import datetime as dt
import re
import warnings

from sqlalchemy import func, select

from db.models import Issue, Village
from services.conversation.digest_commands import draw_charts
from services.conversation.engine import ConversationEngine
from services.digest import DONE_STATUSES, build_digest, render_digest_text
from services.ledger_import import import_ledger
from tests.support.digest_ledger import ChartProbe, add_user
from tests.support.engine_chat import TODAY, Chat, chat_as, issue_state
from tests.support.ledger_files import sample_sheets, write_xlsx

PERIOD = re.compile(r"^(.+?)：已整改 (\d+) 件，新增 (\d+) 件，已销号 (\d+) 件$", re.M)


def period(text: str) -> tuple[str, int, int, int]:
    """(label, 已整改, 新增, 已销号) of a digest's text."""
    label, rectified, new, closed = PERIOD.search(text).groups()
    return label, int(rectified), int(new), int(closed)


def done_in_village(database, village: str) -> int:
    """已整改 + 已销号 items of a village, counted in the ledger itself."""
    with database.transaction() as session:
        return session.scalar(
            select(func.count()).select_from(Issue).join(Village)
            .where(Village.name == village, Issue.status.in_(DONE_STATUSES))
        )


def test_digest_on_demand_includes_todays_reports(engine, demo_database, clock, settings):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("东台村饮水问题已解决")
    assert issue_state(demo_database, "ZG-0003")[0] == "已整改"
    clock.advance(minutes=5)
    text = cadre.say("/digest")[0].text
    assert period(text) == ("昨日至今（截至09:05）", 1, 0, 0)

    # The morning digests are unchanged: today's 08:30 one covers Monday only, tomorrow's
    # covers today.
    calendar = engine.calendar
    with demo_database.transaction() as session:
        this_morning = build_digest(session, "东光镇/东台村", TODAY, calendar, settings)
        tomorrow = build_digest(session, "东光镇/东台村", dt.date(2026, 12, 2), calendar, settings)
    assert period(render_digest_text(this_morning)) == ("昨日", 0, 0, 0)
    assert period(render_digest_text(tomorrow)) == ("昨日", 1, 0, 0)


def test_item_rectified_closed_and_reopened_today_is_counted_once_as_open(engine, demo_database, clock):
    chat_as(engine, "东台村工作队").say("东台村饮水问题已解决")
    supervisor = chat_as(engine, "督巡办老周")
    supervisor.say("/close ZG-0003")
    supervisor.say("/reopen ZG-0003 复查发现仍无水")
    assert issue_state(demo_database, "ZG-0003")[0] == "未整改"
    clock.advance(minutes=5)

    text = supervisor.say("/digest 东台村")[0].text
    assert period(text)[1:] == (0, 0, 0)  # neither 已整改 nor 已销号: it is open again
    assert done_in_village(demo_database, "东台村") == 0
    assert "共 2 件：已完成 0 件（0%），未完成 2 件" in text


def test_item_rectified_then_closed_today_is_counted_once_as_closed(engine, demo_database, clock):
    chat_as(engine, "东台村工作队").say("东台村饮水问题已解决")
    chat_as(engine, "督巡办老周").say("/close ZG-0003")
    clock.advance(minutes=5)
    text = chat_as(engine, "督巡办老周").say("/digest 东台村")[0].text
    assert period(text)[1:] == (0, 0, 1)
    assert done_in_village(demo_database, "东台村") == 1
    assert "共 2 件：已完成 1 件（50%）" in text


def test_first_digest_after_an_import_has_no_new_items(database, tmp_path, settings, parser_provider):
    import_ledger(database, write_xlsx(tmp_path / "台账.xlsx", sample_sheets()))
    add_user(database, "扶贫办主任", "admin", [], 1001)
    engine = ConversationEngine(database, settings, parser_provider=parser_provider)  # the real clock
    text = Chat(engine, 1001).say("/digest")[0].text
    assert "共 5 件" in text
    assert period(text)[1:] == (0, 0, 0)  # imported, not found in the field


def test_demo_county_loaded_today_has_no_new_items(demo_database, settings, parser_provider):
    engine = ConversationEngine(demo_database, settings, parser_provider=parser_provider)  # the real clock
    text = chat_as(engine, "县领导").say("/digest")[0].text
    assert period(text)[2] == 0


def test_chart_is_drawn_only_after_the_turn_committed(engine, demo_database, db_url, monkeypatch):
    probe = ChartProbe(db_url, monkeypatch)
    text, caption = chat_as(engine, "督巡办老周", group=True).say("/digest")
    assert probe.open_during_drawing == []  # the engine's turn drew nothing
    assert text.text.startswith("📋 汪清县问题整改日报 12月1日（周二）")

    with warnings.catch_warnings(record=True) as caught:  # as a transport does, after the turn
        warnings.simplefilter("always")
        _, photo = draw_charts([text, caption])
    assert probe.open_during_drawing == [False]
    assert photo.text == "汪清县各乡镇整改进度（12月1日）"
    assert photo.file.kind == "photo" and photo.file.data.startswith(b"\x89PNG")
    assert [str(w.message) for w in caught if "missing from font" in str(w.message)] == []  # CJK font
