"""People and permissions through the engine: invites, /start, /me, /users, strangers."""

from __future__ import annotations

import re

from sqlalchemy import select

from db.models import Invite, InviteAttempt, User
from services.invites import hash_code
from tests.support.engine_chat import Chat, chat_as, issue_state

NEWCOMER = 777001


def _invite(admin: Chat, args: str) -> str:
    admin.say(f"/invite {args}")
    match = re.search(r"start=([A-Za-z0-9_-]+)", admin.text)
    assert match, admin.text
    return match.group(1)


def test_an_invite_registers_the_newcomer_with_its_role_and_scope(engine, demo_database):
    admin = chat_as(engine, "演示管理员")
    code = _invite(admin, "village 东光镇/东台村 金明哲")
    assert "https://t.me/gongjian_test_bot?start=" in admin.text
    newcomer = Chat(engine, NEWCOMER)
    newcomer.say(f"/start {code}")
    assert "注册成功" in newcomer.text and "金明哲" in newcomer.text
    newcomer.say("/me")
    assert "驻村工作队" in newcomer.text and "东光镇东台村" in newcomer.text
    with demo_database.transaction() as s:
        user = s.scalar(select(User).where(User.telegram_id == NEWCOMER))
        assert (user.name, user.role, user.scope) == ("金明哲", "village", ["东光镇/东台村"])
        stored = s.scalars(select(Invite.code_hash)).all()
        assert hash_code(code) in stored and code not in stored  # only the hash is kept


def test_a_used_code_does_not_register_a_second_person(engine):
    code = _invite(chat_as(engine, "演示管理员"), "leader 全县 张县长")
    Chat(engine, NEWCOMER).say(f"/start {code}")
    second = Chat(engine, NEWCOMER + 1)
    second.say(f"/start {code}")
    assert second.text == "该邀请码已被使用过，请向管理员重新索取。"
    second.say("/status")
    assert "还没有注册" in second.text


def test_an_expired_code_is_refused(engine, clock):
    code = _invite(chat_as(engine, "演示管理员"), "township 东光镇")
    clock.advance(days=8)
    newcomer = Chat(engine, NEWCOMER)
    newcomer.say(f"/start {code}")
    assert newcomer.text == "该邀请码已过期，请向管理员重新索取。"


def test_guessing_codes_is_stopped_even_before_a_valid_code(engine, demo_database, clock):
    code = _invite(chat_as(engine, "演示管理员"), "village 东台村")
    guesser = Chat(engine, NEWCOMER)
    for n in range(5):
        guesser.say(f"/start guess{n}")
        assert guesser.text == "邀请码无效，请核对或向管理员重新索取。"
    guesser.say(f"/start {code}")
    assert guesser.text == "尝试次数过多，请一小时后再试。"
    with demo_database.transaction() as s:
        assert s.scalar(select(User).where(User.telegram_id == NEWCOMER)) is None
        assert len(s.scalars(select(InviteAttempt)).all()) == 5
    clock.advance(minutes=61)
    guesser.say(f"/start {code}")
    assert "注册成功" in guesser.text


def test_strangers_read_and_write_nothing(engine, demo_database):
    stranger = Chat(engine, NEWCOMER)
    before = issue_state(demo_database, "ZG-0003")
    for text in ("东台村饮水问题已解决", "李兆满家情况", "/status 东台村", "/start", "/due"):
        stranger.say(text)
        assert len(stranger.last) == 1
        assert "还没有注册" in stranger.text and "邀请码" in stranger.text
        assert "ZG-" not in stranger.text and "李兆满" not in stranger.text
    assert issue_state(demo_database, "ZG-0003") == before


def test_only_admins_invite_and_never_in_a_group(engine):
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("/invite village 东台村")
    assert cadre.text == "只有管理员可以管理用户和邀请。"
    group = chat_as(engine, "演示管理员", group=True)
    group.say("/invite village 东台村")
    assert "请私聊" in group.text and "start=" not in group.text


def test_invite_with_a_bad_scope_says_why(engine):
    admin = chat_as(engine, "演示管理员")
    admin.say("/invite village 新兴村")
    assert admin.text == "“新兴村”在多个乡镇都有，请写成 汪清镇/新兴村、百草沟镇/新兴村。"
    admin.say("/invite mayor 东光镇")
    assert admin.text.startswith("没有“mayor”这个角色")


def test_admin_changes_and_disables_users(engine):
    admin = chat_as(engine, "演示管理员")
    admin.say("/users")
    assert "东台村工作队 · 驻村工作队 · 范围：东光镇东台村" in admin.text
    admin.say("/users set 东台村工作队 township 东光镇")
    assert admin.text == "已修改：东台村工作队 · 乡镇干部 · 范围：东光镇"
    cadre = chat_as(engine, "东台村工作队")
    cadre.say("/me")
    assert "乡镇干部" in cadre.text
    admin.say("/users disable 东台村工作队")
    assert admin.text.startswith("已停用")
    cadre.say("东台村饮水问题已解决")
    assert cadre.text == "您的账号已停用，如有疑问请联系县扶贫办管理员。"
    admin.say("/users disable 演示管理员")
    assert admin.text == "这是最后一个管理员，不能停用。"
