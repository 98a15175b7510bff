"""Build the demo county: the story part of services/demo_county.yaml plus generated rows.

The story households and issues are what the console walkthrough, the parser corpus and
the tests talk about. Around them a fixed-seed generator adds households (to about 8,200
in all) and, only in villages without story issues, about 400 issues, so that digests
and queries look like a real county. Generated heads never share toneless pinyin with a
story head, so a parser test about 李兆满 can never meet a homophone.

The rows go through the same checks and bulk writer as an Excel import, so the demo is
also a standing test of the import path.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Household, Issue, Township, User, Village
from db.session import Database
from services.errors import Conflict
from services.ledger_headers import HOUSEHOLDS, ISSUES, KINDS, VILLAGES
from services.ledger_import import LedgerRows, SheetRows, apply_plan, plan_import
from services.progress import Progress
from vocab import CATEGORIES, EventSource, HouseholdStatus, IssueStatus

DEMO_COUNTY = Path(__file__).resolve().parent / "demo_county.yaml"
SEED = 20261201
TOTAL_HOUSEHOLDS = 8200
GENERATED_ISSUES = 400
CODE_PREFIX = "222424-"
DEMO_ACTOR = "demo"

KOREAN_SURNAMES = "金李朴崔郑姜赵张韩申权全吴南玄许黄安林池方严俞洪元文徐千卢宋沈梁车白裴禹"
KOREAN_GIVEN = "哲浩永顺英姬淑善美春明成吉龙植洙镇锡万福花玉子贞今男日光东铉泰基根实贤秀恩熙"
HAN_SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾田董袁潘于蒋蔡余杜叶程苏魏吕"
    "丁任沈姚卢姜崔钟谭陆范金石廖贾夏付方白邹孟熊秦邱江尹薛段雷侯史陶贺顾毛郝龚邵万钱严武戴孔汤"
)
HAN_GIVEN = (
    "国建志明永德文玉秀兰桂凤英华春海军平伟强丽红霞云梅芳淑珍福贵荣生林山成顺喜发学东金宝忠清树长"
    "庆万友君彦静艳敏娟辉俊瑞祥义凯鹏飞涛波琴莲香菊兴旺利民"
)
SIZES = {1: 12, 2: 28, 3: 27, 4: 20, 5: 9, 6: 4}
HOUSEHOLD_STATUSES = {HouseholdStatus.LIFTED: 70, HouseholdStatus.MONITORED: 18, HouseholdStatus.POOR: 12}
CAUSES = {
    "因病": 30, "因残": 12, "因学": 8, "因灾": 5, "缺劳力": 15, "缺技术": 12, "缺资金": 10,
    "缺土地": 3, "自身发展动力不足": 5,
}
ISSUE_STATUSES = {IssueStatus.OPEN: 40, IssueStatus.IN_PROGRESS: 30, IssueStatus.RECTIFIED: 15,
                  IssueStatus.CLOSED: 15}
DESCRIPTIONS: dict[str, tuple[str, ...]] = {
    "饮水": ("自来水管道冻裂", "水质检测不达标", "入户管道未接通", "蓄水池渗漏", "水井水量不足"),
    "住房": ("危房改造未完工", "房屋漏雨", "墙体开裂", "厕所改造未完成", "院墙倒塌"),
    "医疗": ("慢病卡未办理", "家庭医生未签约", "医保未参保", "大病报销未落实", "村卫生室缺药"),
    "教育": ("助学金未发放", "学生辍学在家", "控辍保学台账不全", "营养餐补助未落实"),
    "产业": ("产业补贴未到位", "黑木耳菌包未发放", "黄牛养殖补贴未发放", "庭院经济未落实"),
    "就业": ("公益岗位未落实", "务工交通补贴未发", "技能培训未参加", "就业信息未登记"),
    "兜底保障": ("低保未纳入", "临时救助未发放", "特困供养金未发放", "残疾人补贴未发放"),
    "基础设施": ("村道破损", "路灯损坏", "桥梁护栏缺失", "排水沟堵塞", "通村客车停运"),
    "档案": ("户档缺帮扶人签字", "收入台账数据不一致", "明白卡信息未更新", "帮扶手册填写不全"),
    "集体经济": ("光伏收益未分配", "合作社账目不清", "集体资产未登记", "分红方案未公示"),
}
HOUSEHOLD_CATEGORIES = frozenset({"住房", "医疗", "教育", "产业", "就业", "兜底保障", "档案"})
UNITS = {
    "饮水": "水利局", "住房": "住建局", "医疗": "卫健局", "教育": "教育局", "产业": "农业农村局",
    "就业": "人社局", "兜底保障": "民政局", "基础设施": "交通局",
}



@dataclass(frozen=True)
class DemoSummary:
    """What the demo database holds (``created`` is False when it was there already)."""

    created: bool
    townships: int
    villages: int
    households: int
    issues: int
    overdue: int
    users: tuple[str, ...]

    def lines(self) -> list[str]:
        """Chinese summary for the console."""
        head = "演示数据已建好" if self.created else "演示数据已存在，未重复创建"
        return [
            f"{head}：{self.townships} 个乡镇，{self.villages} 个村，{self.households} 户，"
            f"{self.issues} 条问题（逾期 {self.overdue} 条）",
            f"演示用户：{'、'.join(self.users)}",
        ]


def load_demo_county(path: Path = DEMO_COUNTY) -> dict:
    """The demo county's YAML as plain data."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def build_demo(database: Database, today: dt.date, progress: Progress | None = None) -> DemoSummary:
    """Build the demo ledger once (fixed seed); a second call changes nothing."""
    county = load_demo_county()
    with database.transaction() as session:
        built = _is_demo(session, county)
        if not built and _has_ledger(session):
            raise Conflict("这个数据库里已有台账数据，演示数据只能建在新数据库里（用 --db 指定另一个文件）。")
        if not built:
            ledger = demo_ledger(county, today)
            if progress is not None:
                rows = sum(len(s.rows) for s in ledger.sheets.values())
                progress.expect(rows)
                progress.advance(rows)
            plan = plan_import(session, ledger)
            apply_plan(session, plan, actor=DEMO_ACTOR, source=EventSource.SYSTEM,
                       message_text="演示数据")
        _add_users(session, county["users"])
        return _summary(session, created=not built, today=today, users=county["users"])


def _is_demo(session: Session, county: dict) -> bool:
    """The demo is there when every story household is, under its story head's name."""
    story = {(h["code"], h["head"]) for h in county["households"]}
    found = session.execute(
        select(Household.code, Household.head_name).where(Household.code.in_([c for c, _ in story]))
    ).all()
    return {tuple(row) for row in found} == story


def _has_ledger(session: Session) -> bool:
    return bool(
        session.scalar(select(func.count()).select_from(Household))
        or session.scalar(select(func.count()).select_from(Issue))
    )


def _add_users(session: Session, users: list[dict]) -> None:
    """Demo users without a Telegram id (the console logs in as them by name)."""
    present = set(session.scalars(select(User.name)))
    for user in users:
        if user["name"] not in present:
            session.add(User(name=user["name"], role=user["role"], scope=list(user["scope"]),
                             telegram_id=None, active=True))
    session.flush()


def _summary(session: Session, *, created: bool, today: dt.date, users: list[dict]) -> DemoSummary:
    def count(query) -> int:
        return session.scalar(select(func.count()).select_from(query.subquery()))

    overdue = count(
        select(Issue.id).where(
            Issue.status.in_([IssueStatus.OPEN, IssueStatus.IN_PROGRESS]), Issue.deadline < today
        )
    )
    return DemoSummary(
        created,
        count(select(Township.id)),
        count(select(Village.id)),
        count(select(Household.id)),
        count(select(Issue.id)),
        overdue,
        tuple(u["name"] for u in users),
    )


# ---------------------------------------------------------------- the generated county


def demo_ledger(county: dict, today: dt.date) -> LedgerRows:
    """The demo county as ledger rows (story rows first), ready for plan_import."""
    rng = random.Random(SEED)
    places = [(t, v) for t, villages in county["townships"].items() for v in villages]
    story_heads = {_toneless(h["head"]) for h in county["households"]}
    helpers = {place: _helpers(rng, place, county, story_heads) for place in places}
    households = [
        {"code": h["code"], "township": h["township"], "village": h["village"], "head": h["head"],
         "size": h["size"], "status": h["status"], "cause": h["cause"], "helper": h["helper"]}
        for h in county["households"]
    ]
    generated = _generated_households(rng, places, county, story_heads, helpers)
    households += generated
    story_codes = {h["code"] for h in county["households"]}
    issues = [_story_issue(i, story_codes, today) for i in county["issues"]]
    story_places = {(i["township"], i["village"]) for i in county["issues"]}
    quiet = [p for p in places if p not in story_places]
    issues += _generated_issues(rng, quiet, generated, today, first_number=len(issues) + 1)
    rows = {
        VILLAGES: [{"township": t, "village": v} for t, v in places],
        HOUSEHOLDS: households,
        ISSUES: issues,
    }
    sheets = {
        kind: SheetRows(kind, f"demo/{kind}", frozenset(rows[kind][0]),
                        list(enumerate(rows[kind], start=2)))
        for kind in KINDS
    }
    return LedgerRows(DEMO_COUNTY.name, sheets)


def _toneless(name: str) -> str:
    from nlp.pinyin_index import toneless  # loads pypinyin's dictionary: only when a demo is built

    return toneless(name)


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _name(rng: random.Random, korean: bool) -> str:
    if korean:
        return rng.choice(KOREAN_SURNAMES) + "".join(rng.sample(KOREAN_GIVEN, 2))
    given = 1 if rng.random() < 0.2 else 2
    return rng.choice(HAN_SURNAMES) + "".join(rng.choice(HAN_GIVEN) for _ in range(given))


def _fresh_name(rng: random.Random, korean: bool, taken: set[str], story_heads: set[str]) -> str:
    """A name not yet used in the village and not a homophone of any story head."""
    while True:
        name = _name(rng, korean)
        if name not in taken and _toneless(name) not in story_heads:
            taken.add(name)
            return name


def _helpers(rng, place, county, story_heads) -> list[str]:
    story = [h["helper"] for h in county["households"] if (h["township"], h["village"]) == place]
    taken: set[str] = set(story)
    return story + [_fresh_name(rng, rng.random() < 0.3, taken, story_heads)
                    for _ in range(rng.randint(2, 4))]


def _village_sizes(rng: random.Random, places: list, total: int) -> list[int]:
    weights = [rng.uniform(0.5, 1.5) for _ in places]
    scale = total / sum(weights)
    sizes = [int(w * scale) for w in weights]
    for index in range(total - sum(sizes)):  # hand out what rounding down left over
        sizes[index % len(sizes)] += 1
    return sizes


def _generated_households(rng, places, county, story_heads, helpers) -> list[dict]:
    story_total = len(county["households"])
    sizes = _village_sizes(rng, places, TOTAL_HOUSEHOLDS - story_total)
    story_names: dict[tuple[str, str], set[str]] = {}
    for h in county["households"]:
        story_names.setdefault((h["township"], h["village"]), set()).add(h["head"])
    rows, number = [], story_total
    for (township, village), count in zip(places, sizes):
        korean_share = rng.uniform(0.15, 0.6)
        taken = set(story_names.get((township, village), ()))
        for _ in range(count):
            number += 1
            rows.append({
                "code": f"{CODE_PREFIX}{number:04d}",
                "township": township,
                "village": village,
                "head": _fresh_name(rng, rng.random() < korean_share, taken, story_heads),
                "size": _weighted(rng, SIZES),
                "status": str(_weighted(rng, HOUSEHOLD_STATUSES)),
                "cause": _weighted(rng, CAUSES),
                "helper": rng.choice(helpers[(township, village)]),
            })
    return rows


def _story_issue(issue: dict, story_codes: set[str], today: dt.date) -> dict:
    household = issue.get("household")
    by_code = household in story_codes
    return {
        "code": issue["code"],
        "township": issue["township"],
        "village": issue["village"],
        "head": None if by_code else household,
        "household_code": household if by_code else None,
        "category": issue["category"],
        "description": issue["description"],
        "status": issue["status"],
        "deadline": today + dt.timedelta(days=issue["due"]),
        "unit": issue["unit"],
        "supervised": bool(issue.get("supervised", False)),
    }


def _generated_issues(rng, places, households, today, first_number) -> list[dict]:
    by_place: dict[tuple[str, str], list[dict]] = {}
    for h in households:
        by_place.setdefault((h["township"], h["village"]), []).append(h)
    counts = _village_sizes(rng, places, GENERATED_ISSUES)
    categories = list(CATEGORIES)
    rows, number = [], first_number
    for place, count in zip(places, counts):
        for _ in range(count):
            # Every category and status shows up: walk the categories, draw the rest.
            category = categories[(number - first_number) % len(categories)]
            pool = by_place.get(place, [])
            household = (
                rng.choice(pool) if pool and category in HOUSEHOLD_CATEGORIES and rng.random() < 0.7 else None
            )
            rows.append({
                "code": f"ZG-{number:04d}",
                "township": place[0],
                "village": place[1],
                "head": None,
                "household_code": household["code"] if household else None,
                "category": category,
                "description": rng.choice(DESCRIPTIONS[category]),
                "status": str(_weighted(rng, ISSUE_STATUSES)),
                "deadline": today + dt.timedelta(days=rng.randint(-30, 45)),
                "unit": UNITS.get(category, place[0]),
                "supervised": rng.random() < 0.08,
            })
            number += 1
    return rows
