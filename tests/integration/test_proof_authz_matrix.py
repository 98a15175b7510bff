"""Authorisation matrix: every role × every action × inside/outside the role's scope ×
private/group chat, driven through the engine (the one seam every front end uses).

For each case the expected result follows from the rules of issue 4: writing roles
(admin, township, village, department) report and record new issues inside their scope;
only supervisor and admin close out and reopen; reads are limited to the asker's scope
and household details appear only in private chats to users whose scope covers the
household; invites and user administration are for admins in private chats; group digests
are subscribed in groups by admin, supervisor, leader and township. Disabled users and
strangers can do nothing.

Every case, allowed or not, is also checked for what must never happen: a refusal that
writes to the ledger (Issue, IssueEvent, User, Invite, Subscription), a silent refusal,
a household's personal details in a group, an issue outside the asker's scope shown.

The demo ledger is built once per backend; every case runs inside a transaction that is
rolled back afterwards (the engine's own transactions become savepoints), so cases do not
see each other's writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import Household, InboxUpdate, Invite, Issue, IssueEvent, Subscription, Township, User, Village
from db.session import Database
from delivery.pump import take_turns
from services.conversation.engine import ConversationEngine
from services.conversation.messages import Incoming, Reply, reply_to
from services.demo import build_demo
from services.invites import create_invite
from services.scope import Scope
from settings import Settings, load_settings
from tests.support.proof_support import BACKENDS, COUNTY_TZ, county_today, frozen_parsers, module_database, rolled_back
from vocab import IssueStatus

ROLES = ("admin", "supervisor", "leader", "township", "village", "department", "disabled", "unregistered")
ACTIONS = ("report", "new_issue", "close", "reopen", "household", "area", "due", "overdue", "invite", "users",
           "subscribe")
TELEGRAM_IDS = {
    "admin": 71_001, "supervisor": 71_002, "leader": 71_003, "township": 71_004, "village": 71_005,
    "department": 71_006, "disabled": 71_007, "unregistered": 71_999,
}
DEMO_NAMES = {
    "admin": "演示管理员", "supervisor": "督巡办老周", "leader": "县领导", "township": "东光镇干部",
    "village": "东台村工作队", "department": "水利局小王",
}
GROUP_ID = -100_777
WRITERS = {"admin", "township", "village", "department"}
CLOSERS = {"admin", "supervisor"}
COUNTY_WIDE = {"admin", "supervisor", "leader"}
SUBSCRIBERS = {"admin", "supervisor", "leader", "township"}
REGISTERED = set(DEMO_NAMES)
# Personal details of a household: never in a group, never outside the asker's scope.
HOUSEHOLD_LABELS = ("人口", "致贫原因", "帮扶责任人")
CODE = re.compile(r"ZG-\d{4}")


# -- what each case sends ------------------------------------------------------------------


def _message(role: str, action: str, where: str) -> str:
    """The text a person in ``role`` sends for ``action`` inside or outside their scope."""
    inside = where == "inside"
    if action == "report":  # ZG-0003 东台村饮水 (every scope has it) / ZG-0026 百草沟镇新兴村基础设施
        return "东光镇东台村饮水问题整改中" if inside else "百草沟镇新兴村基础设施问题整改中"
    if action == "new_issue":
        if not inside:
            return "百草沟镇新兴村新发现集体经济问题，月底前整改"
        if role == "department":  # 饮水 in a village without an open 饮水 issue
            return "东光镇东光新村新发现饮水问题，水管冻裂，月底前整改"
        return "东光镇东台村新发现基础设施问题，路灯损坏，月底前整改"
    if action in ("close", "reopen"):
        code = _closable(role) if inside else "ZG-0280"  # 百草沟镇仲坪村 教育 已整改
        return f"/close {code}" if action == "close" else f"/reopen {code} 复查发现仍未解决"
    if action == "household":  # 刘在龙 of 东台村 / 杨文成 of 百草沟镇新兴村
        return "刘在龙家情况" if inside else "杨文成家情况"
    if action == "area":
        return "东光镇东台村还有哪些问题" if inside else "百草沟镇新兴村还有哪些问题"
    if action in ("due", "overdue"):
        return f"/{action}" if inside else f"/{action} 百草沟镇"
    if action == "invite":
        place = "东光镇/东台村" if inside else "百草沟镇/新兴村"
        return f"/invite village {place} 新来的"
    if action == "users":  # disable a cadre; move a cadre to a village elsewhere
        return "/users disable 待停用的人" if inside else "/users set 待停用的人 village 百草沟镇/新兴村"
    if action == "subscribe":
        if not inside:
            return "/subscribe 百草沟镇"
        return {"village": "/subscribe 东光镇/东台村", "department": "/subscribe 饮水"}.get(role, "/subscribe 东光镇")
    raise AssertionError(action)


def _closable(role: str) -> str:
    """An issue at 已整改 inside the role's scope: ZG-0004 (东台村, made 已整改 below) for
    village cadres, ZG-0367 (东光镇河北村 饮水) for everyone else."""
    return "ZG-0004" if role == "village" else "ZG-0367"


# -- the expected result -------------------------------------------------------------------


def expected(role: str, action: str, where: str, chat: str) -> str:
    """"write", "read" or "refuse"."""
    if role not in REGISTERED:
        return "refuse"
    group = chat == "group"
    in_scope = where == "inside" or role in COUNTY_WIDE
    if action in ("report", "new_issue"):
        return "write" if role in WRITERS and in_scope else "refuse"
    if action in ("close", "reopen"):
        return "write" if role in CLOSERS else "refuse"
    if action == "household":
        # Only places cover households; a bureau's categories do not.
        return "read" if not group and in_scope and role != "department" else "refuse"
    if action == "area":
        # A bureau sees its categories in any village (limited to them).
        return "read" if in_scope or role == "department" else "refuse"
    if action in ("due", "overdue"):
        return "read" if in_scope or role == "department" else "refuse"
    if action in ("invite", "users"):
        return "write" if role == "admin" and not group else "refuse"
    if action == "subscribe":
        return "write" if role in SUBSCRIBERS and group and in_scope else "refuse"
    raise AssertionError(action)


# -- the ledger, once per backend; one rolled-back transaction per case -----------------------


@dataclass
class Ledger:
    database: Database
    parsers: FrozenParsers
    today: dt.date
    good_code: str  # a valid invite code (for the invite tests below)


@pytest.fixture(scope="module", params=BACKENDS)
def ledger(request, tmp_path_factory) -> Iterator[Ledger]:
    """The demo county with Telegram ids for the demo users, a disabled cadre, a user to be
    disabled by the admin, ZG-0004 at 已整改 — on SQLite or PostgreSQL."""
    with module_database(request.param, tmp_path_factory.mktemp("matrix")) as database:
        today = county_today()
        build_demo(database, today)
        with database.transaction() as session:
            for role, name in DEMO_NAMES.items():
                session.execute(update(User).where(User.name == name).values(telegram_id=TELEGRAM_IDS[role]))
            session.add(User(telegram_id=TELEGRAM_IDS["disabled"], name="已停用工作队", role="village",
                             scope=["东光镇/东台村"], active=False))
            session.add(User(telegram_id=71_100, name="待停用的人", role="village", scope=["东光镇/东台村"],
                             active=True))
            session.execute(update(Issue).where(Issue.code == "ZG-0004").values(status=IssueStatus.RECTIFIED.value))
            good = create_invite(session, role_text="village", scope_text="东光镇/东台村", name="新人",
                                 created_by=None, now=dt.datetime.now(COUNTY_TZ), valid_days=7)
        yield Ledger(database, frozen_parsers(database), today, good.code)


@dataclass
class Outcome:
    replies: list[Reply]
    before: dict[str, str]
    after: dict[str, str]
    last_texts: list[str]  # every reply of the case, questions included
    outcomes: list[str]  # the engine's outcome of each turn (refused, answered, applied, ...)

    @property
    def changed(self) -> set[str]:
        return {name for name in self.before if self.before[name] != self.after[name]}


def fingerprint(session: Session) -> dict[str, str]:
    """A digest of each table a refusal must leave alone."""
    queries = {
        "Issue": select(Issue.id, Issue.status, Issue.deadline, Issue.version).order_by(Issue.id),
        "IssueEvent": select(IssueEvent.id, IssueEvent.change_id).order_by(IssueEvent.id),
        "User": select(User.id, User.telegram_id, User.role, User.scope, User.active).order_by(User.id),
        "Invite": select(Invite.id, Invite.used_at, Invite.used_by).order_by(Invite.id),
        "Subscription": select(Subscription.id, Subscription.scope, Subscription.active).order_by(Subscription.id),
    }
    return {name: hashlib.sha256(repr(session.execute(q).all()).encode()).hexdigest() for name, q in queries.items()}


def settings_for(tmp_path) -> Settings:
    base = load_settings(environ={})
    return base.model_copy(update={"storage": base.storage.model_copy(update={"evidence_dir": str(tmp_path / "ev")})})


def run_case(ledger: Ledger, settings: Settings, role: str, text_: str, chat: str, *, follow_questions: bool) -> Outcome:
    """Send ``text_`` as ``role``; press the first (confirming) button of any question."""
    sender = TELEGRAM_IDS[role]
    group = chat == "group"
    with rolled_back(ledger.database) as database:
        engine = ConversationEngine(database, settings, parser_provider=ledger.parsers)
        engine.bot_username = "gongjian_test_bot"
        with database.transaction() as session:
            before = fingerprint(session)
        incoming = Incoming(sender_id=sender, chat_id=GROUP_ID if group else sender,
                            chat_type="group" if group else "private", text=text_, message_id=1,
                            addressed=True, sender_name="测试")
        outcomes: list[str] = []
        replies = handled(database, engine, incoming, 1, outcomes)
        everything = list(replies)
        presses = 0
        while follow_questions and presses < 3 and replies and replies[-1].buttons:
            presses += 1
            first = replies[-1].buttons[0][0]
            press = Incoming(sender_id=sender, chat_id=incoming.chat_id, chat_type=incoming.chat_type,
                             callback_data=first.data, message_id=10 + presses, addressed=True)
            replies = handled(database, engine, press, 1 + presses, outcomes)
            everything += replies
        with database.transaction() as session:
            after = fingerprint(session)
        return Outcome(replies, before, after, [r.text for r in everything], outcomes)


def handled(database: Database, engine: ConversationEngine, incoming: Incoming, update_id: int,
            outcomes: list[str]) -> list[Reply]:
    """Handle ``incoming`` as journaled update ``update_id`` and note the engine's outcome."""
    with database.transaction() as session:
        session.add(InboxUpdate(update_id=update_id, payload={}))
    [result] = take_turns(database, engine, [(incoming, update_id)], [])
    replies = result.replies
    with database.transaction() as session:
        outcomes.append(session.get(InboxUpdate, update_id).outcome)
    return replies


# -- the checks every case gets ---------------------------------------------------------------


def household_secrets(database: Database) -> list[str]:
    """Names of household heads in the villages these cases touch."""
    with database.transaction() as session:
        return list(session.scalars(
            select(Household.head_name).join(Village).join(Township)
            .where(Township.name.in_(["东光镇", "百草沟镇"]))
        ))


@pytest.fixture(scope="module")
def secrets(ledger) -> list[str]:
    return household_secrets(ledger.database)


@pytest.fixture(scope="module")
def places_of(ledger) -> dict[str, tuple[str, str, str]]:
    """Issue code -> (township, village, category)."""
    with ledger.database.transaction() as session:
        rows = session.execute(
            select(Issue.code, Township.name, Village.name, Issue.category)
            .join(Village, Issue.village_id == Village.id).join(Township)
        ).all()
    return {code: (t, v, c) for code, t, v, c in rows}


def scope_of_role(database: Database, role: str) -> Scope | None:
    if role not in REGISTERED:
        return None
    with database.transaction() as session:
        user = session.scalar(select(User).where(User.telegram_id == TELEGRAM_IDS[role]))
        return Scope.of_user(user)


REFUSAL_WORDS = ("不能", "只有", "不在您的", "请私聊", "已停用", "还没有注册", "只能查看", "只在私聊", "请在要接收日报的工作群")


@pytest.mark.parametrize("chat", ["private", "group"])
@pytest.mark.parametrize("where", ["inside", "outside"])
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_matrix(ledger, secrets, places_of, tmp_path, role, action, where, chat):
    want = expected(role, action, where, chat)
    message = _message(role, action, where)
    outcome = run_case(ledger, settings_for(tmp_path), role, message, chat, follow_questions=want == "write")
    texts = outcome.last_texts
    assert texts and all(t.strip() for t in texts), f"no reply to {message!r}"
    assert all(len(t) <= 4096 for t in texts)
    shown = "\n".join(texts)

    if want == "write":
        assert outcome.changed, f"{role} {action} {where} {chat}: nothing written; replies: {texts}"
        assert _write_is_the_right_one(action, outcome), (outcome.changed, texts)
    else:
        assert outcome.changed == set(), f"{role} {action} {where} {chat}: refused but wrote {outcome.changed}: {texts}"
    if want == "refuse":
        assert outcome.outcomes[-1] != "applied", (outcome.outcomes, texts)
        assert any(word in shown for word in REFUSAL_WORDS), f"{role} {action} {where} {chat}: no reason given: {texts}"
        assert not CODE.findall(shown) or action in ("close", "reopen"), texts  # nothing of the ledger shown
    if want == "read":
        assert outcome.outcomes[0] not in ("refused", "error", "unclear"), (outcome.outcomes, texts)

    # What must never be shown, whatever the case.
    if chat == "group" or want == "refuse" or role == "department":
        assert not any(label in shown for label in HOUSEHOLD_LABELS), texts
        leaked = [name for name in secrets if name in shown]
        assert leaked == [], f"household names in a {chat} reply to {role}: {leaked}: {texts}"
    scope = scope_of_role(ledger.database, role)
    known = [c for c in CODE.findall(shown) if c in places_of]  # (a code just created is not)
    outside = [c for c in known if scope is None or not scope.covers_issue(*places_of[c])]
    assert outside == [], f"{role} was shown issues outside their scope: {outside}: {texts}"


def _write_is_the_right_one(action: str, outcome: Outcome) -> bool:
    """The allowed case wrote what the action writes, and nothing unrelated."""
    kinds = {
        "report": {"Issue", "IssueEvent"},
        "new_issue": {"Issue", "IssueEvent"},
        "close": {"Issue", "IssueEvent"},
        "reopen": {"Issue", "IssueEvent"},
        "invite": {"Invite"},
        "users": {"User"},
        "subscribe": {"Subscription"},
    }
    return outcome.changed == kinds[action]


# -- invites: expired, reused, guessed ----------------------------------------------------------


def test_an_expired_invite_is_refused_and_registers_no_one(ledger, tmp_path):
    with rolled_back(ledger.database) as database:
        long_ago = dt.datetime.now(COUNTY_TZ) - dt.timedelta(days=30)
        with database.transaction() as session:
            old = create_invite(session, role_text="village", scope_text="东光镇/东台村", name=None,
                                created_by=None, now=long_ago, valid_days=7)
            before = fingerprint(session)
        engine = ConversationEngine(database, settings_for(tmp_path), parser_provider=ledger.parsers)
        [reply] = reply_to(engine, database, Incoming(sender_id=72_001, chat_id=72_001, text=f"/start {old.code}"))
        with database.transaction() as session:
            assert fingerprint(session)["User"] == before["User"]
        assert "过期" in reply.text


def test_a_used_invite_is_refused_the_second_time(ledger, tmp_path):
    with rolled_back(ledger.database) as database:
        engine = ConversationEngine(database, settings_for(tmp_path), parser_provider=ledger.parsers)
        [first] = reply_to(engine, database, Incoming(sender_id=72_002, chat_id=72_002, text=f"/start {ledger.good_code}"))
        assert first.text.startswith("注册成功")
        with database.transaction() as session:
            before = fingerprint(session)
        [second] = reply_to(engine, database, Incoming(sender_id=72_003, chat_id=72_003, text=f"/start {ledger.good_code}"))
        with database.transaction() as session:
            assert fingerprint(session) == before
        assert "已被使用" in second.text


def test_guessing_invite_codes_is_rate_limited_even_for_the_right_code(ledger, tmp_path):
    settings = settings_for(tmp_path)
    limit = settings.policy.invite_attempts_per_hour
    with rolled_back(ledger.database) as database:
        engine = ConversationEngine(database, settings, parser_provider=ledger.parsers)
        guesser = 72_010
        for n in range(limit):
            [reply] = reply_to(engine, database, Incoming(sender_id=guesser, chat_id=guesser, text=f"/start guess{n:04d}"))
            assert "无效" in reply.text
        with database.transaction() as session:
            before = fingerprint(session)
        [reply] = reply_to(engine, database, Incoming(sender_id=guesser, chat_id=guesser, text=f"/start {ledger.good_code}"))
        with database.transaction() as session:
            assert fingerprint(session) == before  # the right code did not register the guesser
        assert "次数过多" in reply.text
        # Someone else, not guessing, still registers with that code.
        [other] = reply_to(engine, database, Incoming(sender_id=72_011, chat_id=72_011, text=f"/start {ledger.good_code}"))
        assert other.text.startswith("注册成功")


def test_the_rate_limit_lifts_after_an_hour(ledger, tmp_path):
    settings = settings_for(tmp_path)
    limit = settings.policy.invite_attempts_per_hour
    now = {"t": dt.datetime.now(dt.timezone.utc)}
    with rolled_back(ledger.database) as database:
        engine = ConversationEngine(database, settings, parser_provider=ledger.parsers, clock=lambda: now["t"])
        for n in range(limit):
            reply_to(engine, database, Incoming(sender_id=72_020, chat_id=72_020, text=f"/start wrong{n}"))
        [blocked] = reply_to(engine, database, Incoming(sender_id=72_020, chat_id=72_020, text=f"/start {ledger.good_code}"))
        assert "次数过多" in blocked.text
        now["t"] += dt.timedelta(hours=1, minutes=1)
        [reply] = reply_to(engine, database, Incoming(sender_id=72_020, chat_id=72_020, text=f"/start {ledger.good_code}"))
        assert reply.text.startswith("注册成功")
