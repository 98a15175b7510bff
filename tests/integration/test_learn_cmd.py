"""`python bot.py learn --suggest`: wording the county uses that the lexicons lack."""

from __future__ import annotations

import datetime as dt

from bot import main
from db.models import ReadingExample


def test_suggest_lists_county_wording_the_lexicons_lack(demo_database, db_url, capsys):
    with demo_database.transaction() as session:
        for _ in range(3):  # a cadre's own word for "done", confirmed three times
            session.add(ReadingExample(
                at=dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc), text="东台村饮水管子嘎嘣溜了",
                reading={"intent": "report", "status": None, "flags": ["no_status"]},
                final={"intent": "report", "status": "resolved", "issue": "ZG-0003"}, choice="corrected",
            ))
    assert main(["learn", "--suggest", "--db", db_url]) == 0
    out = capsys.readouterr().out
    assert "嘎嘣溜 · 3 · resolved" in out
    assert "饮水" not in out.split("：", 1)[1]  # a lexicon word is never suggested
