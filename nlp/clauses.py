"""Clauses and facts: a message is cut at punctuation, and neighbouring clauses that talk
about the same place and problem are grouped into one fact.

"东台村饮水问题，已经解决了" is one fact in two clauses; "东台村饮水问题已解决，刘在龙家补贴
还没到位" and "李兆满家危房完工了，慢病卡也办好了" are two facts each. The parser takes the
first fact and asks, and never mixes the place of one fact with the status of another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nlp.gazetteer import Mention
from nlp.lexicon import SPOKEN_CONNECTORS, Match

MASK = "□"  # a ledger name, masked before clauses are cut
STRONG_STOPS = "。;!?\n"
WEAK_STOPS = ",、:"
# spoken connectors too (然后就是, 再一个, 还有 before a name): speech input has no punctuation
# between facts (numerals are digits by now: 再一个 reads 再1个)
_ENUMERATION = re.compile(
    r"(?:[一二三四五六七八九十]是|" + "|".join(SPOKEN_CONNECTORS) + r"|再[一1]个|还有(?=□)|"
    r"第[一二三四五六七八九十\d]+|(?<![\d.])\d+[、.)](?!\d))")


@dataclass
class Clause:
    start: int
    end: int
    stop: str  # the punctuation that ends it ("" at the end of the message)
    mentions: list[Mention] = field(default_factory=list)
    categories: list[tuple[int, str, bool]] = field(default_factory=list)  # (position, category, strong)
    status: list[Match] = field(default_factory=list)
    intent: list[Match] = field(default_factory=list)
    question: bool = False
    rhetorical: bool = False
    weak_question: bool = False
    events: list[str] = field(default_factory=list)  # status events read from this clause
    listed: bool = False  # starts a list item (另外, 再一个, 2.) or a new sentence (after 。;!?)

    @property
    def places(self) -> list[Mention]:
        return [m for m in self.mentions if not m.negated]


class Fact:
    """Neighbouring clauses about one matter; what they name is kept as clauses are added,
    so that grouping a long weekly report stays linear."""

    def __init__(self, clause: Clause) -> None:
        self.clauses: list[Clause] = []
        self.mentions: list[Mention] = []
        self.categories: list[tuple[int, str, bool]] = []
        self.strong_categories: set[str] = set()
        self.has_events = False
        self._named: set[tuple] = set()
        self.add(clause)

    def add(self, clause: Clause) -> None:
        """Append a clause and what it names."""
        self.clauses.append(clause)
        for mention in clause.places:
            key = (mention.surface, mention.options)
            if key not in self._named:  # the same name said again adds nothing
                self._named.add(key)
                self.mentions.append(mention)
        self.categories.extend(clause.categories)
        self.strong_categories.update(c for _, c, strong in clause.categories if strong)
        if not clause.question and any(e != "partial" for e in clause.events):
            self.has_events = True

    @property
    def start(self) -> int:
        return self.clauses[0].start

    @property
    def end(self) -> int:
        return self.clauses[-1].end


def split_clauses(text: str) -> list[Clause]:
    """Clauses between punctuation marks and enumerators (一是…二是…, 另外, 1.)."""
    cuts = {match.start() for match in _ENUMERATION.finditer(text) if match.start() > 0}
    clauses: list[Clause] = []
    start = 0
    listed = False
    for i, ch in enumerate(text):
        if ch in STRONG_STOPS or ch in WEAK_STOPS:
            if i > start:
                clauses.append(Clause(start, i, ch, listed=listed or start in cuts))
            start = i + 1
            listed = ch in STRONG_STOPS
        elif i in cuts and i > start:
            clauses.append(Clause(start, i, "", listed=listed or start in cuts))
            start = i
            listed = False
    if start < len(text):
        clauses.append(Clause(start, len(text), "", listed=listed or start in cuts))
    for clause, following in zip(clauses, clauses[1:]):
        if _ENUMERATION.fullmatch(text, clause.start, clause.end):
            following.listed = True  # 田间路还是烂的，再一个，蔺永平家水管修好了: the connector said alone
    return clauses


def group_facts(clauses: list[Clause]) -> list[Fact]:
    """Neighbouring clauses about the same place and problem, grouped."""
    facts: list[Fact] = []
    current: Fact | None = None
    for clause in clauses:
        if current is None or _starts_new_fact(current, clause):
            current = Fact(clause)
            facts.append(current)
        else:
            current.add(clause)
    return facts


def _starts_new_fact(fact: Fact, clause: Clause) -> bool:
    fact_has_status = fact.has_events
    if clause.question and not clause.rhetorical:
        return fact_has_status  # 东台村水通了，刘在龙黄牛补贴啥时候能到？ -- a second matter
    if clause.places:
        if not fact.mentions:
            return False  # the place comes after the status: 说是修好了，结果李兆满家房顶还是漏
        if clause.listed and (not all(_compatible(m, fact.mentions) for m in clause.places)
                              or _other_problem(fact, clause)):
            return True  # 柳湾村田间路还是烂的 另外蔺永平入户水管修好了: another place or problem, listed
        if not fact_has_status and clause.events and _new_category(fact, clause):
            return True  # 水源井打深了，刘淑芬低保也批下来了: another problem, its own status
        if fact_has_status and not clause.events and _new_category(fact, clause):
            return True  # 村道补完了；韦福明慢病报销材料已送医保局: another matter, its status unread
        if fact_has_status and clause.categories and _names_a_household(clause) and not _names_a_household(fact):
            return True  # 卫生室药配齐了；王翠芝报销还没结: a household's own matter after the village's
        if not fact_has_status or not clause.events:
            return fact_has_status and not all(_compatible(m, fact.mentions) for m in clause.places)
        return not _same_places(clause.places, fact.mentions) or _new_category(fact, clause)
    if clause.events and not fact_has_status and _new_category(fact, clause, strong_only=True):
        # 村医来了，村道又被冲了一截: another problem with its own status; after a topic said
        # alone (冯家焉村村道，水泥拉到了), a weak word (水 of 水泥, 电 of 电工) starts nothing new
        return True
    if not clause.events or not fact_has_status:
        return False
    return _new_category(fact, clause)


def _names_a_household(part) -> bool:
    return any(m.level == "household" for m in part.mentions)


def _new_category(fact: Fact, clause: Clause, strong_only: bool = False) -> bool:
    # 慢病卡办好了，她家后墙又裂了: a weak word (墙) names the clause's problem when no strong one does
    new_categories = {c for _, c, strong in clause.categories if strong} or (
        set() if strong_only else {c for _, c, _s in clause.categories})
    old_categories = fact.strong_categories
    return bool(new_categories) and bool(old_categories) and not (new_categories & old_categories)


def _other_problem(fact: Fact, clause: Clause) -> bool:
    """True when the clause's problem words, strong or weak, name only other categories than the fact's."""
    said, before = {c for _, c, _s in clause.categories}, {c for _, c, _s in fact.categories}
    return bool(said) and bool(before) and not said & before


def _same_places(mentions: list[Mention], others: list[Mention]) -> bool:
    """True when every mention names a place already named (or a place around it)."""
    return all(
        any(set(m.options) <= set(o.options) for o in others) or (m.level != "household" and _compatible(m, others))
        for m in mentions
    )


def _compatible(mention: Mention, others: list[Mention]) -> bool:
    """True when ``mention`` can be the same place as (or inside / around) every other mention."""
    for other in others:
        if other.how == "unknown" or mention.how == "unknown":
            if other.surface != mention.surface:
                return False
            continue
        if not any(_nested(a, b) or _nested(b, a) for a in mention.options for b in other.options):
            return False
    return True


def _nested(inner, outer) -> bool:
    if outer.township != inner.township:
        return False
    if outer.village is not None and outer.village != inner.village:
        return False
    return outer.household_code is None or outer.household_code == inner.household_code
