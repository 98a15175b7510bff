"""The seam between the parser and the conversation, without a database or a real parser."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Sequence

import pytest

from db.models import User
from nlp.parser import Parse
from services.conversation.context import CommandContext
from services.conversation.messages import Incoming
from services.conversation.turn import parse_text, parser_of, villages_of
from services.issues import VillageDirectory
from services.parser_provider import BoundParser
from services.turn_parser import TurnParser

NOW = dt.datetime(2026, 12, 1, 9, 30)


class ScriptedParser:
    """Answers every text with one parse and remembers what it was asked."""

    def __init__(self, answer: Parse) -> None:
        self.answer = answer
        self.asked: list[tuple[str, dt.date, list[str]]] = []

    def parse(self, text: str, today: dt.date, scope: Sequence[str]) -> Parse:
        self.asked.append((text, today, list(scope)))
        return self.answer

    @property
    def person_names(self) -> tuple[str, ...]:
        return ("李兆满",)

    @property
    def villages(self) -> VillageDirectory:
        return VillageDirectory([])


def _context(user: User, parser: TurnParser | None) -> CommandContext:
    incoming = Incoming(sender_id=1, chat_id=1, text="东台村饮水问题已解决")
    return CommandContext(None, user, incoming, None, None, NOW, parser=parser)  # type: ignore[arg-type]


def test_a_turn_asks_the_parser_with_the_senders_scope_and_day():
    answer = Parse(text="东台村饮水问题已解决", intent="report", village="东台村", status="resolved")
    parser = ScriptedParser(answer)
    cadre = User(name="东台村工作队", role="village", scope=["东光镇/东台村"], active=True)
    leader = User(name="县领导", role="leader", scope=["东光镇"], active=True)

    assert parse_text(_context(cadre, parser), "东台村饮水问题已解决") is answer
    parse_text(_context(leader, parser), "全县逾期")
    assert parser.asked == [
        ("东台村饮水问题已解决", NOW.date(), ["东光镇/东台村"]),
        ("全县逾期", NOW.date(), []),  # county-wide roles read with no scope
    ]


def test_a_turn_without_a_parser_says_so():
    ctx = _context(User(name="x", role="village", scope=[], active=True), None)
    with pytest.raises(RuntimeError, match="without a parser"):
        parser_of(ctx)


def test_the_villages_come_from_the_turns_parser():
    parser = ScriptedParser(Parse(text=""))
    ctx = _context(User(name="x", role="village", scope=[], active=True), parser)
    assert isinstance(villages_of(ctx), VillageDirectory)


@pytest.mark.parametrize("member", ["parse", "person_names", "villages"])
def test_the_real_bound_parser_offers_what_the_seam_asks(member):
    assert hasattr(BoundParser, member)
    if member == "parse":
        assert list(inspect.signature(BoundParser.parse).parameters) == list(
            inspect.signature(TurnParser.parse).parameters
        )
