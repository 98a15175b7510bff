"""Bad input never crashes and never writes silently (property-based, hypothesis).

Over the parser and over the engine (a registered cadre, private and group chats):
arbitrary Unicode, control characters, right-to-left and zero-width marks, SQL- and
HTML-looking text, Markdown special characters, 10,000-character messages, empty
messages, ledger words mixed into noise, unsupported message kinds, random button data.

What must hold for every input:
- no exception, and no "出错了" reply (the engine's answer to an exception it caught);
- a reply wherever one is due, each text non-empty and within Telegram's 4,096
  characters, every button's callback data within 64 bytes; nothing in an unaddressed
  group message;
- no write to the ledger unless the parser read the text as a confident report (a new
  issue always waits for a button, so text alone never creates one);
- no household detail in a group reply.

Each example runs in a transaction that is rolled back, so examples never see each other.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st
from sqlalchemy import func, select, update

from db.models import Household, Issue, IssueEvent, User
from services.conversation.engine import INTERNAL_ERROR, ConversationEngine
from services.conversation.messages import Attachment, Incoming, Reply, reply_to
from services.demo import build_demo
from settings import load_settings
from tests.support.proof_support import BACKENDS, county_today, frozen_parsers, module_database, rolled_back

CADRE = 73_001  # 东台村工作队 (village, 东光镇/东台村)
ADMIN = 73_002  # 演示管理员
GROUP = -100_900
TELEGRAM_LIMIT = 4096
CALLBACK_LIMIT = 64
HOUSEHOLD_LABELS = ("人口", "致贫原因", "帮扶责任人")
QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                         HealthCheck.too_slow])

# Pieces a message may be made of: noise of every kind, and real ledger words, so that some
# random messages come close to real reports and queries.
TRICKY = [
    "\u202e", "\u200f", "\u200e", "\u200b", "\u200d", "\ufeff", "\u2066", "\u0000", "\x07", "\x1b[31m", "\r\n",
    "'; DROP TABLE issue; --", "1' OR '1'='1", "\" OR 1=1 --", "%s%s%n", "{0}{1}", "${jndi:x}",
    "<script>alert(1)</script>", "<b>粗体</b>", "&amp;&lt;&gt;", "<a href='http://x'>点我</a>",
    "*粗*", "_斜_", "[链接](http://x)", "`代码`", "```", "~删~", "||剧透||", "\\", "#标签", "@gongjian_test_bot",
    "😀", "👍🏻", "🇨🇳", "ＺＧ－０００３", "ZG-0003", "ZG-9999", "１２月３日", "12月31日前", "下周五前",
    "东台村", "东光镇", "东光", "汪清", "新兴村", "红旗村", "李兆满", "王秀英", "刘在龙家", "饮水", "住房",
    "问题", "已解决", "已整改", "整改中", "未整改", "已销号", "销号", "撤销", "新发现", "还有哪些问题", "情况",
    "本周到期", "逾期", "没有", "不是", "吗", "？", "。", "，", "！", "……", " ", "\t", "\n",
]
fragments = st.one_of(st.text(max_size=30), st.sampled_from(TRICKY))
messages = st.one_of(
    st.lists(fragments, max_size=10).map("".join),
    st.tuples(st.sampled_from(TRICKY + ["东台村饮水问题已解决", "a", "问"]), st.just(10_000)).map(
        lambda pair: (pair[0] * pair[1])[: pair[1]] if pair[0] else "x" * pair[1]
    ),
    st.text(min_size=2_000, max_size=2_500),
)


@dataclass
class Ledger:
    database: object
    parsers: object
    today: dt.date


@pytest.fixture(scope="module", params=BACKENDS)
def ledger(request, tmp_path_factory) -> Iterator[Ledger]:
    """The demo county, its cadre of 东台村 and its admin registered; one per backend."""
    with module_database(request.param, tmp_path_factory.mktemp("bad-input")) as database:
        today = county_today()
        build_demo(database, today)
        with database.transaction() as session:
            session.execute(update(User).where(User.name == "东台村工作队").values(telegram_id=CADRE))
            session.execute(update(User).where(User.name == "演示管理员").values(telegram_id=ADMIN))
        yield Ledger(database, frozen_parsers(database), today)


@pytest.fixture(scope="module")
def bot_settings(tmp_path_factory):
    base = load_settings(environ={})
    folder = tmp_path_factory.mktemp("evidence")
    return base.model_copy(update={"storage": base.storage.model_copy(update={"evidence_dir": str(folder)})})


def ledger_counts(session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(IssueEvent)),
        session.scalar(select(func.count()).select_from(Issue)),
        session.scalar(select(func.max(Issue.version))),
    )


def handle(ledger: Ledger, bot_settings, incoming: Incoming) -> tuple[list[Reply], bool]:
    """(replies, whether the ledger changed), the change rolled back afterwards."""
    with rolled_back(ledger.database) as database:
        engine = ConversationEngine(database, bot_settings, parser_provider=ledger.parsers)
        engine.bot_username = "gongjian_test_bot"
        with database.transaction() as session:
            before = ledger_counts(session)
        replies = reply_to(engine, database, incoming)
        with database.transaction() as session:
            after = ledger_counts(session)
        return replies, before != after


def assert_well_formed(replies: list[Reply], *, due: bool) -> None:
    """Telegram can send every reply, and someone who is owed an answer gets one."""
    if due:
        assert replies, "no reply"
    for reply in replies:
        assert reply.text.strip(), f"empty reply in {replies}"
        assert len(reply.text) <= TELEGRAM_LIMIT, len(reply.text)
        assert reply.text != INTERNAL_ERROR, "the engine caught an exception"
        for row in reply.buttons:
            for button in row:
                assert button.text.strip()
                assert len(button.data.encode("utf-8")) <= CALLBACK_LIMIT, button.data
        json.dumps(reply.text)  # plain, serialisable text (it is stored in the inbox as JSON)


def confident_report(ledger: Ledger, text: str, scope: list[str]) -> bool:
    parse = ledger.parsers.parse(text.strip(), ledger.today, scope)
    return parse.intent == "report" and not parse.needs_confirmation


# -- the parser ----------------------------------------------------------------------------------


@QUICK
@given(text=messages, scoped=st.booleans())
@example(text="", scoped=True)
@example(text="\u202e东台村饮水问题已解决\u202c", scoped=True)
@example(text="东台村\u0000饮水问题已解决", scoped=False)
def test_the_parser_reads_anything_without_failing(ledger, text, scoped):
    scope = ["东光镇/东台村"] if scoped else []
    parse = ledger.parsers.parse(text, ledger.today, scope)
    contract = parse.to_contract()
    json.dumps(contract, ensure_ascii=False)
    assert contract["intent"] in {"report", "new_issue", "query_household", "query_area", "query_due",
                                  "query_overdue", "undo", "help", "unknown"}
    assert 0.0 <= contract["confidence"] <= 1.0
    assert parse == ledger.parsers.parse(text, ledger.today, scope)  # the same reading every time


# -- the engine ----------------------------------------------------------------------------------


@QUICK
@given(text=messages, group=st.booleans(), addressed=st.booleans())
@example(text="", group=False, addressed=True)
@example(text="   \n\t ", group=False, addressed=True)
@example(text="东台村饮水问题已解决\u0000", group=False, addressed=True)
@example(text="\u202e东台村饮水问题已解决", group=True, addressed=True)
@example(text="东台村饮水问题已解决" * 1000, group=False, addressed=True)
@example(text="<b>刘在龙家情况</b>", group=True, addressed=True)
def test_the_engine_answers_any_text_and_writes_only_a_confident_report(ledger, bot_settings, text, group, addressed):
    incoming = Incoming(sender_id=CADRE, chat_id=GROUP if group else CADRE, chat_type="group" if group else "private",
                        text=text, message_id=1, addressed=addressed or not group, sender_name="测试")
    replies, wrote = handle(ledger, bot_settings, incoming)
    if group and not addressed:
        assert replies == [] and not wrote
        return
    # an acknowledgement (收到, 👍, 😀…) in a group gets no reply (issue 13); anything else does
    acknowledged = group and ledger.parsers.parse(text, ledger.today, ()).ack
    assert_well_formed(replies, due=not acknowledged)
    if wrote:
        assert confident_report(ledger, text, ["东光镇/东台村"]), f"wrote from {text!r}: {replies}"
    if group:
        shown = "\n".join(r.text for r in replies)
        assert not any(label in shown for label in HOUSEHOLD_LABELS), shown


@QUICK
@given(text=messages)
@example(text="/start")
@example(text="/start " + "x" * 5000)
@example(text="/start '; DROP TABLE invite; --")
def test_a_stranger_gets_one_sentence_and_no_write(ledger, bot_settings, text):
    incoming = Incoming(sender_id=79_999, chat_id=79_999, text=text, message_id=1)
    replies, wrote = handle(ledger, bot_settings, incoming)
    assert_well_formed(replies, due=True)
    assert len(replies) == 1 and not wrote


@QUICK
@given(text=st.one_of(messages, st.sampled_from(["ZG-0003", "东台村", "", "ZG-", "全县", "东光镇/东台村"])),
       command=st.sampled_from(["status", "due", "overdue", "close", "reopen", "undo", "invite", "users", "me",
                                "help", "subscribe", "unsubscribe", "digest", "subscriptions", "nonsense", ""]),
       admin=st.booleans(), group=st.booleans())
@example(text="ZG-0003 " + "原因" * 3000, command="reopen", admin=True, group=False)
@example(text="village 东光镇/东台村 <b>*_名字_*</b>", command="invite", admin=True, group=False)
@example(text="village 东光镇/东台村 " + "名" * 100, command="invite", admin=True, group=False)  # > String(64)
@example(text="东台村\x00", command="status", admin=False, group=False)  # NUL: PostgreSQL refuses it
def test_commands_with_any_arguments_answer_without_failing(ledger, bot_settings, text, command, admin, group):
    sender = ADMIN if admin else CADRE
    incoming = Incoming(sender_id=sender, chat_id=GROUP if group else sender,
                        chat_type="group" if group else "private", text=f"/{command} {text}".strip(), message_id=1)
    replies, _wrote = handle(ledger, bot_settings, incoming)
    assert_well_formed(replies, due=True)
    if group:
        shown = "\n".join(r.text for r in replies)
        assert not any(label in shown for label in HOUSEHOLD_LABELS), shown


@QUICK
@given(data=st.one_of(
    st.text(max_size=80),
    st.builds(lambda a, b: f"pa:{a}:{b}", st.integers(-5, 10**12), st.integers(-5, 10**6)),
    st.builds(lambda kind, rest: f"pg:{kind}:{rest}", st.sampled_from("ahdoux"), st.text(max_size=40)),
))
@example(data="pa:1:0")
@example(data="pa:2147483648:0")  # beyond PostgreSQL's integer
@example(data="pg:a:t2147483648:-:0")
@example(data="pg:h:99999999999:0")
@example(data="pg:a:v999999:-:3")
@example(data="pg:d:c:-:99999999:0")
def test_any_button_data_is_answered_and_changes_nothing(ledger, bot_settings, data):
    incoming = Incoming(sender_id=CADRE, chat_id=CADRE, callback_data=data, message_id=5)
    replies, wrote = handle(ledger, bot_settings, incoming)
    assert_well_formed(replies, due=True)
    assert not wrote  # no question was ever asked in this ledger, so no answer can write


@pytest.mark.parametrize("kind", ["sticker", "voice", "location", "contact", "video_note", "poll"])
@pytest.mark.parametrize("group", [False, True])
def test_unsupported_kinds_are_asked_for_text(ledger, bot_settings, kind, group):
    incoming = Incoming(sender_id=CADRE, chat_id=GROUP if group else CADRE, chat_type="group" if group else "private",
                        unsupported=kind, message_id=1, addressed=True)
    replies, wrote = handle(ledger, bot_settings, incoming)
    assert [r.text.rstrip("。") for r in replies] == ["请发文字或带说明的照片"] and not wrote


@QUICK
@given(caption=messages, data=st.binary(max_size=2048), kind=st.sampled_from(["photo", "document"]),
       name=st.one_of(st.none(), st.text(max_size=40), st.just("../../etc/passwd"), st.just("a" * 300 + ".exe")))
@example(caption="", data=b"", kind="photo", name=None)
@example(caption="东台村饮水问题已解决", data=b"\xff\xd8\xff", kind="document", name="../../../x.jpg")
def test_files_with_any_caption_never_fail(ledger, bot_settings, caption, data, kind, name):
    incoming = Incoming(sender_id=CADRE, chat_id=CADRE, text=caption, message_id=1,
                        attachment=Attachment(kind=kind, file_id="f1", file_name=name, data=data))
    replies, wrote = handle(ledger, bot_settings, incoming)
    assert_well_formed(replies, due=True)
    if wrote:
        assert confident_report(ledger, caption, ["东光镇/东台村"])


# -- names full of special characters --------------------------------------------------------------


NASTY_NAME = "<b>金*明_哲</b>[x](http://x)`&amp;"


def test_special_characters_in_names_come_back_verbatim_as_plain_text(ledger, bot_settings):
    """Replies carry no parse mode, so names with Markdown/HTML characters are shown as they
    are and cannot inject markup; the admin's card of such a household is well formed."""
    with rolled_back(ledger.database) as database:
        with database.transaction() as session:
            household = session.scalar(select(Household).where(Household.head_name == "刘在龙"))
            household.helper = NASTY_NAME
            session.execute(update(User).where(User.telegram_id == ADMIN).values(name=NASTY_NAME))
        engine = ConversationEngine(database, bot_settings, parser_provider=ledger.parsers)
        replies = reply_to(engine, database, Incoming(sender_id=ADMIN, chat_id=ADMIN, text="/status 刘在龙", message_id=1))
        me = reply_to(engine, database, Incoming(sender_id=ADMIN, chat_id=ADMIN, text="/me", message_id=2))
    assert_well_formed(replies, due=True)
    assert NASTY_NAME in "\n".join(r.text for r in replies)
    assert NASTY_NAME in me[0].text


def test_replies_are_sent_without_a_parse_mode(ledger, bot_settings):
    """The transport's defaults set no parse mode: Telegram shows reply text literally."""
    from bot import build_application

    telegram = bot_settings.telegram.model_copy(update={"token": "123:fake"})
    app = build_application(bot_settings.model_copy(update={"telegram": telegram}), ledger.database,
                            ConversationEngine(ledger.database, bot_settings, parser_provider=ledger.parsers))
    assert app.bot.defaults is None or app.bot.defaults.parse_mode is None


# -- the cases the properties above found on PostgreSQL, one by one ---------------------------------


@pytest.mark.parametrize("text", ["东台村饮水问题已解决\x00", "/status 东台村\x00", "\x00"])
def test_a_nul_character_is_answered_like_any_other_text(ledger, bot_settings, text):
    """PostgreSQL cannot store or compare text with NUL (0x00); SQLite can. The engine must
    answer the same on both (drop the character, or refuse in one sentence), not fail."""
    replies, wrote = handle(ledger, bot_settings, Incoming(sender_id=CADRE, chat_id=CADRE, text=text, message_id=1))
    assert_well_formed(replies, due=True)


@pytest.mark.parametrize("data", ["pa:2147483648:0", "pa:1:2147483648", "pg:a:t2147483648:-:0",
                                  "pg:a:v99999999999:-:0", "pg:h:99999999999:0"])
def test_button_data_with_huge_numbers_is_a_stale_button(ledger, bot_settings, data):
    """Callback data comes from the client (Telegram warns it can be forged): ids beyond
    PostgreSQL's integer must read as an outdated button, not as an error."""
    replies, wrote = handle(ledger, bot_settings, Incoming(sender_id=CADRE, chat_id=CADRE, callback_data=data))
    assert_well_formed(replies, due=True)
    assert not wrote


def test_an_invite_name_longer_than_the_ledger_keeps_is_refused_in_one_sentence(ledger, bot_settings):
    """Invite.name is String(64): PostgreSQL refuses a longer value, SQLite keeps it."""
    text = "/invite village 东光镇/东台村 " + "名" * 100
    replies, wrote = handle(ledger, bot_settings, Incoming(sender_id=ADMIN, chat_id=ADMIN, text=text, message_id=1))
    assert_well_formed(replies, due=True)
