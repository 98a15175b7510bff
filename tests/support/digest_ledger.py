"""A small known ledger for the digest, reminder and delivery tests (helpers, no tests).

Today is Monday 2026-10-12; the previous working day is Saturday 2026-10-10 (a make-up
working day after the National Day holiday), so "yesterday's changes" run from
2026-10-10 00:00 to 2026-10-12 00:00 Beijing time. Three working days ahead is 10-15.

code   place              category status  deadline     unit
ZG-01  东光镇东台村       饮水     未整改  10-07 (-5)   水利局   overdue 5 days
ZG-02  东光镇东台村       住房     整改中  10-11 (-1)   住建局   overdue 1 day
ZG-03  东光镇东光村       饮水     未整改  10-13        水利局   due
ZG-04  东光镇东光村       医疗     已整改  10-09        卫健局   done (rectified 10-10)
ZG-05  汪清镇天平村       住房     未整改  09-22 (-20)  住建局   overdue 20 days, 督办
ZG-06  汪清镇天平村       教育     未整改  10-15        教育局   due (last day of window)
ZG-07  汪清镇新兴村       产业     未整改  10-16        农业农村局 not yet due
ZG-08  汪清镇新兴村       饮水     已销号  10-02        水利局   done (closed 10-11)
ZG-09  百草沟镇新兴村     住房     已整改  10-12        住建局   done (rectified 10-11)
ZG-10  百草沟镇新兴村     档案     未整改  10-12 (today) —      due
ZG-11  百草沟镇新兴村     医疗     整改中  —            卫健局   open, no deadline
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from db.models import Household, Issue, IssueEvent, Subscription, Township, User, Village
from db.session import Database, make_engine
from nlp.workdays import WorkCalendar
from settings import Settings, load_settings

TODAY = dt.date(2026, 10, 12)
TZ = ZoneInfo("Asia/Shanghai")

ISSUES = [
    # code, township, village, category, status, deadline, unit
    ("ZG-01", "东光镇", "东台村", "饮水", "未整改", dt.date(2026, 10, 7), "水利局"),
    ("ZG-02", "东光镇", "东台村", "住房", "整改中", dt.date(2026, 10, 11), "住建局"),
    ("ZG-03", "东光镇", "东光村", "饮水", "未整改", dt.date(2026, 10, 13), "水利局"),
    ("ZG-04", "东光镇", "东光村", "医疗", "已整改", dt.date(2026, 10, 9), "卫健局"),
    ("ZG-05", "汪清镇", "天平村", "住房", "未整改", dt.date(2026, 9, 22), "住建局"),
    ("ZG-06", "汪清镇", "天平村", "教育", "未整改", dt.date(2026, 10, 15), "教育局"),
    ("ZG-07", "汪清镇", "新兴村", "产业", "未整改", dt.date(2026, 10, 16), "农业农村局"),
    ("ZG-08", "汪清镇", "新兴村", "饮水", "已销号", dt.date(2026, 10, 2), "水利局"),
    ("ZG-09", "百草沟镇", "新兴村", "住房", "已整改", dt.date(2026, 10, 12), "住建局"),
    ("ZG-10", "百草沟镇", "新兴村", "档案", "未整改", dt.date(2026, 10, 12), None),
    ("ZG-11", "百草沟镇", "新兴村", "医疗", "整改中", None, "卫健局"),
]


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


def settings_for(tmp_path, db_url: str, **digest) -> Settings:
    """Settings with a 2027 holiday list in the config file (as a county would add it)."""
    lines = [
        "calendar:",
        "  holidays: [2027-02-08, 2027-02-09]",
        "  workdays: [2027-02-14]",
    ]
    if digest:
        lines.append("digest:")
        lines += [f"  {key}: {value}" for key, value in digest.items()]
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_settings(path, database_url=db_url, environ={})


def calendar_of(settings: Settings) -> WorkCalendar:
    return WorkCalendar(settings.calendar.holidays, settings.calendar.workdays)


def village(session, township: str, name: str) -> Village:
    town = session.scalar(select(Township).where(Township.name == township))
    if town is None:
        town = Township(name=township)
        session.add(town)
        session.flush()
    found = session.scalar(select(Village).where(Village.township_id == town.id, Village.name == name))
    if found is None:
        found = Village(township=town, name=name)
        session.add(found)
        session.flush()
    return found


def event(session, issue: Issue, at: dt.datetime, field: str, new: str | None, *, undoes: str | None = None) -> str:
    change = str(uuid.uuid4())
    session.add(IssueEvent(
        change_id=change, issue_id=issue.id, actor="测试", at=at, field=field, old_value=None,
        new_value=new, source="test", undoes=undoes,
    ))
    session.flush()
    return change


def build_known_ledger(database: Database) -> dict[str, int]:
    """The ledger of the module docstring with its events; returns issue ids by code."""
    with database.transaction() as session:
        ids = {}
        for code, township, village_name, category, status, deadline, unit in ISSUES:
            v = village(session, township, village_name)
            household = None
            if code == "ZG-02":  # a household issue: its head's name must never reach a group
                household = Household(code="H-1", village=v, head_name="李兆满", size=4, status="未脱贫")
            issue = Issue(
                code=code, village=v, household=household, category=category,
                description=f"{'李兆满家' if household else ''}问题{code}", status=status,
                deadline=deadline, responsible_unit=unit, created_at=local(dt.date(2026, 9, 1), 9),
                supervised=code == "ZG-05",
            )
            session.add(issue)
            session.flush()
            ids[code] = issue.id
        issues = {code: session.get(Issue, issue_id) for code, issue_id in ids.items()}
        # In the window [10-10 00:00, 10-12 00:00): counted.
        event(session, issues["ZG-04"], local(dt.date(2026, 10, 10), 0), "status", "已整改")
        event(session, issues["ZG-09"], local(dt.date(2026, 10, 11), 20), "status", "已整改")
        event(session, issues["ZG-08"], local(dt.date(2026, 10, 11), 10), "status", "已销号")
        event(session, issues["ZG-11"], local(dt.date(2026, 10, 10), 10), "created", "整改中")
        # Undone within minutes: not counted.
        change = event(session, issues["ZG-07"], local(dt.date(2026, 10, 10), 11), "status", "已整改")
        event(session, issues["ZG-07"], local(dt.date(2026, 10, 10), 11, 5), "status", "未整改", undoes=change)
        # Outside the window: before it, and today.
        event(session, issues["ZG-06"], local(dt.date(2026, 10, 9), 15), "created", "未整改")
        event(session, issues["ZG-02"], local(TODAY, 0), "status", "已整改")
        event(session, issues["ZG-03"], local(TODAY, 8), "status", "已整改")
    return ids


def add_user(database: Database, name: str, role: str, scope: list[str], telegram_id: int | None) -> int:
    with database.transaction() as session:
        user = User(name=name, role=role, scope=scope, telegram_id=telegram_id, active=True)
        session.add(user)
        session.flush()
        return user.id


def add_subscription(
    database: Database, chat_id: int, scope: str = "", send_time: str = "08:30", *, weekly: bool = False,
    created: dt.datetime | None = None,
) -> int:
    with database.transaction() as session:
        subscription = Subscription(
            chat_id=chat_id, scope=scope, send_time=send_time, weekly=weekly, active=True,
            created_at=created or local(dt.date(2026, 9, 1), 9),
        )
        session.add(subscription)
        session.flush()
        return subscription.id


def transaction_open(db_url: str, samples: int = 4, gap: float = 0.1) -> bool:
    """True when some connection holds a transaction open on the ledger: on SQLite another
    writer cannot start (one writer at a time: a report would wait); on PostgreSQL the same
    session sits idle inside a transaction in every one of ``samples`` looks ``gap`` seconds
    apart (another chat's turn is briefly idle between its statements; a transaction held
    while a chart is drawn stays)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # database is locked
            return True
        else:
            connection.execute("ROLLBACK")
            return False
        finally:
            connection.close()
    engine = make_engine(db_url)
    held: set | None = None
    try:
        with engine.connect() as connection:
            for look in range(samples):
                if look:
                    time.sleep(gap)
                pids = set(connection.scalars(text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
                )))
                held = pids if held is None else held & pids
                if not held:
                    return False
                connection.rollback()  # a fresh snapshot of pg_stat_activity for the next look
            return True
    finally:
        engine.dispose()


class ChartProbe:
    """Notes, each time a chart PNG is drawn (any Figure saved, wherever it is done),
    whether a transaction was open on the ledger at that moment."""

    def __init__(self, db_url: str, monkeypatch) -> None:
        from matplotlib.figure import Figure

        self.db_url = db_url
        self.open_during_drawing: list[bool] = []
        savefig = Figure.savefig

        def probing_savefig(figure, *args, **kwargs):
            self.open_during_drawing.append(transaction_open(self.db_url))
            return savefig(figure, *args, **kwargs)

        monkeypatch.setattr(Figure, "savefig", probing_savefig)
