"""The Telegram transport end to end, through PTB's HTTP path and the fake Bot API server,
with a stand-in engine: what the engine is given, what reaches the chat, and what
survives Telegram's faults and a crash.

The stand-in engine (tests/support/fake_bot_api.py) does what the real one promises: in one
transaction it makes its effect (an AuditLog row), marks the inbox update done and stores
its replies.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import func, select

from db.models import AuditLog, InboxUpdate
from services import inbox
from tests.support.fake_bot_api import BOT_USERNAME, FakeChat, FakeUser, StandInEngine, bot_settings, running_bot

ALICE = FakeUser(1001, "艾丽")
BOB = FakeUser(1002, "鲍勃")
GROUP = FakeChat(-5001, "group", "东光镇工作群")


def effects(database) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(AuditLog))


def inbox_row(database, update_id: int) -> InboxUpdate:
    with database.transaction() as session:
        return session.get(InboxUpdate, update_id)


@pytest.fixture
def settings(fake_bot_api, db_url, tmp_path):
    return bot_settings(fake_bot_api, db_url, tmp_path)


@pytest.fixture
def engine(database):
    return StandInEngine(database)


async def test_private_text_is_answered_and_journaled(fake_bot_api, settings, database, engine, caplog):
    caplog.set_level(logging.INFO)
    async with running_bot(settings, database, engine) as bot:
        update_id = fake_bot_api.send_text(ALICE, "东台村饮水问题已解决")
        [reply] = await fake_bot_api.wait_for_messages(ALICE.id, 1)
        await bot.intake.wait_idle()
    assert reply.text == "收到：东台村饮水问题已解决"
    assert engine.warmed and engine.bot_username == BOT_USERNAME
    incoming = engine.seen[0]
    assert (incoming.sender_id, incoming.chat_id, incoming.chat_type, incoming.addressed) == (
        ALICE.id, ALICE.id, "private", True,
    )
    row = inbox_row(database, update_id)
    assert row.done_at is not None and row.replied_at is not None and row.outcome == "echo"
    assert [c.params["commands"][0]["command"] for c in fake_bot_api.calls_of("setMyCommands")]
    # one log line per update, with ids and outcome but never the text or the sender's name
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"update={update_id} ")]
    assert len(lines) == 1 and "outcome=echo" in lines[0] and f"user={ALICE.id}" in lines[0]
    # (httpx logs request URLs, token included, at INFO: `bot.py run` sets it to WARNING)
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "东台村" not in logged and ALICE.first_name not in logged and fake_bot_api.token not in logged


async def test_group_messages_reach_the_engine_only_when_addressed(fake_bot_api, settings, database, engine):
    async with running_bot(settings, database, engine) as bot:
        fake_bot_api.send_text(ALICE, "大家好", chat=GROUP)
        fake_bot_api.send_text(ALICE, f"@{BOT_USERNAME} 东台村情况", chat=GROUP)
        fake_bot_api.send_text(ALICE, f"/due@{BOT_USERNAME} 东光镇", chat=GROUP)
        fake_bot_api.send_text(ALICE, "/due@other_bot", chat=GROUP)
        await fake_bot_api.wait_for_messages(GROUP.id, 2)
        [first, _] = fake_bot_api.messages_to(GROUP.id)
        fake_bot_api.send_text(BOB, "那红旗村呢", chat=GROUP, reply_to=first)
        await fake_bot_api.wait_for_messages(GROUP.id, 3)
        await bot.intake.wait_idle()
    seen = {incoming.text: incoming for incoming in engine.seen}
    assert seen["大家好"].addressed is False
    assert seen["东台村情况"].addressed is True  # the mention is stripped
    assert seen["/due 东光镇"].addressed is True  # "@bot" is stripped from the command
    assert seen["/due@other_bot"].addressed is False
    assert seen["那红旗村呢"].addressed is True  # a reply to the bot
    assert all(incoming.chat_type == "group" for incoming in engine.seen)
    assert [m.text for m in fake_bot_api.messages_to(GROUP.id)] == [
        "收到：东台村情况", "收到：/due 东光镇", "收到：那红旗村呢",
    ]


async def test_button_press_is_answered_and_edits_the_question(fake_bot_api, settings, database, engine):
    async with running_bot(settings, database, engine):
        fake_bot_api.send_text(ALICE, "选")
        [question] = await fake_bot_api.wait_for_messages(ALICE.id, 1)
        assert question.button_data == ["pa:1:0", "pa:1:1"]
        fake_bot_api.press(ALICE, question, "pa:1:1")
        await fake_bot_api.wait_until(lambda: question.edits == 1)
    assert question.text == "已选择 pa:1:1" and question.buttons == []
    assert len(fake_bot_api.calls_of("answerCallbackQuery")) == 1
    assert engine.seen[-1].callback_data == "pa:1:1" and engine.seen[-1].message_id == question.message_id


async def test_photo_bytes_are_downloaded_for_the_engine(fake_bot_api, settings, database, engine):
    photo = b"\xff\xd8\xff\xe0 a photo of the new well"
    async with running_bot(settings, database, engine):
        fake_bot_api.send_photo(ALICE, photo, caption="东台村饮水问题已解决")
        fake_bot_api.send_text(ALICE, "图")
        await fake_bot_api.wait_for_messages(ALICE.id, 2)
    [with_photo] = [i for i in engine.seen if i.attachment]
    assert with_photo.text == "东台村饮水问题已解决"
    assert with_photo.attachment.kind == "photo" and with_photo.attachment.data == photo
    assert fake_bot_api.calls_of("download")  # fetched through base_file_url
    chart = fake_bot_api.messages_to(ALICE.id)[1]
    assert chart.kind == "photo" and chart.file == b"\x89PNG fake" and chart.text == "进度图"


async def test_a_forwarded_message_counts_as_the_forwarders_own(fake_bot_api, settings, database, engine):
    async with running_bot(settings, database, engine):
        fake_bot_api.send_text(ALICE, "东台村饮水问题已解决", forwarded_from=BOB)
        await fake_bot_api.wait_for_messages(ALICE.id, 1)
    [incoming] = engine.seen
    assert (incoming.sender_id, incoming.text) == (ALICE.id, "东台村饮水问题已解决")


async def test_stickers_and_locations_reach_the_engine_as_unsupported(fake_bot_api, settings, database, engine):
    async with running_bot(settings, database, engine):
        fake_bot_api.send_kind(ALICE, "sticker")
        fake_bot_api.send_kind(ALICE, "location")
        replies = await fake_bot_api.wait_for_messages(ALICE.id, 2)
    assert [i.unsupported for i in engine.seen] == ["sticker", "location"]
    assert {r.text for r in replies} == {"请发文字或带说明的照片"}


async def test_an_edited_message_is_not_applied_and_explained_once(fake_bot_api, settings, database, engine):
    async with running_bot(settings, database, engine) as bot:
        original = fake_bot_api.send_text(ALICE, "东台村饮水问题已解决")
        await fake_bot_api.wait_for_messages(ALICE.id, 1)
        message_id = fake_bot_api.message_id_of(original)
        fake_bot_api.edit_text(ALICE, message_id, "东台村饮水问题整改中")
        fake_bot_api.edit_text(ALICE, message_id, "东台村饮水问题未整改")
        fake_bot_api.edit_text(ALICE, message_id, "改了", chat=GROUP)  # in a group: silence
        await fake_bot_api.wait_for_messages(ALICE.id, 2)
        await bot.intake.wait_idle()
    assert [i.text for i in engine.seen] == ["东台村饮水问题已解决"]
    assert effects(database) == 1
    assert [m.text for m in fake_bot_api.messages_to(ALICE.id)] == [
        "收到：东台村饮水问题已解决",
        "修改后的消息不会重复记录，如需更正请直接发新消息",
    ]
    assert fake_bot_api.messages_to(GROUP.id) == []


async def test_a_429_on_send_is_waited_out_and_the_reply_arrives(fake_bot_api, settings, database, engine):
    fake_bot_api.fail_next("sendMessage", status=429, retry_after=1)
    async with running_bot(settings, database, engine):
        fake_bot_api.send_text(ALICE, "东台村情况")
        [reply] = await fake_bot_api.wait_for_messages(ALICE.id, 1)
    assert reply.text == "收到：东台村情况"
    assert [c.status for c in fake_bot_api.calls_of("sendMessage")] == [429, 200]
    assert effects(database) == 1


async def test_server_errors_on_send_are_retried_without_a_second_effect(fake_bot_api, settings, database, engine):
    fake_bot_api.fail_next("sendMessage", status=500, times=2)
    async with running_bot(settings, database, engine) as bot:
        update_id = fake_bot_api.send_text(ALICE, "东台村情况")
        [reply] = await fake_bot_api.wait_for_messages(ALICE.id, 1)
        await bot.intake.wait_idle()
    assert reply.text == "收到：东台村情况"
    assert [c.status for c in fake_bot_api.calls_of("sendMessage")] == [500, 500, 200]
    assert effects(database) == 1 and len(engine.seen) == 1
    assert inbox_row(database, update_id).replied_at is not None


async def test_a_timed_out_send_is_sent_again(fake_bot_api, settings, database, engine):
    fake_bot_api.slow_next("sendMessage", 6)  # longer than PTB's 5 s read timeout
    async with running_bot(settings, database, engine) as bot:
        update_id = fake_bot_api.send_text(ALICE, "东台村情况")
        [reply] = await fake_bot_api.wait_for_messages(ALICE.id, 1)
        await bot.intake.wait_idle()
    assert reply.text == "收到：东台村情况"
    assert len(fake_bot_api.calls_of("sendMessage")) == 2
    assert effects(database) == 1 and inbox_row(database, update_id).replied_at is not None


async def test_a_failing_get_me_at_start_up_is_retried(fake_bot_api, settings, database, engine):
    fake_bot_api.fail_next("getMe", status=500, times=2)
    fake_bot_api.fail_next("setMyCommands", status=502)
    async with running_bot(settings, database, engine):
        fake_bot_api.send_text(ALICE, "你好")
        await fake_bot_api.wait_for_messages(ALICE.id, 1)
    assert [c.status for c in fake_bot_api.calls_of("getMe")][:3] == [500, 500, 200]
    assert [c.status for c in fake_bot_api.calls_of("setMyCommands")] == [502, 200]


async def test_start_up_gives_up_after_the_configured_retries(fake_bot_api, db_url, tmp_path, database, engine):
    from telegram.error import NetworkError

    settings = bot_settings(fake_bot_api, db_url, tmp_path, startup_retries=2)
    fake_bot_api.fail_next("getMe", status=500, times=5)
    with pytest.raises(NetworkError):
        async with running_bot(settings, database, engine):
            pass
    assert len(fake_bot_api.calls_of("getMe")) == 3


async def test_stopping_while_start_up_retries_ends_the_run(fake_bot_api, db_url, tmp_path, database, engine):
    """SIGTERM while the server waits for its network must not wait out every retry."""
    from bot import build_application, run_application

    settings = bot_settings(fake_bot_api, db_url, tmp_path, startup_retries=1000)
    fake_bot_api.fail_next("getMe", status=500, times=1000)
    stop = asyncio.Event()
    run = asyncio.create_task(run_application(build_application(settings, database, engine), stop=stop))
    await fake_bot_api.wait_until(lambda: len(fake_bot_api.calls_of("getMe")) >= 2)
    stop.set()
    await asyncio.wait_for(run, 10)
    assert len(fake_bot_api.calls_of("getMe")) < 1000 and not engine.warmed


async def test_a_dropped_get_updates_connection_loses_nothing(fake_bot_api, settings, database, engine):
    async with running_bot(settings, database, engine):
        fake_bot_api.drop_next("getUpdates", times=2)
        fake_bot_api.send_text(ALICE, "第一条")
        fake_bot_api.send_text(BOB, "第二条")
        await fake_bot_api.wait_for_messages(ALICE.id, 1)
        await fake_bot_api.wait_for_messages(BOB.id, 1)
    assert 0 in [c.status for c in fake_bot_api.calls_of("getUpdates")]  # the drops happened
    assert effects(database) == 2


async def test_a_user_who_blocked_the_bot_does_not_stop_it(fake_bot_api, settings, database, engine):
    fake_bot_api.forbid(ALICE.id)
    async with running_bot(settings, database, engine) as bot:
        blocked = fake_bot_api.send_text(ALICE, "东台村情况")
        fake_bot_api.send_text(BOB, "东台村情况")
        await fake_bot_api.wait_for_messages(BOB.id, 1)
        await bot.intake.wait_idle()
    row = inbox_row(database, blocked)
    assert row.done_at is not None and row.replied_at is not None  # given up, not retried forever
    assert [c.status for c in fake_bot_api.calls_of("sendMessage") if c.params["chat_id"] == ALICE.id] == [403]


async def test_an_engine_failure_is_answered_with_an_apology(fake_bot_api, settings, database, engine, caplog):
    async with running_bot(settings, database, engine) as bot:
        update_id = fake_bot_api.send_text(ALICE, "崩溃")
        [reply] = await fake_bot_api.wait_for_messages(ALICE.id, 1)
        fake_bot_api.send_text(ALICE, "还在吗")
        await fake_bot_api.wait_for_messages(ALICE.id, 2)
        await bot.intake.wait_idle()
    assert "没有处理成功" in reply.text
    assert inbox_row(database, update_id).outcome == "error"
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR and "engine bug" in str(r.exc_info)]) == 1
    assert len([i for i in engine.seen if i.text == "崩溃"]) == 1  # a bug is not retried


async def test_updates_the_engine_never_sees_are_marked_done(fake_bot_api, settings, database, engine):
    async with running_bot(settings, database, engine) as bot:
        kicked = fake_bot_api.remove_bot(GROUP, by=ALICE)
        joined = fake_bot_api.inject(
            "message",
            {"message_id": 77, "date": 0, "chat": GROUP.to_api(), "from": ALICE.to_api(), "new_chat_members": [BOB.to_api()]},
        )
        fake_bot_api.send_text(ALICE, "你好")
        await fake_bot_api.wait_for_messages(ALICE.id, 1)
        await bot.intake.wait_idle()
    for update_id in (kicked, joined):
        row = inbox_row(database, update_id)
        assert row.done_at is not None and row.replied_at is not None
    assert [i.text for i in engine.seen] == ["你好"]
    assert await asyncio.to_thread(inbox.unfinished, database) == []
