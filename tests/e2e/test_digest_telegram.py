"""Digests through PTB and the fake Bot API server: the minute job delivers text and chart
to a group, honours 429, and a group that removed the bot is unsubscribed."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import select

from db.models import AuditLog, Subscription
from handlers.digest_jobs import CLOCK, JOB_NAME
from services.conversation.messages import Incoming, TurnResult
from tests.support.digest_ledger import TODAY, add_subscription, add_user, build_known_ledger, local
from tests.support.fake_bot_api import FakeChat, FakeUser, bot_settings, running_bot

GROUP = FakeChat(-5001, "group", "县指挥部工作群")
TOWNSHIP_GROUP = FakeChat(-5002, "group", "东光镇工作群")
ADMIN = FakeUser(1001, "管理员")


class IdleEngine:
    """The conversation engine is not under test here; no update reaches it."""

    bot_username: str | None = None

    def warm_up(self) -> None:
        pass

    def handle(self, session, incomings: list[Incoming]) -> list[TurnResult]:
        raise AssertionError(f"engine called with {incomings}")


async def run_minute_job(app, day=TODAY, hour=9):
    """Run the digest job now, as if it were ``hour`` o'clock on ``day``."""
    [job] = app.job_queue.get_jobs_by_name(JOB_NAME)
    job.data[CLOCK] = lambda: local(day, hour)
    await job.run(app)


def texts_and_photos(fake, chat_id):
    return Counter(sent.kind for sent in fake.messages_to(chat_id))


def subscription_active(database, chat_id) -> bool:
    with database.transaction() as session:
        return bool(session.scalars(
            select(Subscription.id).where(Subscription.chat_id == chat_id, Subscription.active.is_(True))
        ).all())


async def test_digest_with_chart_reaches_the_group_once(fake_bot_api, database, db_url, tmp_path):
    fake = fake_bot_api
    await asyncio.to_thread(build_known_ledger, database)
    add_subscription(database, GROUP.id, "")
    add_subscription(database, TOWNSHIP_GROUP.id, "东光镇")
    settings = bot_settings(fake, db_url, tmp_path)
    async with running_bot(settings, database, engine=IdleEngine()) as bot:
        await run_minute_job(bot.app)
        await run_minute_job(bot.app)  # the next minute: nothing is sent twice
        text, photo = await fake.wait_for_messages(GROUP.id, 2)
        township_text, _ = await fake.wait_for_messages(TOWNSHIP_GROUP.id, 2)
    assert text.kind == "text" and text.text.startswith("📋 汪清县问题整改日报 10月12日（周一）")
    assert "🔴 逾期 3 件" in text.text and "李兆满" not in text.text
    assert photo.kind == "photo" and photo.file.startswith(b"\x89PNG")
    assert "整改进度" in photo.text
    assert township_text.text.startswith("📋 东光镇问题整改日报")
    assert texts_and_photos(fake, GROUP.id) == Counter(text=1, photo=1)
    assert texts_and_photos(fake, TOWNSHIP_GROUP.id) == Counter(text=1, photo=1)


async def test_flood_control_429_is_honoured(fake_bot_api, database, db_url, tmp_path):
    fake = fake_bot_api
    await asyncio.to_thread(build_known_ledger, database)
    add_subscription(database, GROUP.id, "")
    # One retry inside PTB's AIORateLimiter, then our own loop waits and sends again.
    settings = bot_settings(fake, db_url, tmp_path, rate_limit_max_retries=1)
    fake.fail_next("sendMessage", status=429, retry_after=1, times=2)
    async with running_bot(settings, database, engine=IdleEngine()) as bot:
        await run_minute_job(bot.app)
        await fake.wait_for_messages(GROUP.id, 2)
    statuses = [call.status for call in fake.calls_of("sendMessage")]
    assert statuses == [429, 429, 200]
    assert texts_and_photos(fake, GROUP.id) == Counter(text=1, photo=1)


async def test_kicked_bot_is_unsubscribed_with_an_event(fake_bot_api, database, db_url, tmp_path):
    fake = fake_bot_api
    await asyncio.to_thread(build_known_ledger, database)
    add_subscription(database, GROUP.id, "")
    add_subscription(database, TOWNSHIP_GROUP.id, "东光镇")
    add_user(database, "管理员", "admin", [], ADMIN.id)
    settings = bot_settings(fake, db_url, tmp_path)
    async with running_bot(settings, database, engine=IdleEngine()) as bot:
        fake.remove_bot(GROUP, by=ADMIN)  # my_chat_member: kicked
        await fake.wait_until(lambda: not subscription_active(database, GROUP.id))
        fake.forbid(TOWNSHIP_GROUP.id)  # removed while the bot was not looking: 403 on send
        await run_minute_job(bot.app)
        await fake.wait_until(lambda: not subscription_active(database, TOWNSHIP_GROUP.id))
        await run_minute_job(bot.app, day=TODAY.replace(day=13))
    assert fake.messages_to(GROUP.id) == []
    assert len([c for c in fake.calls_of("sendMessage") if c.params["chat_id"] == TOWNSHIP_GROUP.id]) == 1
    with database.transaction() as session:
        removed = session.scalars(select(AuditLog).where(AuditLog.action == "bot_removed")).all()
        assert {a.detail["chat_id"] for a in removed} == {GROUP.id, TOWNSHIP_GROUP.id}


async def test_migrated_group_keeps_its_subscription(fake_bot_api, database, db_url, tmp_path):
    fake = fake_bot_api
    await asyncio.to_thread(build_known_ledger, database)
    add_subscription(database, GROUP.id, "")
    settings = bot_settings(fake, db_url, tmp_path)
    supergroup = FakeChat(-1005001, "supergroup", GROUP.title)
    async with running_bot(settings, database, engine=IdleEngine()) as bot:
        fake.migrate(GROUP, supergroup.id, by=ADMIN)
        await fake.wait_until(lambda: subscription_active(database, supergroup.id))
        await run_minute_job(bot.app)
        await fake.wait_for_messages(supergroup.id, 2)
    assert not subscription_active(database, GROUP.id)
    assert fake.messages_to(GROUP.id) == []


async def test_private_reminders_go_out_once_a_day(fake_bot_api, database, db_url, tmp_path):
    fake = fake_bot_api
    await asyncio.to_thread(build_known_ledger, database)
    add_user(database, "驻村队员", "village", ["东光镇/东台村"], 2001)
    settings = bot_settings(fake, db_url, tmp_path)
    async with running_bot(settings, database, engine=IdleEngine()) as bot:
        await run_minute_job(bot.app, hour=8)  # before digest.default_time (08:30): not yet
        assert fake.messages_to(2001) == []
        await run_minute_job(bot.app, hour=9)
        await run_minute_job(bot.app, hour=10)
        [reminder] = await fake.wait_for_messages(2001, 1)
    assert reminder.text.startswith("⏰ 整改提醒（10月12日）")
    assert "ZG-01" in reminder.text and "ZG-02" in reminder.text
    assert len(fake.messages_to(2001)) == 1
