"""The ledger's tables.

Places (Township, Village), people in the ledger (Household), the issue ledger itself
(Issue with its append-only IssueEvent history and Evidence), the bot's users and
invites, and the bot's own bookkeeping (inbox of Telegram updates, pending
confirmations, digest subscriptions and deliveries, reminders, audit log).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base
from db.types import UTCDateTime, utcnow


class Township(Base):
    """乡镇."""

    __tablename__ = "township"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)

    villages: Mapped[list[Village]] = relationship(back_populates="township")


class Village(Base):
    """村. Names are unique within a township only (two townships may both have a 新村)."""

    __tablename__ = "village"
    __table_args__ = (UniqueConstraint("township_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("township.id"), index=True)
    name: Mapped[str] = mapped_column(String(64), index=True)

    township: Mapped[Township] = relationship(back_populates="villages")

    @property
    def full_name(self) -> str:
        return f"{self.township.name}{self.name}"


class Household(Base):
    """A registered household (建档立卡户)."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # 户编号
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    head_name: Mapped[str] = mapped_column(String(64), index=True)  # 户主姓名
    size: Mapped[int] = mapped_column(Integer)  # 家庭人口
    status: Mapped[str] = mapped_column(String(16))  # 未脱贫/已脱贫/监测户
    poverty_cause: Mapped[str | None] = mapped_column(String(128))  # 致贫原因
    helper: Mapped[str | None] = mapped_column(String(64))  # 帮扶责任人

    village: Mapped[Village] = relationship()


class Issue(Base):
    """One line of the 问题台账. ``version`` guards against lost updates."""

    __tablename__ = "issue"
    __table_args__ = (
        Index("ix_issue_village_status", "village_id", "status"),
        Index("ix_issue_status_deadline", "status", "deadline"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # 编号, e.g. ZG-0001
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    category: Mapped[str] = mapped_column(String(16), index=True)  # 问题类别
    description: Mapped[str] = mapped_column(Text)  # 问题描述
    status: Mapped[str] = mapped_column(String(16))  # 未整改/整改中/已整改/已销号
    deadline: Mapped[dt.date | None] = mapped_column(Date)  # 整改期限
    responsible_unit: Mapped[str | None] = mapped_column(String(64))  # 责任单位
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)  # 督办
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    village: Mapped[Village] = relationship()
    household: Mapped[Household | None] = relationship()

    __mapper_args__ = {"version_id_col": version}


class IssueEvent(Base):
    """Append-only history: who changed which field of which issue, from which message.

    A ``change_id`` groups the fields changed by one act (a report that sets status and
    deadline together), so that undo reverts the act as a whole. ``undoes`` points at the
    change an undo reverted. Rows are never updated or deleted.
    """

    __tablename__ = "issue_event"
    __table_args__ = (Index("ix_issue_event_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[str] = mapped_column(String(36), index=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issue.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(64))  # user's name, or "import"
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    field: Mapped[str] = mapped_column(String(32))  # status / deadline / created / ...
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    message_text: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))  # import / telegram / console / cli
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    undoes: Mapped[str | None] = mapped_column(String(36))

    issue: Mapped[Issue] = relationship()


class Evidence(Base):
    """佐证材料: a photo or document sent with a report, linked to the change it supports."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[str] = mapped_column(String(36), index=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issue.id"), index=True)
    telegram_file_id: Mapped[str | None] = mapped_column(String(256))
    stored_path: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))  # photo / document
    file_name: Mapped[str | None] = mapped_column(String(256))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))  # who sent it
    sha256: Mapped[str | None] = mapped_column(String(64), index=True)  # the bytes: the same file again
    phash: Mapped[str | None] = mapped_column(String(16))  # an image's perceptual hash (hex)
    taken_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # EXIF DateTimeOriginal
    # The earlier evidence this one repeats (the same or a near-identical image) for another
    # item or from another person: shown to the supervisor on the item's card.
    reused_of: Mapped[int | None] = mapped_column(ForeignKey("evidence.id"))


class User(Base):
    """A registered cadre. ``scope`` holds canonical names: township 东光镇, village
    东光镇/东台村, or category 饮水; empty for county-wide roles."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invite(Base):
    """A one-time registration code; only its SHA-256 is stored."""

    __tablename__ = "invite"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    scope: Mapped[list[str]] = mapped_column(JSON, default=list)
    name: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


class InviteAttempt(Base):
    """A failed /start code, kept to rate-limit guessing."""

    __tablename__ = "invite_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PendingAction(Base):
    """A question the bot asked (inline buttons) and the action each answer takes."""

    __tablename__ = "pending_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ReadingExample(Base):
    """A cadre's answer to the bot's reading of a message: a labelled example to learn from.

    ``reading`` is what the parser made of the text; ``final`` what the person chose (what was
    written, or ``{"intent": "none"}`` when they said it was no report). ``township`` and
    ``village`` scope the example like the issue it touched, so only people covering that place
    see its text.
    """

    __tablename__ = "reading_example"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    reading: Mapped[dict] = mapped_column(JSON)
    final: Mapped[dict] = mapped_column(JSON)
    choice: Mapped[str] = mapped_column(String(16))  # confirmed | corrected | declined
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issue.id"), index=True)
    township: Mapped[str | None] = mapped_column(String(64))
    village: Mapped[str | None] = mapped_column(String(64))


class InboxUpdate(Base):
    """Durable inbox: a Telegram update is stored before its offset is confirmed and
    marked done in the same transaction as its effect."""

    __tablename__ = "inbox_update"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    outcome: Mapped[str | None] = mapped_column(String(32))
    # Replies produced by handling the update, stored in the same transaction as its effect
    # and sent afterwards, so that a crash between commit and send loses no reply.
    replies: Mapped[list | None] = mapped_column(JSON)
    replied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Subscription(Base):
    """A group chat's daily digest: scope (县 / township / 乡镇/村 / category) and time."""

    __tablename__ = "subscription"
    __table_args__ = (UniqueConstraint("chat_id", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    chat_title: Mapped[str | None] = mapped_column(String(128))  # as of the last /subscribe there
    scope: Mapped[str] = mapped_column(String(64))
    send_time: Mapped[str] = mapped_column(String(5))  # HH:MM, county time zone
    weekly: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DigestDelivery(Base):
    """Claim-then-send record that makes each (subscription, date) digest go out once."""

    __tablename__ = "digest_delivery"
    __table_args__ = (UniqueConstraint("subscription_id", "digest_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id"))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    digest_date: Mapped[dt.date] = mapped_column(Date)
    claimed_by: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    summary: Mapped[dict | None] = mapped_column(JSON)  # figures, for "change since last"


class Reminder(Base):
    """A private reminder sent for an issue entering 🟡 (due) or 🔴 (overdue), once per stage."""

    __tablename__ = "reminder"
    __table_args__ = (UniqueConstraint("issue_id", "stage", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issue.id"))
    stage: Mapped[str] = mapped_column(String(16))  # due / overdue
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    sent_on: Mapped[dt.date] = mapped_column(Date)


class AuditLog(Base):
    """Events that are not issue changes: users, invites, subscriptions, kicked bots."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
