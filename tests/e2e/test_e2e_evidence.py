"""佐证材料 end to end (issue 17): cadres send photos and documents through the fake Bot API,
the supervisor checks them on the item's card and at 销号, and the export hands them in.
Photos are made with Pillow in the test. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

import bot
from db.models import Evidence, Issue, IssueEvent
from tests.support.evidence_images import near_copy, pdf, photo
from tests.support.fake_bot_api import (
    BOT_USERNAME, SUPERVISOR, TOWNSHIP, VILLAGE, FakeBotApi, FakeChat, FakeUser, Sent, press, running_bot, say,
)

GROUP = FakeChat(-100200300, "supergroup", "东光镇脱贫攻坚群")
TZ = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture
def evidence_dir(settings) -> Path:
    return Path(settings.storage.evidence_dir)


def requiring(settings, *categories: str):
    """The settings with 销号 of these categories needing evidence or a reason."""
    policy = settings.policy.model_copy(update={"evidence_required": list(categories)})
    return settings.model_copy(update={"policy": policy})


async def answer(fake: FakeBotApi, chat_id: int, send) -> Sent:
    """Do ``send()`` (a user's act); return the bot's first new message in ``chat_id``."""
    before = len(fake.messages_to(chat_id))
    send()
    return (await fake.wait_for_messages(chat_id, before + 1))[before]


async def send_photo(fake: FakeBotApi, user: FakeUser, data: bytes, caption: str, **kw) -> Sent:
    chat = kw.get("chat")
    return await answer(fake, chat.id if chat else user.id, lambda: fake.send_photo(user, data, caption, **kw))


def evidence_rows(database) -> list[tuple[str, Evidence]]:
    with database.transaction() as session:
        rows = session.execute(select(Issue.code, Evidence).join(Issue, Evidence.issue_id == Issue.id)
                               .order_by(Evidence.id)).all()
        for _code, row in rows:
            session.expunge(row)
        return [(code, row) for code, row in rows]


def stored_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


def status_change(database, code: str) -> IssueEvent:
    with database.transaction() as session:
        return session.scalars(select(IssueEvent).join(Issue).where(Issue.code == code, IssueEvent.field == "status")
                               .order_by(IssueEvent.id)).first()


def issue_status(database, code: str) -> str:
    with database.transaction() as session:
        return session.scalar(select(Issue.status).where(Issue.code == code))


# -- what is kept -----------------------------------------------------------------------------


async def test_a_photo_over_20_mb_is_never_reported_as_saved(fake_bot_api, settings, database, evidence_dir):
    async with running_bot(settings, database):
        reply = await send_photo(fake_bot_api, VILLAGE, photo(1), "东台村饮水问题已解决", file_size=21 * 1024 * 1024)
    assert "已保存" not in reply.text
    assert "超过 20 MB" in reply.text and "请压缩后重发，或作为照片发送" in reply.text
    assert reply.text.startswith("✅")  # the report itself is applied
    assert fake_bot_api.calls_of("getFile") == []  # Telegram would refuse it anyway
    assert evidence_rows(database) == [] and stored_files(evidence_dir) == []


async def test_an_exe_is_refused_and_files_are_named_by_what_they_hold(fake_bot_api, settings, database, evidence_dir):
    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
    async with running_bot(settings, database):
        refused = await answer(fake_bot_api, VILLAGE.id, lambda: fake_bot_api.send_document(
            VILLAGE, exe, "setup.exe", "东台村饮水问题已解决"))
        assert evidence_rows(database) == [] and stored_files(evidence_dir) == []
        png = photo(2, fmt="PNG")
        kept = await answer(fake_bot_api, VILLAGE.id, lambda: fake_bot_api.send_document(
            VILLAGE, png, "现场.jpg", "东台村饮水工程正在施工"))
        report = await answer(fake_bot_api, VILLAGE.id, lambda: fake_bot_api.send_document(
            VILLAGE, pdf(), "验收单.pdf", "东台村饮水工程已完工，验收合格"))
    assert "已保存" not in refused.text and "只收照片" in refused.text and "PDF" in refused.text
    assert "佐证材料已保存" in kept.text and "佐证材料已保存" in report.text
    files = stored_files(evidence_dir)
    assert sorted(path.suffix for path in files) == [".pdf", ".png"]  # a PNG named .jpg is kept as .png
    assert all(path.parent.name == dt.datetime.now(TZ).strftime("%Y-%m") for path in files)
    assert not any(path.suffix == ".exe" for path in files)


async def test_a_duplicate_report_attaches_its_photo_to_the_earlier_record(fake_bot_api, settings, database,
                                                                          evidence_dir):
    async with running_bot(settings, database):
        first = await say(fake_bot_api, VILLAGE, "东台村饮水问题已解决")
        again = await send_photo(fake_bot_api, VILLAGE, photo(3), "东台村饮水问题已解决")
    assert first.text.startswith("✅")
    assert "已记录过" in again.text and "佐证已附到原记录" in again.text
    [(code, row)] = evidence_rows(database)
    assert code == "ZG-0003" and row.change_id == status_change(database, "ZG-0003").change_id
    assert stored_files(evidence_dir) == [(evidence_dir / row.stored_path).resolve()]


async def test_a_refused_or_cancelled_report_keeps_no_photo(fake_bot_api, settings, database, evidence_dir):
    async with running_bot(settings, database):
        refused = await send_photo(fake_bot_api, VILLAGE, photo(4), "李兆满家危房改造完工了")
        question = await send_photo(fake_bot_api, TOWNSHIP, photo(5), "东台村养殖补贴到位了")
        assert question.text.startswith("请确认") and len(stored_files(evidence_dir)) == 1  # kept for the answer
        cancelled = await press(fake_bot_api, TOWNSHIP, question, "取消")
    assert "不在您的负责范围" in refused.text and "佐证未保存" in refused.text
    assert "已取消" in cancelled.text and "佐证未保存" in cancelled.text
    assert evidence_rows(database) == [] and stored_files(evidence_dir) == []


async def test_housekeeping_removes_files_no_record_points_to(fake_bot_api, settings, database, evidence_dir):
    from services.evidence import prune_orphans

    async with running_bot(settings, database):
        await send_photo(fake_bot_api, VILLAGE, photo(6), "东台村饮水问题已解决")
    [kept] = stored_files(evidence_dir)
    orphan = evidence_dir / "2026-01" / f"{'0a' * 16}.jpg"  # its row was never committed
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(photo(7))
    young = evidence_dir / "2026-01" / f"{'0b' * 16}.jpg"  # a question's file, still open
    young.write_bytes(photo(8))
    foreign = [evidence_dir / "说明.txt", evidence_dir / "2026-01" / "notes.txt"]  # not the bot's
    for path in foreign:
        path.write_text("keep")
    now = dt.datetime.now(dt.timezone.utc)
    assert prune_orphans(database, settings, now + dt.timedelta(hours=1)) == 0  # all within the grace period
    for path in (orphan, kept, *foreign):
        os.utime(path, (now.timestamp() - 72 * 3600,) * 2)
    assert prune_orphans(database, settings, now) == 1
    owner = evidence_dir / ".owner"  # the first sweep names the folder's database
    assert stored_files(evidence_dir) == sorted([kept, young, *foreign, owner])


# -- recycled evidence ------------------------------------------------------------------------


async def test_the_same_photo_for_two_items_is_flagged_to_sender_and_supervisor(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        first = await send_photo(fake_bot_api, VILLAGE, photo(9), "东台村饮水问题已解决")
        question = await send_photo(fake_bot_api, TOWNSHIP, near_copy(9), "东台村养殖补贴到位了")
        second = await press(fake_bot_api, TOWNSHIP, question, "确认")
        other = await send_photo(fake_bot_api, VILLAGE, photo(10), "东台村饮水问题已解决")
        card = await say(fake_bot_api, SUPERVISOR, "/status ZG-0004")
        clean = await say(fake_bot_api, SUPERVISOR, "/status ZG-0003")
    assert "⚠️" not in first.text and "⚠️" not in other.text  # a different photo is not flagged
    assert "佐证材料已保存" in second.text and "⚠️" in second.text and "其他问题的佐证" in second.text
    assert "与ZG-0003 的佐证相同" in card.text and "📎1⚠️" in card.text
    assert "⚠️" not in clean.text
    flagged = [row for code, row in evidence_rows(database) if code == "ZG-0004"]
    assert len(flagged) == 1 and flagged[0].reused_of is not None


async def test_an_old_photo_is_marked_with_its_capture_date(fake_bot_api, settings, database):
    taken = dt.datetime.now(TZ).replace(tzinfo=None) - dt.timedelta(days=90)
    async with running_bot(settings, database):
        reply = await send_photo(fake_bot_api, VILLAGE, photo(11, taken=taken), "东台村饮水问题已解决")
        card = await say(fake_bot_api, SUPERVISOR, "/status ZG-0003")
    assert "佐证材料已保存" in reply.text and f"拍摄于 {taken.date().isoformat()}" in reply.text
    assert f"照片拍摄于 {taken.date().isoformat()}" in card.text and "📎1📷" in card.text


# -- reading evidence back --------------------------------------------------------------------


async def test_a_supervisor_opens_the_evidence_of_a_change(fake_bot_api, settings, database):
    jpeg, document = photo(12), pdf()
    async with running_bot(settings, database):
        await send_photo(fake_bot_api, VILLAGE, jpeg, "东台村饮水问题已解决")
        duplicate = await answer(fake_bot_api, VILLAGE.id, lambda: fake_bot_api.send_document(
            VILLAGE, document, "验收单.pdf", "东台村饮水问题已解决"))
        assert "佐证已附到原记录" in duplicate.text
        card = await say(fake_bot_api, SUPERVISOR, "/status ZG-0003")
        before = len(fake_bot_api.messages_to(SUPERVISOR.id))
        fake_bot_api.press(SUPERVISOR, card, card.button("查看佐证"))
        sent = (await fake_bot_api.wait_for_messages(SUPERVISOR.id, before + 3))[before:]
        township_card = await say(fake_bot_api, TOWNSHIP, "/status ZG-0003")
        reporter_card = await say(fake_bot_api, VILLAGE, "/status ZG-0003")
    assert "📎2" in card.text and "查看佐证（2）" in " ".join(label for row in card.buttons for label, _ in row)
    header, first, second = sent
    assert header.kind == "text" and "佐证 2 件" in header.text
    assert (first.kind, first.file) == ("photo", jpeg) and first.text == "ZG-0003 佐证 1/2"
    assert (second.kind, second.file) == ("document", document) and second.file_name == "ZG-0003_2.pdf"
    assert "📎" not in township_card.text and township_card.buttons == []  # neither viewer nor reporter
    assert "📎2" in reporter_card.text and "查看佐证（2）" in str(reporter_card.buttons)  # the reporter's own


# -- 销号 ------------------------------------------------------------------------------------


async def test_close_out_shows_the_evidence_first(fake_bot_api, settings, database):
    async with running_bot(settings, database):
        await send_photo(fake_bot_api, VILLAGE, photo(13), "东台村饮水问题已解决")
        question = await say(fake_bot_api, SUPERVISOR, "东台村饮水问题销号")
        assert issue_status(database, "ZG-0003") == "已整改"
        labels = [label for row in question.buttons for label, _ in row]
        assert labels[0].startswith("📎 查看佐证（1）") and "销号" in labels
        assert "这次整改有佐证 1 件" in question.text
        closed = await press(fake_bot_api, SUPERVISOR, question, "销号")
    assert "已整改 → 已销号" in closed.text and "📎 佐证 1 件" in closed.text
    assert issue_status(database, "ZG-0003") == "已销号"


async def test_close_out_without_required_evidence_asks_for_a_reason(fake_bot_api, settings, database):
    async with running_bot(requiring(settings, "饮水"), database):
        await say(fake_bot_api, VILLAGE, "东台村饮水问题已解决")
        card = await say(fake_bot_api, SUPERVISOR, "/status ZG-0003")
        asked = await say(fake_bot_api, SUPERVISOR, "/close ZG-0003")
        assert issue_status(database, "ZG-0003") == "已整改"
        closed = await say(fake_bot_api, SUPERVISOR, "/close ZG-0003 现场核查属实，村民签字确认")
    assert "没有佐证材料" in card.text and "销号" not in [label for row in card.buttons for label, _ in row]
    assert "没有佐证材料（饮水类销号须有佐证）" in asked.text and "/close ZG-0003 理由" in asked.text
    assert "已整改 → 已销号" in closed.text and "无佐证，理由：现场核查属实" in closed.text
    assert issue_status(database, "ZG-0003") == "已销号"
    with database.transaction() as session:
        reasons = session.scalars(select(IssueEvent.new_value).where(IssueEvent.field == "close_reason")).all()
    assert reasons == ["现场核查属实，村民签字确认"]


async def test_close_out_of_a_category_without_the_rule_says_there_is_no_evidence(fake_bot_api, settings, database):
    async with running_bot(requiring(settings, "住房"), database):
        await say(fake_bot_api, VILLAGE, "东台村饮水问题已解决")
        closed = await say(fake_bot_api, SUPERVISOR, "/close ZG-0003")
    assert "已整改 → 已销号" in closed.text and "没有佐证材料" in closed.text


# -- groups -----------------------------------------------------------------------------------


async def test_groups_never_receive_evidence_files_or_captions(fake_bot_api, settings, database):
    caption = f"@{BOT_USERNAME} 东台村饮水问题已解决，管道已换新"
    async with running_bot(settings, database):
        reply = await send_photo(fake_bot_api, VILLAGE, photo(14), caption, chat=GROUP)
        card = await say(fake_bot_api, SUPERVISOR, f"/status@{BOT_USERNAME} ZG-0003", chat=GROUP)
        private = await say(fake_bot_api, SUPERVISOR, "/status ZG-0003")
        # a 查看佐证 button pressed in the group (forged from the private card) sends nothing there
        view = private.button("查看佐证")
        forged = Sent(GROUP.id, card.message_id, card.text, buttons=[[("📎", view)]])
        refused = await answer(fake_bot_api, GROUP.id, lambda: fake_bot_api.press(SUPERVISOR, forged, view))
    assert "佐证材料已保存" in reply.text
    group_messages = fake_bot_api.messages_to(GROUP.id)
    assert [m.kind for m in group_messages] == ["text"] * len(group_messages)
    for method in ("sendPhoto", "sendDocument", "sendMediaGroup"):
        assert [c for c in fake_bot_api.calls_of(method) if c.params.get("chat_id") == GROUP.id] == []
    for message in group_messages:
        assert "管道已换新" not in message.text
        assert "📎1" not in message.text and "查看佐证" not in str(message.buttons)
    assert "佐证" not in card.text and "📎" not in str(card.buttons)  # (a supervisor's 销号 button stays)
    assert "私聊" in refused.text
    assert "📎1" in private.text  # the same card in private shows it


# -- export and backup ------------------------------------------------------------------------


async def test_export_writes_evidence_counts_and_files_for_an_inspection(fake_bot_api, settings, database, db_url,
                                                                         tmp_path, monkeypatch, capsys):
    first, second = photo(15), pdf()
    async with running_bot(settings, database):
        await send_photo(fake_bot_api, VILLAGE, first, "东台村饮水问题已解决")
        await answer(fake_bot_api, VILLAGE.id, lambda: fake_bot_api.send_document(
            VILLAGE, second, "验收单.pdf", "东台村饮水问题已解决"))
    monkeypatch.setenv("GONGJIAN_EVIDENCE_DIR", settings.storage.evidence_dir)
    out, folder = tmp_path / "台账.xlsx", tmp_path / "检查"
    assert bot.main(["export", str(out), "--db", db_url, "--evidence", str(folder)]) == 0
    assert "佐证材料：2 个文件" in capsys.readouterr().out
    day = dt.datetime.now(TZ).date().isoformat()
    assert sorted(path.name for path in folder.iterdir()) == [f"ZG-0003_{day}_1.jpg", f"ZG-0003_{day}_2.pdf"]
    assert (folder / f"ZG-0003_{day}_1.jpg").read_bytes() == first
    assert (folder / f"ZG-0003_{day}_2.pdf").read_bytes() == second
    sheet = load_workbook(out)["问题整改台账"]
    rows = list(sheet.iter_rows(values_only=True))
    column = rows[0].index("佐证数")
    counts = {row[0]: row[column] for row in rows[1:]}
    assert counts["ZG-0003"] == 2 and counts["ZG-0004"] == 0
    written = out.stat().st_mtime_ns
    assert bot.main(["export", str(out), "--db", db_url]) != 0  # no silent overwrite
    assert "--force" in capsys.readouterr().err and out.stat().st_mtime_ns == written
    assert bot.main(["export", str(tmp_path / "新.xlsx"), "--db", db_url, "--evidence", str(folder)]) != 0
    assert not (tmp_path / "新.xlsx").exists()
    assert bot.main(["export", str(out), "--db", db_url, "--evidence", str(folder), "--force"]) == 0


async def test_backup_includes_the_evidence_folder(fake_bot_api, settings, database, db_url, tmp_path,
                                                   monkeypatch, capsys):
    jpeg = photo(16)
    async with running_bot(settings, database):
        await send_photo(fake_bot_api, VILLAGE, jpeg, "东台村饮水问题已解决")
    monkeypatch.setenv("GONGJIAN_EVIDENCE_DIR", settings.storage.evidence_dir)
    out = tmp_path / "备份" / "gongjian.db"
    out.parent.mkdir()
    code = bot.main(["backup", str(out), "--db", db_url])
    if not db_url.startswith("sqlite"):
        assert code != 0 and settings.storage.evidence_dir in capsys.readouterr().err  # pg_dump, and the folder
        return
    assert code == 0
    [(_code, row)] = evidence_rows(database)
    assert (out.parent / "gongjian-evidence" / row.stored_path).read_bytes() == jpeg
