"""Users and invites as services: roles fit scopes, codes are hashed, single-use, expiring."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from db.models import AuditLog, Invite, User
from services.errors import InvalidInput, NotFound
from services.invites import InviteRefused, create_invite, hash_code, redeem_invite
from services.users import find_by_name, set_role_and_scope

NOW = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        ("village", "东光镇", "驻村工作队的范围是村"),
        ("department", "东光镇", "行业部门的范围是问题类别"),
        ("township", "", "需要写明范围"),
        ("leader", "东光镇", "范围是全县"),
        ("village", "不存在村", "没有叫“不存在村”"),
        ("boss", "东光镇", "没有“boss”这个角色"),
    ],
)
def test_a_scope_must_fit_the_role(demo_database, role, scope, message):
    with demo_database.transaction() as s, pytest.raises(InvalidInput, match=message):
        create_invite(s, role_text=role, scope_text=scope, name=None, created_by=None, now=NOW, valid_days=7)


def test_bureau_names_and_short_village_names_become_canonical(demo_database):
    with demo_database.transaction() as s:
        water = create_invite(s, role_text="department", scope_text="水利局", name="小李", created_by=None,
                              now=NOW, valid_days=7)
        village = create_invite(s, role_text="村干部", scope_text="东台村，东光村", name=None, created_by=None,
                                now=NOW, valid_days=7)
    assert water.scope == ["饮水"] and village.role == "village"
    assert village.scope == ["东光镇/东台村", "东光镇/东光村"]


def test_a_code_registers_once_and_is_stored_only_as_a_hash(demo_database):
    with demo_database.transaction() as s:
        invite = create_invite(s, role_text="township", scope_text="东光镇", name="金明哲", created_by=None,
                               now=NOW, valid_days=7)
    with demo_database.transaction() as s:
        user = redeem_invite(s, telegram_id=5, code=invite.code, sender_name="Kim", now=NOW,
                             attempts_per_hour=5)
        assert (user.name, user.role, user.scope) == ("金明哲", "township", ["东光镇"])
        row = s.scalar(select(Invite))
        assert row.code_hash == hash_code(invite.code) and row.used_by == user.id
        with pytest.raises(InviteRefused, match="已被使用过"):
            redeem_invite(s, telegram_id=6, code=invite.code, sender_name=None, now=NOW, attempts_per_hour=5)
        actions = set(s.scalars(select(AuditLog.action)))
    assert {"invite_created", "user_registered"} <= actions


def test_a_code_expires_after_the_configured_days(demo_database):
    with demo_database.transaction() as s:
        invite = create_invite(s, role_text="leader", scope_text="", name=None, created_by=None,
                               now=NOW, valid_days=2)
    with demo_database.transaction() as s, pytest.raises(InviteRefused, match="已过期"):
        redeem_invite(s, telegram_id=5, code=invite.code, sender_name=None,
                      now=NOW + dt.timedelta(days=2, seconds=1), attempts_per_hour=5)


def test_changing_a_user_checks_role_and_scope_and_is_audited(demo_database):
    with demo_database.transaction() as s:
        user = set_role_and_scope(s, "水利局小王", "department", "饮水,住房", actor="cli", now=NOW)
        assert user.scope == ["饮水", "住房"]
        with pytest.raises(InvalidInput):
            set_role_and_scope(s, "水利局小王", "village", "东光镇", actor="cli", now=NOW)
        with pytest.raises(NotFound):
            find_by_name(s, "没有这个人")
        s.add(User(name="水利局小王", role="leader", scope=[]))
        s.flush()
        with pytest.raises(InvalidInput, match="请用编号"):
            find_by_name(s, "水利局小王")
        assert s.scalar(select(AuditLog).where(AuditLog.action == "user_changed")) is not None
