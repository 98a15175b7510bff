"""Benchmark: the cost of building one digest, from a county to a province.

County (SQLite): 15 townships × 20 villages = 300 villages, 30,000 households, 10,000
issues and ~17,000 events; the county digest (whole ledger). Goal ≤ 100 ms.

Province (PostgreSQL): 100 counties of that size — 3 million households, 1 million issues,
~1.7 million events — generated on the server with INSERT ... SELECT generate_series (no
Python rows). The schema has no county table, so a county here is a group of 15 townships
(named 县NNN-T镇); a "county-scope digest" is the digest of one such group, i.e. the Scope
of its 15 townships (what that county's command group would get if the province ran one
bot), with progress per township. Goal ≤ 2 s. The digest of the whole province (one scope
over all 1 million issues) is measured too, to show what grows with the data and what
does not. ``--quick`` uses 10 counties; the full run measures 10 and then 100 counties
(the same database grown), to print how the cost grows.

    python bench/bench_digest.py [--quick]
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import fresh_postgres_database, main_for  # noqa: E402

TODAY = dt.date(2026, 10, 12)
TOWNSHIPS_PER_COUNTY = 15
VILLAGES_PER_TOWNSHIP = 20
HOUSEHOLDS_PER_VILLAGE = 100
ISSUES_PER_COUNTY = 10_000
CATEGORIES = ("饮水", "住房", "医疗", "教育", "产业", "就业", "兜底保障", "基础设施", "档案", "集体经济")
UNITS = ("水利局", "住建局", "卫健局", "教育局", "农业农村局", "人社局", "民政局", "交通局", "乡镇", "农业农村局")
# status by (g * 37) % 20: 30 % 未整改, 20 % 整改中, 35 % 已整改, 15 % 已销号
STATUS_CASE = "CASE WHEN {m} < 6 THEN '未整改' WHEN {m} < 10 THEN '整改中' WHEN {m} < 17 THEN '已整改' ELSE '已销号' END"
GOAL_COUNTY_MS = 100
GOAL_PROVINCE_MS = 2000


# ---- the generated ledger (one formula for both backends) ---------------------------


def status_of(g: int) -> str:
    m = (g * 37) % 20
    return "未整改" if m < 6 else "整改中" if m < 10 else "已整改" if m < 17 else "已销号"


def _sqlite_county(url: str) -> None:
    """One county through SQLAlchemy Core (SQLite has no generate_series)."""
    from sqlalchemy import insert

    from db.models import Household, Issue, IssueEvent, Township, Village
    from db.session import Database

    database = Database.connect(url)
    midnight = dt.datetime.combine(TODAY, dt.time(0), tzinfo=dt.timezone.utc)
    villages = TOWNSHIPS_PER_COUNTY * VILLAGES_PER_TOWNSHIP
    with database.transaction() as session:
        session.execute(insert(Township), [
            {"id": t, "name": f"县001-{t}镇"} for t in range(1, TOWNSHIPS_PER_COUNTY + 1)
        ])
        session.execute(insert(Village), [
            {"id": v, "township_id": (v - 1) // VILLAGES_PER_TOWNSHIP + 1, "name": f"村{v}"}
            for v in range(1, villages + 1)
        ])
        session.execute(insert(Household), [
            {"id": h, "code": f"H{h}", "village_id": (h - 1) // HOUSEHOLDS_PER_VILLAGE + 1,
             "head_name": f"户主{h}", "size": 1 + h % 5, "status": "未脱贫"}
            for h in range(1, villages * HOUSEHOLDS_PER_VILLAGE + 1)
        ])
        issues, events = [], []
        for g in range(1, ISSUES_PER_COUNTY + 1):
            village = (g - 1) % villages + 1
            status = status_of(g)
            created = midnight - dt.timedelta(days=(g // 10 * 31) % 180)
            issues.append({
                "id": g, "code": f"ZG-{g}", "village_id": village,
                "household_id": (village - 1) * HOUSEHOLDS_PER_VILLAGE + 1 + g % 100 if g % 3 == 0 else None,
                "category": CATEGORIES[g % 10], "description": "问题", "status": status,
                "deadline": None if g % 50 == 0 else TODAY + dt.timedelta(days=(g * 7919) % 121 - 60),
                "responsible_unit": UNITS[g % 10], "supervised": False,
                "created_at": created, "updated_at": created, "version": 1,
            })
            events.append(_event(2 * g - 1, g, "created", status, created))
            if status in ("已整改", "已销号"):
                at = midnight - dt.timedelta(days=(g // 20 * 13) % 30) + dt.timedelta(hours=(g // 20 * 7) % 24 - 8)
                events.append(_event(2 * g, g, "status", status, at))
        session.execute(insert(Issue), issues)
        session.execute(insert(IssueEvent), events)
    database.dispose()


def _event(event_id: int, issue_id: int, field: str, value: str, at: dt.datetime) -> dict:
    return {"id": event_id, "change_id": f"c{event_id}", "issue_id": issue_id, "actor": "import", "at": at,
            "field": field, "old_value": None, "new_value": value, "source": "import"}


def _postgres_counties(url: str, first: int, last: int) -> None:
    """Counties ``first``..``last`` (1-based, inclusive), generated on the server."""
    from sqlalchemy import text

    from db.session import Database

    t0, t1 = (first - 1) * TOWNSHIPS_PER_COUNTY + 1, last * TOWNSHIPS_PER_COUNTY
    v0, v1 = (t0 - 1) * VILLAGES_PER_TOWNSHIP + 1, t1 * VILLAGES_PER_TOWNSHIP
    i0, i1 = (first - 1) * ISSUES_PER_COUNTY + 1, last * ISSUES_PER_COUNTY
    villages_per_county = TOWNSHIPS_PER_COUNTY * VILLAGES_PER_TOWNSHIP
    categories = "ARRAY[" + ",".join(f"'{c}'" for c in CATEGORIES) + "]"
    units = "ARRAY[" + ",".join(f"'{u}'" for u in UNITS) + "]"
    status = STATUS_CASE.format(m="((g * 37) % 20)")
    params = {"today": TODAY}
    # Issue g of county c lies in one of that county's villages, spread like the SQLite county.
    village_of = (
        f"((g - 1) / {ISSUES_PER_COUNTY}) * {villages_per_county} + ((g - 1) % {ISSUES_PER_COUNTY}) "
        f"% {villages_per_county} + 1"
    )
    statements = [
        f"""INSERT INTO township (id, name)
            SELECT g, '县' || lpad(((g - 1) / {TOWNSHIPS_PER_COUNTY} + 1)::text, 3, '0') || '-'
                   || ((g - 1) % {TOWNSHIPS_PER_COUNTY} + 1) || '镇'
            FROM generate_series({t0}, {t1}) g""",
        f"""INSERT INTO village (id, township_id, name)
            SELECT g, (g - 1) / {VILLAGES_PER_TOWNSHIP} + 1, '村' || g FROM generate_series({v0}, {v1}) g""",
        f"""INSERT INTO household (id, code, village_id, head_name, size, status)
            SELECT g, 'H' || g, (g - 1) / {HOUSEHOLDS_PER_VILLAGE} + 1, '户主' || g, 1 + g % 5, '未脱贫'
            FROM generate_series({v0} * {HOUSEHOLDS_PER_VILLAGE} - {HOUSEHOLDS_PER_VILLAGE - 1},
                                 {v1} * {HOUSEHOLDS_PER_VILLAGE}) g""",
        f"""INSERT INTO issue (id, code, village_id, household_id, category, description, status, deadline,
                               responsible_unit, supervised, created_at, updated_at, version)
            SELECT g, 'ZG-' || g, v,
                   CASE WHEN g % 3 = 0 THEN (v - 1) * {HOUSEHOLDS_PER_VILLAGE} + 1 + g % 100 END,
                   ({categories})[g % 10 + 1], '问题', {status},
                   CASE WHEN g % 50 <> 0 THEN CAST(:today AS date) + ((g * 7919) % 121 - 60)::int END,
                   ({units})[g % 10 + 1], false, c, c, 1
            FROM (SELECT g, {village_of} AS v,
                         CAST(:today AS timestamp) - make_interval(days => ((g / 10 * 31) % 180)::int) AS c
                  FROM generate_series({i0}::bigint, {i1}::bigint) g) s""",
        f"""INSERT INTO issue_event (id, change_id, issue_id, actor, at, field, old_value, new_value, source)
           SELECT 2 * id - 1, 'c' || (2 * id - 1), id, 'import', created_at, 'created', NULL, status, 'import'
           FROM issue WHERE id BETWEEN {i0} AND {i1}""",
        f"""INSERT INTO issue_event (id, change_id, issue_id, actor, at, field, old_value, new_value, source)
           SELECT 2 * id, 'c' || (2 * id), id, 'import',
                  CAST(:today AS timestamp) - make_interval(days => ((id / 20 * 13) % 30)::int)
                      + make_interval(hours => ((id / 20 * 7) % 24 - 8)::int),
                  'status', NULL, status, 'import'
           FROM issue WHERE id BETWEEN {i0} AND {i1} AND status IN ('已整改', '已销号')""",
        "ANALYZE",
    ]
    database = Database.connect(url)
    with database.engine.begin() as connection:
        for statement in statements[:-1]:
            connection.execute(text(statement), params)
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(statements[-1]))
    database.dispose()


# ---- measuring ------------------------------------------------------------------------


def _settings(url: str):
    from settings import load_settings

    return load_settings(database_url=url, environ={})


def _time_digest(database, settings, scope, label: str, repeats: int) -> float:
    """Median milliseconds of building (and rendering the text of) one digest."""
    from nlp.workdays import calendar_from_settings
    from services.digest import build_digest_for, render_digest_text

    calendar = calendar_from_settings(settings)
    timings = []
    for _ in range(repeats + 1):  # the first run warms caches and is not counted
        started = time.perf_counter()
        with database.transaction() as session:
            digest = build_digest_for(session, scope, "", label, TODAY, calendar, settings)
        text = render_digest_text(digest)
        timings.append((time.perf_counter() - started) * 1000)
    assert digest.total > 0 and len(text) <= 4096
    return statistics.median(timings[1:])


def _county_scope(county: int):
    from services.scope import Scope

    names = [f"县{county:03d}-{t}镇" for t in range(1, TOWNSHIPS_PER_COUNTY + 1)]
    return Scope.from_names(names)


def _sqlite_rows() -> tuple[list[tuple[str, str, str]], float]:
    from db.session import Database
    from services.chart import render_progress_chart
    from services.digest import build_digest
    from services.scope import Scope

    with tempfile.TemporaryDirectory(prefix="gj_bench_digest_") as temp:
        url = f"sqlite:///{Path(temp) / 'county.db'}"
        started = time.perf_counter()
        _sqlite_county(url)
        generated = time.perf_counter() - started
        settings = _settings(url)
        database = Database.connect(url)
        try:
            county_ms = _time_digest(database, settings, Scope.county(), "县", 20)
            township_ms = _time_digest(database, settings, Scope.from_names(["县001-1镇"]), "镇", 20)
            from nlp.workdays import calendar_from_settings

            with database.transaction() as session:
                digest = build_digest(session, "", TODAY, calendar_from_settings(settings), settings)
            started = time.perf_counter()
            render_progress_chart(digest)
            chart_ms = (time.perf_counter() - started) * 1000
        finally:
            database.dispose()
    size = "300 villages/30k households/10k issues"
    return [
        (f"SQLite county ledger generated ({size})", f"{generated:.1f} s", "-"),
        ("SQLite county digest (whole county)", f"{county_ms:.1f} ms", f"<= {GOAL_COUNTY_MS} ms"),
        ("SQLite township digest", f"{township_ms:.1f} ms", "-"),
        ("progress chart PNG (15 townships)", f"{chart_ms:.0f} ms", "-"),
    ], county_ms


def _postgres_rows(sizes: tuple[int, ...], county_ms: float) -> list[tuple[str, str, str]]:
    from db.session import Database
    from services.scope import Scope

    rows: list[tuple[str, str, str]] = []
    try:
        context = fresh_postgres_database()
        url = context.__enter__()
    except Exception as exc:  # no server: say so instead of failing the whole bench run
        return [("PostgreSQL province digest", f"not run ({type(exc).__name__})", f"<= {GOAL_PROVINCE_MS} ms")]
    try:
        settings = _settings(url)
        Database.connect(url).dispose()  # migrate
        done = 0
        per_size = {}
        for counties in sizes:
            started = time.perf_counter()
            _postgres_counties(url, done + 1, counties)
            generated = time.perf_counter() - started
            done = counties
            database = Database.connect(url, migrate=False)
            try:
                # Three different counties, first, middle and last: a cached county is not luck.
                scoped_ms = statistics.median(
                    _time_digest(database, settings, _county_scope(c), f"县{c:03d}", 5)
                    for c in sorted({1, (counties + 1) // 2, counties})
                )
                whole_ms = _time_digest(database, settings, Scope.county(), "全省", 3)
            finally:
                database.dispose()
            per_size[counties] = (scoped_ms, whole_ms)
            size = f"{counties} counties: {counties * 30_000:,} households/{counties * ISSUES_PER_COUNTY:,} issues"
            rows += [
                (f"PostgreSQL ledger generated ({size})", f"{generated:.0f} s", "-"),
                (f"PostgreSQL county-scope digest, {counties} counties", f"{scoped_ms:.1f} ms",
                 f"<= {GOAL_PROVINCE_MS} ms"),
                (f"PostgreSQL whole-ledger digest, {counties} counties", f"{whole_ms:.0f} ms", "-"),
            ]
        largest = max(sizes)
        rows.append((
            f"growth: county digest, SQLite 1 county -> PostgreSQL {largest} counties",
            f"x{per_size[largest][0] / county_ms:.1f} (data x{largest})", "-",
        ))
        if len(sizes) > 1:
            small = min(sizes)
            rows.append((
                f"growth: PostgreSQL {small} -> {largest} counties (county-scope / whole)",
                f"x{per_size[largest][0] / per_size[small][0]:.1f} / x{per_size[largest][1] / per_size[small][1]:.1f}"
                f" (data x{largest // small})", "-",
            ))
    finally:
        context.__exit__(None, None, None)
    return rows


def run(quick: bool) -> list[tuple[str, str, str]]:
    """(figure, value, goal) rows: county digest on SQLite, county-scope digest in a province."""
    rows, county_ms = _sqlite_rows()
    rows += _postgres_rows((10,) if quick else (10, 100), county_ms)
    return rows


if __name__ == "__main__":
    sys.exit(main_for(run))
