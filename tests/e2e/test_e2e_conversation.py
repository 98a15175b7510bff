"""Conversations with the real engine on the demo county, through PTB's HTTP path and the
fake Bot API server: what a cadre sees in the chat, and what the ledger holds afterwards.
Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import select

from db.models import Evidence, InboxUpdate, Issue, IssueEvent, User
from services import inbox
from services.invites import create_invite
from tests.support import evidence_images
from tests.support.fake_bot_api import (
    ADMIN, BOT_USERNAME, SUPERVISOR, TOWNSHIP, VILLAGE, FakeChat, FakeUser, press, running_bot, say,
)

# Demo users (services/demo_county.yaml) and the Telegram accounts the tests give them.
STRANGER = FakeUser(7999, "路人")
GROUP = FakeChat(-100200300, "supergroup", "东光镇脱贫攻坚群")


def issue(database, code: str) -> Issue:
    with database.transaction() as session:
        return session.scalar(select(Issue).where(Issue.code == code))


def events(database, code: str, field: str = "status") -> list[IssueEvent]:
    with database.transaction() as session:
        return list(
            session.scalars(
                select(IssueEvent).join(Issue).where(Issue.code == code, IssueEvent.field == field).order_by(IssueEvent.id)
            )
        )


def invite(database, *, role: str, scope: str, name: str, now: dt.datetime, days: int = 7) -> str:
    with database.transaction() as session:
        return create_invite(
            session, role_text=role, scope_text=scope, name=name, created_by=None, now=now, valid_days=days
        ).code


# -- people --------------------------------------------------------------------------------


async def test_registration_by_invite(fake_bot_api, settings, database):
    now = dt.datetime.now(dt.timezone.utc)
    code = invite(database, role="village", scope="东光镇/东台村", name="金明哲", now=now)
    old_code = invite(database, role="village", scope="东光镇/东台村", name="过期", now=now - dt.timedelta(days=30))
    newcomer, latecomer = FakeUser(7101, "明哲"), FakeUser(7102, "后来者")
    async with running_bot(settings, database):
        welcome = await say(fake_bot_api, newcomer, f"/start {code}")
        me = await say(fake_bot_api, newcomer, "/me")
        reused = await say(fake_bot_api, latecomer, f"/start {code}")
        expired = await say(fake_bot_api, latecomer, f"/start {old_code}")
        still_out = await say(fake_bot_api, latecomer, "东台村情况")
    assert "注册成功" in welcome.text
    assert "金明哲" in me.text and "东台村" in me.text
    assert "已被使用" in reused.text
    assert "过期" in expired.text
    assert "还没有注册" in still_out.text and "ZG-" not in still_out.text
    with database.transaction() as session:
        registered = session.scalar(select(User).where(User.telegram_id == newcomer.id))
        assert (registered.name, registered.role, registered.scope) == ("金明哲", "village", ["东光镇/东台村"])
        assert session.scalar(select(User).where(User.telegram_id == latecomer.id)) is None


async def test_an_admin_invite_carries_the_deep_link_of_this_bot(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        reply = await say(fake_bot_api, ADMIN, "/invite village 东光镇/东台村 张三")
    assert f"https://t.me/{BOT_USERNAME}?start=" in reply.text  # username from getMe


async def test_an_unregistered_user_is_told_how_to_register(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        reply = await say(fake_bot_api, STRANGER, "刘在龙家情况")
        report = await say(fake_bot_api, STRANGER, "东台村饮水问题已解决")
    assert "邀请码" in reply.text and "刘在龙" not in reply.text and "缺劳力" not in reply.text
    assert "邀请码" in report.text
    assert issue(database, "ZG-0003").status == "未整改"


# -- reports -------------------------------------------------------------------------------


async def test_a_report_is_applied_and_audited(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        update_id = fake_bot_api.send_text(VILLAGE, "东台村饮水问题已解决")
        [reply] = await fake_bot_api.wait_for_messages(VILLAGE.id, 1)
    assert reply.text.startswith("✅ 东光镇东台村 · 饮水：未整改 → 已整改")
    assert issue(database, "ZG-0003").status == "已整改"
    [event] = events(database, "ZG-0003")
    assert (event.old_value, event.new_value, event.source) == ("未整改", "已整改", "telegram")
    assert event.message_text == "东台村饮水问题已解决"
    assert (event.chat_id, event.message_id) == (VILLAGE.id, fake_bot_api.message_id_of(update_id))
    assert inbox.load(database, update_id).replied


async def test_a_report_is_confirmed_with_a_button(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        question = await say(fake_bot_api, TOWNSHIP, "东台村养殖补贴到位了")
        assert question.text.startswith("请确认") and issue(database, "ZG-0004").status == "未整改"
        answer = await press(fake_bot_api, TOWNSHIP, question, "确认")
    assert "已整改" in answer.text
    assert issue(database, "ZG-0004").status == "已整改"
    assert len(fake_bot_api.calls_of("answerCallbackQuery")) == 1


async def test_an_ambiguous_report_asks_which_one(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        question = await say(fake_bot_api, ADMIN, "红旗村住房问题已解决")
        labels = [label for row in question.buttons for label, _ in row]
        assert {"复兴镇红旗村", "天桥岭镇红旗村"} <= set(labels)
        assert issue(database, "ZG-0014").status == "未整改"  # nothing changed while asking
        answer = await press(fake_bot_api, ADMIN, question, "天桥岭镇红旗村")
        if answer.buttons and "确认" in [label for row in answer.buttons for label, _ in row]:
            answer = await press(fake_bot_api, ADMIN, answer, "确认")
    assert issue(database, "ZG-0014").status == "已整改"
    assert issue(database, "ZG-0013").status == "整改中"  # 复兴镇红旗村 untouched


async def test_a_report_that_matches_no_issue_changes_nothing(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        reply = await say(fake_bot_api, VILLAGE, "东台村教育问题已解决")
    assert "没有未销号的教育问题" in reply.text and "未修改" in reply.text
    with database.transaction() as session:
        assert session.scalar(select(IssueEvent).where(IssueEvent.source == "telegram")) is None


async def test_a_report_outside_the_senders_scope_is_refused(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        reply = await say(fake_bot_api, VILLAGE, "李兆满家危房改造完工了")
    assert "不在您的负责范围" in reply.text
    assert issue(database, "ZG-0001").status == "整改中"
    assert events(database, "ZG-0001") == []


async def test_the_same_report_twice_is_applied_once(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        first = await say(fake_bot_api, VILLAGE, "东台村饮水问题已解决")
        second = await say(fake_bot_api, VILLAGE, "东台村饮水问题已解决")
    assert first.text.startswith("✅")
    assert "已记录过" in second.text
    assert len(events(database, "ZG-0003")) == 1


async def test_an_edited_report_is_not_applied_again(fake_bot_api, settings, database):
    async with running_bot(settings, database) as bot:
        update_id = fake_bot_api.send_text(VILLAGE, "东台村饮水工程正在施工")
        await fake_bot_api.wait_for_messages(VILLAGE.id, 1)
        fake_bot_api.edit_text(VILLAGE, fake_bot_api.message_id_of(update_id), "东台村饮水问题已解决")
        [_, notice] = await fake_bot_api.wait_for_messages(VILLAGE.id, 2)
        await bot.intake.wait_idle()
    assert notice.text == "修改后的消息不会重复记录，如需更正请直接发新消息"
    assert issue(database, "ZG-0003").status == "整改中"
    assert len(events(database, "ZG-0003")) == 1


async def test_an_evidence_photo_is_downloaded_and_kept(fake_bot_api, settings, database):
    photo = evidence_images.photo(1)
    async with running_bot(settings, database):
        fake_bot_api.send_photo(VILLAGE, photo, caption="东台村饮水问题已解决")
        [reply] = await fake_bot_api.wait_for_messages(VILLAGE.id, 1)
    assert "佐证材料已保存" in reply.text
    assert [c.params["file_id"] for c in fake_bot_api.calls_of("getFile")]
    [event] = events(database, "ZG-0003")
    with database.transaction() as session:
        [evidence] = session.scalars(select(Evidence))
        assert evidence.change_id == event.change_id and evidence.kind == "photo"
        assert evidence.telegram_file_id in fake_bot_api.files
        assert (Path(settings.storage.evidence_dir) / evidence.stored_path).read_bytes() == photo


async def test_undo_reverts_the_last_change(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        await say(fake_bot_api, VILLAGE, "东台村饮水问题已解决")
        reply = await say(fake_bot_api, VILLAGE, "撤销")
    assert "撤销" in reply.text
    assert issue(database, "ZG-0003").status == "未整改"
    [applied, undone] = events(database, "ZG-0003")
    assert undone.undoes == applied.change_id and (undone.old_value, undone.new_value) == ("已整改", "未整改")


# -- close-out -----------------------------------------------------------------------------


async def test_only_a_supervisor_closes_out(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        await say(fake_bot_api, VILLAGE, "东台村饮水问题已解决")
        refused = await say(fake_bot_api, VILLAGE, "/close ZG-0003")
        assert "督巡办" in refused.text and issue(database, "ZG-0003").status == "已整改"
        closed = await say(fake_bot_api, SUPERVISOR, "/close ZG-0003")
    assert "已销号" in closed.text
    assert issue(database, "ZG-0003").status == "已销号"
    assert [e.new_value for e in events(database, "ZG-0003")] == ["已整改", "已销号"]


# -- queries and privacy -------------------------------------------------------------------


async def test_a_household_query_in_private_shows_the_household(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        reply = await say(fake_bot_api, VILLAGE, "刘在龙家情况")
    assert "刘在龙" in reply.text and "缺劳力" in reply.text and "金明哲" in reply.text


async def test_group_answers_carry_no_household_data(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        fake_bot_api.send_text(VILLAGE, "东台村情况", chat=GROUP)  # not addressed: silence
        area = await say(fake_bot_api, VILLAGE, f"@{BOT_USERNAME} 东台村情况", chat=GROUP)
        household = await say(fake_bot_api, VILLAGE, f"/status@{BOT_USERNAME} 刘在龙", chat=GROUP)
        replied = await say(fake_bot_api, TOWNSHIP, "东光村呢", chat=GROUP, reply_to=area)
    answers = fake_bot_api.messages_to(GROUP.id)
    assert len(answers) == 3  # the unaddressed message got no answer
    assert "东台村" in area.text
    for answer in (area, household, replied):
        for personal in ("刘在龙", "金春花", "缺劳力", "金明哲", "222424-"):
            assert personal not in answer.text, answer.text


# -- faults and crashes with the real engine ----------------------------------------------


async def test_a_429_while_answering_a_report_is_waited_out(fake_bot_api, settings, database):
    fake_bot_api.fail_next("sendMessage", status=429, retry_after=1)
    async with running_bot(settings, database):
        reply = await say(fake_bot_api, VILLAGE, "东台村饮水问题已解决")
    assert reply.text.startswith("✅")
    assert [c.status for c in fake_bot_api.calls_of("sendMessage")] == [429, 200]
    assert len(events(database, "ZG-0003")) == 1


async def test_a_report_journaled_before_a_crash_is_applied_once_after_restart(fake_bot_api, settings, database):
    update_id = fake_bot_api.send_text(VILLAGE, "东台村饮水问题已解决")
    inbox.journal(database, [fake_bot_api.injected[update_id]])  # fetched, then the process died
    async with running_bot(settings, database) as bot:
        [reply] = await fake_bot_api.wait_for_messages(VILLAGE.id, 1)
        await fake_bot_api.wait_until(lambda: fake_bot_api.pending_updates() == 0)
        await bot.intake.wait_idle()
    assert reply.text.startswith("✅")
    assert len(events(database, "ZG-0003")) == 1
    assert len(fake_bot_api.messages_to(VILLAGE.id)) == 1
    with database.transaction() as session:
        row = session.get(InboxUpdate, update_id)
        assert row.done_at is not None and row.replied_at is not None


async def test_a_forwarded_report_is_asked_about_as_relayed(fake_bot_api, settings, database):
    author = FakeUser(7100, "王书记")
    async with running_bot(settings, database):
        question = await say(fake_bot_api, VILLAGE, "东台村饮水问题已解决", forwarded_from=author)
        assert question.text.startswith("转述 王书记 的报告？")
        assert issue(database, "ZG-0003").status == "未整改"
        answer = await press(fake_bot_api, VILLAGE, question, "确认")
    assert "已整改" in answer.text
    assert issue(database, "ZG-0003").status == "已整改"
    assert [e.message_text for e in events(database, "ZG-0003")] == ["［转述自 王书记］东台村饮水问题已解决"]
