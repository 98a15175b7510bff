"""/digest through PTB and the fake Bot API: text, then the chart, drawn after the engine's
turn committed, while other chats' reports go on."""

from __future__ import annotations

import asyncio
import threading


from services.conversation import digest_commands
from tests.support.digest_ledger import transaction_open
from tests.support.fake_bot_api import (
    SUPERVISOR, VILLAGE, FakeChat, running_bot, say,
)

GROUP = FakeChat(-100200300, "supergroup", "东光镇脱贫攻坚群")


async def test_digest_command_sends_its_chart_without_holding_up_reports(
    fake_bot_api, database, db_url, today, settings, monkeypatch
):
    fake = fake_bot_api
    drawing, report_answered = threading.Event(), threading.Event()
    seen = {}
    draw = digest_commands.draw_progress_chart

    def slow_draw(chart):
        seen["transaction_open"] = transaction_open(db_url)
        drawing.set()
        seen["report_answered_meanwhile"] = report_answered.wait(timeout=20)
        return draw(chart)

    monkeypatch.setattr(digest_commands, "draw_progress_chart", slow_draw)
    async with running_bot(settings, database):
        text = await say(fake, SUPERVISOR, "/digest", chat=GROUP)
        assert text.kind == "text" and text.text.startswith("📋 汪清县问题整改日报")
        await asyncio.to_thread(drawing.wait, 20)
        answer = await say(fake, VILLAGE, "东台村饮水问题已解决")  # another chat, while the chart is drawn
        report_answered.set()
        assert answer.text.startswith("✅ 东光镇东台村 · 饮水：未整改 → 已整改")
        _, photo = await fake.wait_for_messages(GROUP.id, 2)
    assert photo.kind == "photo" and photo.file.startswith(b"\x89PNG")
    assert photo.text == f"汪清县各乡镇整改进度（{today.month}月{today.day}日）"
    assert seen == {"transaction_open": False, "report_answered_meanwhile": True}

