"""The parser: short Chinese text -> a checked, structured intent (see docs/parser-contract.md).

Steps, each in its own module: normalise (script, width, punctuation) -> find ledger names
(gazetteer; numerals rewritten only outside them) -> lexicon words, deadline -> clauses and
facts -> question or statement (intents) -> status by aspect and negation (status) -> place,
category, report vs new issue against the ledger -> whether to ask before writing.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nlp import intents as I
from nlp.clauses import MASK, Clause, Fact, group_facts, split_clauses
from nlp.deadlines import Deadline, find_deadlines
from nlp.doubts import read_doubts
from nlp.gazetteer import Gazetteer, Mention, Place, ScopeFilter
from nlp.intents import WHERE_DONE, clause_form, mentions_ledger
from nlp.lexicon import IGNORE, KeywordMatcher, Lexicon, Match, load_lexicon
from nlp.normalise import Normaliser
from nlp.reader import AGREE_AT, SHIPPED_MODEL, Guess, StatisticalReader, reader_text
from nlp.snapshot import IssueRef, LedgerSnapshot
from nlp.status import DONE_EVENTS, IN_PROGRESS, MATTER, OPEN, RESOLVED, STEPS, as_done, clause_events, decide
from nlp.workdays import WorkCalendar
from vocab import CATEGORIES

MAX_ANALYSED_CHARS = 2000  # a longer message is read up to here and always confirmed
CONFIRM_BELOW = 0.6
# The rules cannot read a message that names a place and a problem: when the second reader
# reads a report at least this likely, the bot asks about the report instead of "没看懂"
# (chosen on the development sets by cross-validation, python -m tests.corpus.crossval).
RESCUE_AT = 0.6
# When the readers disagree on a status and the statistical reader gives its own at least this
# probability, its status is the one offered first (always asked). Cross-validation on 3,658
# development messages said no (worse); on 4,960 it says yes (status 94.7% -> 95.5%, no more
# wrong writes or questions).
OFFER_READERS_AT = 0.9
# A write's category the statistical reader gives less than this probability is asked
# (chosen on the development sets by cross-validation; 0 turns the check off).
CATEGORY_AGREE_AT = 0.2
# Evidence of one character (交了, 修了) or a new item's category from one character (水, 路)
# is a guess the rules cannot explain: it is written without a question only when the
# statistical reader is this sure of the same reading (its "confident" level).
SURE_AT = 0.8


@dataclass
class Candidate:
    township: str | None
    village: str | None
    household: str | None
    household_code: str | None
    score: float

    def to_contract(self) -> dict:
        """The contract's candidate object."""
        return {"township": self.township, "village": self.village, "household": self.household,
                "score": round(self.score, 3)}


@dataclass
class Parse:
    text: str
    intent: str = I.UNKNOWN
    township: str | None = None
    village: str | None = None
    household: str | None = None
    household_code: str | None = None
    category: str | None = None
    status: str | None = None
    deadline: dt.date | None = None
    needs_confirmation: bool = False
    candidates: list[Candidate] = field(default_factory=list)
    confidence: float = 0.0
    reasons: list[str] = field(default_factory=list)
    reader_text: str = ""  # the message as the second reader sees it (names by kind)
    guess: Guess | None = None  # the second reader's guess
    issue_code: str | None = None  # the ledger issue a report is about, when there is exactly one
    flags: set[str] = field(default_factory=set)  # why it asks, as kinds: near, hedge, order, several …
    facts: list[Parse] = field(default_factory=list)  # every fact, when a message states several
    offered_status: str | None = None  # no status read: the statistical reader's guess, offered first
    problem: str = ""  # the problem phrase (村部屋顶漏水), for a new item's description
    ack: bool = False  # only an acknowledgement (收到, 辛苦了, 👍): no reply needed in a group
    category_choices: tuple[str, ...] = ()  # the category is in doubt: the likely ones, likeliest first
    category_sure: bool = False  # the fact names its category (教育问题) or the item's own words
    fact_span: tuple[int, int] | None = None  # where the fact written is said, when the message says more

    def fact_contract(self) -> dict:
        """One fact of the contract's ``facts`` list."""
        return {key: value for key, value in self.to_contract().items() if key in _FACT_KEYS}

    def to_contract(self) -> dict:
        """Exactly the keys of the JSON contract, dates as YYYY-MM-DD."""
        return {
            "text": self.text,
            "intent": self.intent,
            "township": self.township,
            "village": self.village,
            "household": self.household,
            "category": self.category,
            "status": self.status,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "needs_confirmation": self.needs_confirmation,
            "candidates": [c.to_contract() for c in self.candidates],
            "confidence": round(self.confidence, 3),
            "reasons": list(dict.fromkeys(self.reasons)),
            "facts": [fact.fact_contract() for fact in self.facts],
        }


_FACT_KEYS = ("intent", "township", "village", "household", "category", "status", "deadline")


@dataclass(frozen=True)
class _Seen:
    """What the whole message showed, which reading any one fact needs."""

    masked: str
    today: dt.date
    deadlines: list[Deadline]
    scope: ScopeFilter
    doubt_matches: list[Match]
    category_matches: list[Match]
    quoted: bool
    strangers: list[tuple[int, int, str]] = field(default_factory=list)  # 板康村梁老四家: not in the ledger
    clipped: list[tuple[int, str]] = field(default_factory=list)  # 黑圪崂村 read as 圪崂村: (start, said)
    explained: list[bool] = field(default_factory=list)  # positions some name, word, date or particle accounts for
    intent_matches: list[Match] = field(default_factory=list)


@dataclass
class _Place:
    """The place a fact is about, with what is doubtful about it."""

    options: list[Place]
    how: set[str] = field(default_factory=set)
    reasons: list[str] = field(default_factory=list)
    doubt: bool = False
    scores: dict[Place, float] = field(default_factory=dict)
    offered: list[Place] = field(default_factory=list)  # candidates that fill no field


class Parser:
    """Built once per ledger snapshot (gazetteer, lexicons); ``parse`` is cheap and pure."""

    def __init__(self, snapshot: LedgerSnapshot, calendar: WorkCalendar, lexicon_dir: Path | None = None,
                 reader: StatisticalReader | None | Path = SHIPPED_MODEL) -> None:
        """``reader``: the second reader, or the path of its model file; None reads with the
        rules alone (as when the reader itself is being trained)."""
        self.lexicon: Lexicon = load_lexicon(lexicon_dir)
        if isinstance(reader, Path):
            reader = StatisticalReader.load(self.lexicon, reader) if reader.exists() else None
        self.reader: StatisticalReader | None = reader
        self.agree_at = AGREE_AT
        self.category_agree_at = CATEGORY_AGREE_AT
        self.calendar = calendar
        self.gazetteer = Gazetteer(snapshot, self.lexicon)
        self.normaliser = Normaliser(self.lexicon.regional, is_name=self.gazetteer.is_name,
                                     longest_name=self.gazetteer.longest_name)
        self._categories = _category_matcher(self.lexicon)
        self._person_words = frozenset(self.lexicon.intents.get("household_before", ()))  # 低保户, 五保户 …
        self._weak_words = frozenset(w for words in self.lexicon.category_weak.values() for w in words)
        self._topics = KeywordMatcher(_grouped(self.lexicon.topics))
        self._status = KeywordMatcher(_grouped(self.lexicon.status))
        self._intent = KeywordMatcher(_grouped(self.lexicon.intents))
        self._doubts = KeywordMatcher(_grouped(self.lexicon.doubts))
        self._ack_words = tuple(sorted({*self.lexicon.doubts.get("ack", ()), *self.lexicon.doubts.get("filler", ())},
                                       key=len, reverse=True))  # longest first
        self._thanks = tuple(sorted(self.lexicon.doubts.get("thanks", ()), key=len, reverse=True))
        self._household_issues: dict[str, list[IssueRef]] = {}
        self._village_issues: dict[tuple[str, str], list[IssueRef]] = {}
        self._village_household_issues: dict[tuple[str, str], list[IssueRef]] = {}
        self._issues_by_code = {issue.code: issue for issue in snapshot.issues}
        # household heads, longest first: names a group reply must never show (services/disclosure.py)
        self.person_names = tuple(sorted({h.head for h in snapshot.households}, key=len, reverse=True))
        for issue in snapshot.issues:
            if issue.household_code:
                self._household_issues.setdefault(issue.household_code, []).append(issue)
                self._village_household_issues.setdefault((issue.township, issue.village), []).append(issue)
            else:
                self._village_issues.setdefault((issue.township, issue.village), []).append(issue)

    # --- the pipeline -----------------------------------------------------------------------

    def parse(self, text: str, today: dt.date, scope: Sequence[str] = ()) -> Parse:
        """Read one message as sent by someone with ``scope`` on ``today``."""
        result = Parse(text=text)
        scope_filter = ScopeFilter.from_names(scope)
        clean = self.normaliser.clean(text)
        if len(clean) > MAX_ANALYSED_CHARS:
            clean = clean[:MAX_ANALYSED_CHARS]
            result.reasons.append("消息太长，只读了前面一部分")
        acknowledged = self._is_acknowledgement(clean)
        if acknowledged or not re.sub(r"[,、:;。!?]", "", clean):
            result.confidence = 0.9
            # 👍 leaves nothing after cleaning; punctuation or control characters alone are no
            # acknowledgement (they get the usual "没看懂" reply)
            result.ack = acknowledged or (not clean and any(unicodedata.category(ch) == "So" for ch in text))
            return result

        mentions = self.gazetteer.find_exact(clean)
        normalised, spans = self.normaliser.numerals(clean, [(m.start, m.end) for m in mentions])
        for mention, (start, end) in zip(mentions, spans):
            mention.start, mention.end = start, end
        masked = _mask(normalised, spans)
        clauses = split_clauses(masked)
        found_status = self._status.find(masked)
        deadlines = _without_done_today(find_deadlines(masked, today, self.calendar), clauses, today, found_status,
                                        masked)
        deadlines = _not_until(masked, deadlines)
        status_matches = _under_way_phrases(masked, _with_resultatives(masked, found_status, deadlines, clauses))
        category_matches = self._categories.find(masked)
        status_matches = [m for m in status_matches if _is_a_status(masked, m, category_matches)]
        intent_matches = _intent_words(masked, self._intent.find(masked))

        names = _marked([False] * len(masked), spans)
        # one character (哈, 发) may be part of a name said by sound (阿库日哈): it covers nothing
        covered = _marked(names, [(m.start, m.end) for m in (*status_matches, *category_matches, *intent_matches)
                                  if m.end - m.start > 1 and not {"generic_place", "household_after"} & set(m.labels)]
                          + [(d.start, d.end) for d in deadlines])
        clause_starts = frozenset(c.start for c in clauses)
        mentions += self.gazetteer.find_approximate(normalised, names, covered, scope_filter, clause_starts)
        mentions += self._own_place(intent_matches, scope_filter)
        mentions.sort(key=lambda m: m.start)
        # a name found by sound (要岭村, 得山村) is a name: its characters are no status words
        approximate = [(m.start, m.end) for m in mentions if not m.exact and m.end > m.start]
        if approximate:
            status_matches = _outside(status_matches, approximate)
            intent_matches = _outside(intent_matches, approximate)
            category_matches = _outside(category_matches, approximate)
        result.reader_text = reader_text(normalised, [(m.start, m.end, m.level) for m in mentions if m.end > m.start])
        _mark_corrections(masked, mentions)

        labels = {label for match in intent_matches for label in match.labels}
        if _asks_for_a_paper(masked) and not labels & {"query_cue", "overdue", "due"}:
            labels.add("send_request")  # 光伏收益分配的表发1份给我 / 验收单拍1张给我: a request for a paper
        elif "send_request" in labels and not ("evidence" in labels and _asks_to_send(masked, intent_matches)):
            labels.discard("send_request")  # 照片发过来了: it came; 逾期清单发我: a query
        residue = _residue(masked, (*mentions, *status_matches, *category_matches, *intent_matches, *deadlines))
        self._fill_clauses(masked, clauses, mentions, status_matches, category_matches, intent_matches, deadlines)
        corrected = _apply_correction(masked, clauses, mentions, intent_matches)
        facts = group_facts(clauses)
        if _WAIT_THEN.search(masked) or _TELL_ME_WHEN.search(masked):
            labels.add("conditional")  # 等房子修好了我再去验收: a plan, not a report
        if _only_a_visit(masked, clauses):
            labels.add("conditional")  # 明天去□看看塌方路 / 计划下周去核实□通水情况: the speaker's plan
        doubt_found = self._doubts.find(masked)
        # every character some name, word, date or particle accounts for
        explained = _marked(names, [(m.start, m.end) for m in (*status_matches, *category_matches, *intent_matches,
                                                              *doubt_found, *deadlines)])
        seen = _Seen(masked, today, deadlines, scope_filter, _with_spoken_doubts(masked, doubt_found),
                     [m for m in category_matches if m.labels[0] != "ignore"], bool(_QUOTED.search(text)),
                     self.gazetteer.strangers(normalised, mentions), _clipped(normalised, mentions, explained), explained,
                     intent_matches)
        if self._quotes_with_thanks(masked, seen, text):
            result.ack = True  # 收到，东台村饮水已解决，辛苦了: thanks for someone's report
            result.confidence = 0.8
            return result
        if self.reader is not None:
            result.guess = self.reader.read(result.reader_text)
        labels = _without_fact_chat(labels, intent_matches, clauses)
        self._decide(result, clauses, facts, labels, seen, corrected, residue)
        if result.intent in I.WRITES and any(self._thanked(masked, text)):
            # 👍 北山村通水了 / 谢谢刘会计，账目理清了: most likely an answer to someone's report
            result.needs_confirmation = True
            result.confidence = min(result.confidence, 0.55)
            result.flags.add("thanks")
            result.reasons.append("像是在回复别人的汇报")
        asked = any(c.question and not c.rhetorical for c in clauses)
        if (labels & {"close_out", "reopen"} and result.intent not in I.WRITES and not asked
                and not labels & {"conditional", "ask_group", "send_request", "undo", "help"}):
            about = next((f for f in facts if f.mentions), None)
            if about is not None:  # 东台村饮水问题重新打开，原因…: about an item, not a question
                fresh = Parse(text=text, reader_text=result.reader_text)
                self._write(fresh, facts, about, seen)
                result = fresh
        if result.intent in I.WRITES and labels & {"close_out", "reopen"}:
            # 东台村饮水问题销号 / …重新打开: a supervisor closes out or reopens (asked first);
            # from anyone else it is read as the report it also is
            result.flags.add("reopen" if "reopen" in labels else "close")
        if result.intent in I.WRITES and "undo" in labels and _THAT_MESSAGE.search(masked):
            result.needs_confirmation = True  # 吉克石布家房子修好了，刚才那条撤回: a report and an undo
            result.confidence = min(result.confidence, 0.55)
            result.flags.add("undo_too")
            result.reasons.append("还说了撤回，撤回请单独发送")
        if result.guess is not None and result.fact_span is not None:
            # several facts: the second reader reads the one written, not the words of the others
            start, end = result.fact_span
            result.guess = self.reader.read(reader_text(
                normalised[start:end], [(m.start - start, m.end - start, m.level) for m in mentions
                                        if start <= m.start and m.end <= end and m.end > m.start]))
        if result.guess is not None:
            _second_opinion(result, result.guess, self.agree_at)
            _category_opinion(result, result.guess, self.category_agree_at)
        return result

    def _is_acknowledgement(self, clean: str) -> bool:
        """收到 / 好的 / 辛苦了 / 👍 (emoji leave nothing): nothing but acknowledgement words."""
        pieces = [p for p in re.split(r"[,、:;。!?]+", clean) if p]
        return bool(pieces) and all(_only_words(piece, self._ack_words) for piece in pieces)

    def _thanked(self, masked: str, raw: str) -> tuple[bool, bool]:
        """Whether the message opens and whether it closes with thanks (收到…, …辛苦了, 👍)."""
        body = masked.strip(",。!?")
        opens = body.startswith(self._thanks) or body.startswith(("收到", "好的")) or raw.lstrip().startswith(_CHEERS)
        last = re.split(r"[,。!?\s]+", body)[-1]
        closes = (body.endswith(self._thanks) or raw.rstrip().endswith(_CHEERS)
                  or last.startswith(self._thanks) and len(last) <= _THANKED_WHOM)  # 谢谢卫生院, 辛苦各位
        return opens, closes

    def _quotes_with_thanks(self, masked: str, seen: _Seen, raw: str) -> bool:
        """A report between thanks (收到…辛苦了) or quoted and thanked: an acknowledgement."""
        opens, closes = self._thanked(masked, raw)
        quoted = seen.quoted or any("quote" in m.labels for m in seen.doubt_matches)
        return (opens and closes) or (quoted and (opens or closes))

    def _fill_clauses(self, masked: str, clauses: list[Clause], mentions: list[Mention],
                      status_matches: list[Match], category_matches: list[Match],
                      intent_matches: list[Match], deadlines: list[Deadline]) -> None:
        mention_at = _by_clause(clauses, mentions)
        status_at = _by_clause(clauses, status_matches)
        intent_at = _by_clause(clauses, intent_matches)
        category_at = _by_clause(clauses, [m for m in category_matches
                                           if m.labels[0] != "ignore" and not _spoken_with(masked, m)])
        for index, clause in enumerate(clauses):
            clause.mentions = mention_at[index]
            clause.status = status_at[index]
            clause.intent = intent_at[index]
            clause.categories = [
                (m.start, m.labels[0].split(":", 1)[1], m.labels[0].startswith("cat:")) for m in category_at[index]
            ]
            form = clause_form(masked[clause.start:clause.end], clause.stop, clause.intent)
            clause.question, clause.rhetorical = form.question, form.rhetorical
            clause.weak_question = form.weak
        for index, clause in enumerate(clauses):
            if clause.question and not clause.rhetorical and not clause.weak_question:
                continue
            if clause.stop == ":":
                # A header ("东光镇本周整改进展：", "县里督办：") names the topic, not a status;
                # an order in it ("督办", "要求") applies to what follows.
                carry = [m for m in clause.status if "order" in m.labels]
                following = clauses[index + 1] if index + 1 < len(clauses) else None
                if carry and following is not None:
                    following.status = carry + following.status
                continue
            has_deadline = any(clause.start <= d.start < clause.end for d in deadlines)
            events = clause_events(masked, clause.start, clause.end, clause.status, has_deadline)
            if clause.weak_question:
                # 高处几户上不去水 reports; 还有几个问题 asks
                clause.question = not [e for e in events if e != "partial"]
            if clause.rhetorical:
                # "不是修好了吗" / "谁说水通了" / "哪里修好了": the completion is what the complaint
                # denies, so the clause says it is not done
                denied = [e for e in events if e in DONE_EVENTS]
                events = [e for e in events if e not in ("done", "done_plain", "promise", "no_problem")]
                if denied and not events and _DENYING.search(masked, clause.start, clause.end):
                    events = ["not_done"]  # (不是修好了吗 alone may be a real question: it stays one)
            if not events and clause.categories and _AGAIN.search(masked, clause.start, clause.end):
                events = ["relapse"]  # 村医来了，村道又被冲了一截: this clause's own problem came back
            clause.events = events
        if any(c.rhetorical for c in clauses) and any(e != "partial" for c in clauses for e in c.events):
            for clause in clauses:
                clause.question = clause.question and not clause.rhetorical

    # --- deciding ---------------------------------------------------------------------------

    def _decide(self, result: Parse, clauses: list[Clause], facts: list[Fact], labels: set[str],
                seen: _Seen, corrected: bool, residue: str) -> None:
        masked, deadlines, scope = seen.masked, seen.deadlines, seen.scope
        fact_with_events = [f for f in facts if f.has_events]
        statement_events = bool(fact_with_events)
        asking = any(c.question for c in clauses) and not statement_events
        all_places = [m for c in clauses for m in c.places]
        categories = [c for clause in clauses for c in clause.categories if c[2]]
        specific = any(m.level in ("village", "household") or m.how == "unknown" for m in all_places)
        first_events = [e for c in fact_with_events[0].clauses for e in c.events] if fact_with_events else []
        asserts = any(e in _ASSERTING for e in first_events)

        if (_HELP_HOW.search(masked) or "help" in labels) and not all_places and not categories:
            return self._finish_simple(result, I.HELP)
        if "undo" in labels and (not categories and not (all_places and statement_events)
                                 or _only_withdraws(masked, clauses)):
            return self._finish_simple(result, I.UNDO)  # 刚才发的吉克石布那条撤回: about the message
        if corrected and not statement_events and not categories:
            return self._finish_simple(result, I.UNDO)  # 刚才那条发错了，不是东光村，是东台村
        if labels & {"conditional", "ask_group", "send_request"}:
            return self._finish_simple(result, I.UNKNOWN)  # 通水的照片发群里一下: a request, no report
        if "overdue" in labels and not (specific and asserts):
            return self._query(result, I.QUERY_OVERDUE, clauses, facts, scope, deadlines, masked)
        if "due" in labels and not (specific and asserts) and (deadlines or "快到期" in masked
                                                              or "即将到期" in masked or not all_places):
            return self._query(result, I.QUERY_DUE, clauses, facts, scope, deadlines, masked)
        if _how_much_is_left(masked, seen.category_matches) and not seen.quoted:
            # 罗汉乡还有好多问题没整改 / 全县档案问题还剩好多: how much is left, asked as a list
            intent = I.QUERY_HOUSEHOLD if _primary_is_household(all_places) else I.QUERY_AREA
            return self._query(result, intent, clauses, facts, scope, deadlines, masked)
        if asking:
            about_ledger = all_places or categories or "county" in labels or mentions_ledger(masked)
            if all_places and len(residue) > _MAX_QUERY_RESIDUE:
                # 溪畔村青梅基地灌溉设施落实了未: the place's own items say what 青梅基地灌溉设施 is
                residue = _without_described(residue, self._descriptions_at(all_places))
            # A question that is more than names, problem and question words is not for the
            # ledger: "东台村书记今天来开会了吗".
            if about_ledger and len(residue) <= _MAX_QUERY_RESIDUE:
                intent = I.QUERY_HOUSEHOLD if _primary_is_household(all_places) else I.QUERY_AREA
                return self._query(result, intent, clauses, facts, scope, deadlines, masked)
            return self._unknown_or_asked(result, facts, specific, seen)
        if ("group_address" in labels and not (specific and asserts)
                and not ("query_cue" in labels and not statement_events and not residue)):
            return self._finish_simple(result, I.UNKNOWN)  # (茶寮镇各村问题清单, nothing else, asks for a list)
        if statement_events:
            fact = _first_matter(facts, fact_with_events)
            if "instruction" in labels and not specific:
                return self._finish_simple(result, I.UNKNOWN)
            named = any(m.how != "unknown" and m.level in ("village", "household") for m in fact.mentions)
            if not all_places and not self._scope_place(scope) and not _PLACE_WORD.search(masked):
                return self._finish_simple(result, I.UNKNOWN, 0.6)  # 手机快没电了: no place at all
            if not fact.categories and not any(m.issue_code for m in fact.mentions) and not named:
                return self._finish_simple(result, I.UNKNOWN, 0.6)  # no identifiable problem
            return self._write(result, facts, fact, seen)
        if "instruction" in labels:
            return self._finish_simple(result, I.UNKNOWN)
        if all_places and (_is_bare(masked, seen.category_matches, all_places) or "query_cue" in labels):
            intent = I.QUERY_HOUSEHOLD if _primary_is_household(all_places) else I.QUERY_AREA
            return self._query(result, intent, clauses, facts, scope, deadlines, masked)
        if "query_cue" in labels and ("county" in labels or categories) and "chat" not in labels:
            return self._query(result, I.QUERY_AREA, clauses, facts, scope, deadlines, masked)
        county_words = [m for m in seen.intent_matches if "county" in m.labels]
        if county_words and categories and _is_bare(masked, seen.category_matches, county_words):
            return self._query(result, I.QUERY_AREA, clauses, facts, scope, deadlines, masked)  # 全县档案问题
        about = _about(facts) or self._about_an_item(facts, seen.masked)
        if about is not None and specific and "chat" not in labels and not seen.quoted:
            # 红日村路灯那个事: a place and a problem, no status the rules can read. Never a dead
            # end: the bot offers 已整改 / 整改中 / 只是说明情况.
            return self._write(result, facts, about, seen)
        return self._unknown_or_asked(result, facts, specific, seen)

    def _about_an_item(self, facts: list[Fact], masked: str) -> Fact | None:
        """The first fact that names a place exactly and a thing only the place's items name
        (岘口村社道两周内能清出来, item 社道塌方堵塞): the ledger's descriptions are the vocabulary."""
        for fact in facts:
            exact = [m for m in fact.mentions if m.exact and m.level in ("village", "household")]
            if exact and self._described_categories(self._resolve_place(exact, ScopeFilter.from_names(())),
                                                    masked[fact.start:fact.end]):
                return fact
        return None

    def _unknown_or_asked(self, result: Parse, facts: list[Fact], specific: bool, seen: _Seen) -> None:
        """Not a message the rules can read. When it names a place and a problem and the second
        reader reads a report, the readers disagree: ask about the report rather than drop it."""
        about = _about(facts) or self._about_an_item(facts, seen.masked)
        guess = result.guess
        if about is None or not specific or guess is None or not guess.writes or guess.intent_p < RESCUE_AT:
            return self._finish_simple(result, I.UNKNOWN)
        self._write(result, facts, about, seen)
        result.needs_confirmation = True
        result.confidence = min(result.confidence, 0.5)
        result.flags.add("reader_intent")
        result.reasons.append("没完全看懂，像是在汇报情况，请确认")

    def _finish_simple(self, result: Parse, intent: str, confidence: float = 0.9) -> None:
        result.intent = intent
        result.confidence = confidence

    def _query(self, result: Parse, intent: str, clauses: list[Clause], facts: list[Fact],
               scope: ScopeFilter, deadlines: list[Deadline], masked: str) -> None:
        result.intent = intent
        places = [m for c in clauses for m in c.places]
        if places:
            fact = next((f for f in facts if f.mentions), None)
            place = self._resolve_place(fact.mentions if fact else places, scope)
            self._apply_place(result, place)
            if place.doubt:
                result.needs_confirmation = True
                result.reasons.extend(place.reasons)
        if intent == I.QUERY_HOUSEHOLD:
            result.category = None
        else:
            strong = [c for clause in clauses for _, c, s in clause.categories if s]
            weak = [c for clause in clauses for _, c, s in clause.categories if not s]
            picked = strong or weak
            if not picked and places:  # 青梅基地灌溉设施落实了未: the place's item says which category
                described = self._described_categories(place, masked)
                picked = described if len(described) == 1 else []
            result.category = picked[0] if picked else None
        if intent == I.QUERY_DUE:
            bounded = [d for d in deadlines if d.bounded] or deadlines
            result.deadline = bounded[0].date if bounded else None
        result.confidence = 0.5 if result.needs_confirmation else 0.9

    def _write(self, result: Parse, facts: list[Fact], fact: Fact, seen: _Seen) -> None:
        """A report or a new issue: the first fact, and every later fact listed beside it."""
        self._read_fact(result, fact, fact.mentions, seen)
        index = facts.index(fact)
        if any(other is not fact and other.mentions and not _same_places_as(other.mentions, fact.mentions)
               for other in facts):
            result.fact_span = (fact.start, fact.end)  # another place's matter: the reader reads this one
        if any(f.categories and f.mentions and not f.has_events and not any(c.question for c in f.clauses)
               for f in facts[:index]):
            result.flags.add("unread")  # 水源井打深了 水够用了，刘淑芬低保也批下来了
            result.needs_confirmation = True
            result.confidence = min(result.confidence, 0.55)
            result.reasons.append("前面还说了一件事，没看懂")
        if any(c.question and not c.rhetorical for f in facts[:index + 1] for c in f.clauses):
            result.flags.add("question")  # 院墙砌完了吗？另外手册已经补齐: a question and a report
            result.reasons.append("还问了问题，请单独发送")
        readings = [result]
        last_mentions = fact.mentions
        for other in facts[index + 1:]:
            if not other.has_events:
                if any(c.question for c in other.clauses):
                    result.flags.add("question")
                    result.reasons.append("另外还问了问题，请单独发送")
                elif any(m.level in ("village", "household") for m in other.mentions) and (
                        other.categories or not _same_places_as(other.mentions, fact.mentions)):
                    result.flags.add("unread")  # 村道补完了；韦福明报销材料已送医保局: a matter not read
                    result.needs_confirmation = True
                    result.confidence = min(result.confidence, 0.55)
                    result.reasons.append("后面还说了一件事，没看懂")
                continue
            mentions = other.mentions or last_mentions  # 慢病卡办好了，危房也改完了: the same household
            reading = Parse(text=result.text)
            self._read_fact(reading, other, mentions, seen)
            last_mentions = mentions
            if reading.category is None and reading.issue_code is None:
                continue  # no identifiable problem: the chatter of a weekly report
            same = next((known for known in readings if _same_fact(reading, known)), None)
            if same is not None:
                if same is result and reading.status and result.status and reading.status != result.status:
                    # 厕所改好了 厨房还在弄, one item "厨房和厕所未改造": part done, part not -- the less done, asked
                    result.status = min(result.status, reading.status, key=_DONENESS.index)
                    result.flags.add("mixed")
                    result.needs_confirmation = True
                    result.confidence = min(result.confidence, 0.55)
                    result.reasons.append("有的办完了，有的还在办")
                continue
            readings.append(reading)
        if len(readings) > 1:
            first = Parse(**{k: v for k, v in vars(result).items() if k not in ("facts", "reasons", "flags")})
            first.reasons, first.flags = list(result.reasons), set(result.flags)
            result.facts = [first, *readings[1:]]
            result.flags.add("several")
            result.reasons.insert(0, f"一条消息里有 {len(readings)} 件事")
        if result.facts or result.flags & {"question"}:
            result.needs_confirmation = True
            result.confidence = min(result.confidence, 0.55)

    def _read_fact(self, result: Parse, fact: Fact, mentions: list[Mention], seen: _Seen) -> None:
        """One fact: status (and what it cannot explain), place, category, the ledger issue."""
        confidence = 0.95
        reasons = result.reasons
        doubt = bool(reasons)  # the message was too long to read whole
        events = [e for c in fact.clauses for e in c.events]
        if _relapses(seen.masked, fact):
            events.append("relapse")  # 亮了三天又灭了: a verb with 又 after the fix
        if STEPS & set(events) and ({c for _, c, _ in fact.categories} == {"档案"}
                                    or self._step_is_the_item(fact, mentions)):
            events = as_done(events)  # 户档材料补齐了 / 方案交了 (item 方案未上报): the paper is the fix
        if "progress" in events and _perfective_said(seen.masked, fact) and self._action_is_the_item(fact, mentions):
            events = ["done" if e == "progress" else e for e in events]  # 方案公示了, item 方案未公示
        if events == ["done_plain"] and _names_the_matter(seen.masked, fact, seen.category_matches):
            events = []  # 杨家沟村光伏收益分配: the matter's name (收益分配), no status said
        if not events and _dated_promise(seen, fact):
            events = ["promise"]  # 下月5号前打成 / 两天内清出来: a date, then what will be done by it
        reading = decide(events)
        if not reading.sure:
            confidence -= 0.2
        if reading.status == RESOLVED and _ends_on_a_problem(fact):
            doubt = True  # 补贴资金批了，未发到他手: done, then a problem that stands
            result.flags.add("ends_on_problem")
            reasons.append("先说办好了，后面又说有问题，先确认")
        if reading.conflict:
            doubt = True  # 蓄水池不渗了，水位一点没掉: a completion and a plain 没 the rules cannot place
            result.flags.add("conflict")
            reasons.append("说办好了，又说“没…”，先确认")
        status_matches = [m for c in fact.clauses for m in c.status]
        # 说完工了，咋还漏风哩: the sender's own words stand against a relayed "done"
        contradicted = "ends_on_problem" in result.flags or any(
            c.rhetorical and any("problem" in m.labels for m in c.status) for c in fact.clauses)
        doubts = read_doubts(
            seen.masked, fact.start, fact.end, seen.doubt_matches, status_matches, events, reading.status,
            any(c.rhetorical for c in fact.clauses), seen.quoted, contradicted,
        )
        result.status = doubts.status
        if any(word in seen.masked[fact.start:fact.end] for word in _LEDGER_STATUS_WORDS) and not doubts.doubts:
            result.flags.add("ledger_word")
        if result.status == OPEN and not doubts.doubts and _step_before_work(seen.masked, fact):
            result.status = IN_PROGRESS  # 灯具拉到了，还没装 / 钱批了，还没发到户
        for found in doubts.doubts:
            doubt = True
            result.flags.add(found.kind)
            reasons.append(found.reason)
        if _weak_evidence(status_matches):
            result.flags.add("weak")
            if result.status == IN_PROGRESS and _only_a_plan(seen, fact, events, status_matches):
                doubt = True  # 村道明天修: a one-character verb and a day may be only a plan
                result.flags.add("plan")
                reasons.append("只说了打算什么时候做，先确认")

        inferred = False
        if not mentions:
            mentions = self._scope_place(seen.scope)
            inferred = bool(mentions)
        place = self._resolve_place(mentions, seen.scope) if mentions else None
        if place is None:
            doubt = True
            result.flags.add("place")
            reasons.append("没说是哪个村或哪一户")
        else:
            self._apply_place(result, place)
            if place.doubt:
                doubt = True
                result.flags.add("place")
                reasons.extend(place.reasons)
            if all(option.village is None for option in place.options):
                doubt = True  # 柳沟镇档案问题还没有销号: the ledger's items are a village's or a household's
                result.flags.add("place")
                reasons.append("只说了乡镇，没说是哪个村")
            clipped = next((said for start, said in seen.clipped if fact.start <= start < fact.end), None)
            if clipped is not None:
                doubt = True  # 黑圪崂村 where the ledger has 圪崂村: maybe a village it does not have
                result.flags.add("place")
                reasons.append(f"“{clipped}”是不是“{clipped[1:]}”？")
            stranger = next((w for start, _end, w in seen.strangers if fact.start <= start < fact.end), None)
            if stranger is not None and result.household is None:
                doubt = True  # 板康村梁老四家低保批下来了: someone else than the village's item's household
                result.flags.add("place")
                reasons.append(f"台账里没有“{stranger}”这一户")
            if inferred or "own" in place.how:
                doubt = True
                result.flags.add("place")
                reasons.append(f"没说地方，按你负责的范围当作{result.village or result.township}")

        code = next((m.issue_code for m in mentions if m.issue_code), None)
        category, category_doubt = self._pick_category(fact, place, seen.masked[fact.start:fact.end],
                                                       _problem_words(seen.category_matches, fact))
        if code:  # ZG-0003已整改: the issue code says which problem
            result.issue_code = code
            category, category_doubt = self._issues_by_code[code].category, None
        result.category = category
        fact_text = seen.masked[fact.start:fact.end]
        result.category_sure = category is not None and (
            code is not None or category in fact_text or category in self._described_categories(place, fact_text))
        if category_doubt:
            doubt = True
            reasons.append(category_doubt)

        problem = _problem_words(seen.category_matches, fact)
        result.problem = _problem_phrase(seen, fact)
        said_new = any("new_problem" in m.labels and fact.start <= m.start < fact.end for m in seen.doubt_matches)
        doubt = self._report_or_new(result, place, reasons, problem, said_new) or doubt
        if result.intent == I.NEW_ISSUE and result.status == RESOLVED:
            doubt = True
            reasons.append("台账里没有这条问题，却说已经解决")
        elif result.intent == I.NEW_ISSUE and result.household and _AGAIN.search(fact_text) and self._items_at(place):
            # 黄国栋家仔又跑去打工了 where the household's item is 孩子辍学: "again" speaks of a problem
            # known before, and the household has items, so a new one is not made without a question
            doubt = True
            reasons.append("说“又”，像是台账里已有的问题")
        kinds = list(dict.fromkeys(c for _, c, _ in fact.categories))
        if fact.categories and not any(strong for _, _, strong in fact.categories) and not result.category_sure:
            result.flags.add("weak_category")  # the category comes from a one-character word only
        if result.intent == I.NEW_ISSUE and len(kinds) > 1:
            doubt = True  # 进村那段路塌了个大坑: 路 or 塌 — a new item's category is a guess
            result.flags.add("category")
            if not category_doubt:
                reasons.append("问题类别不确定：" + "、".join(kinds))
        things = self._things_said(result.category, problem, place)
        if len(things) > 1:
            doubt = True  # 路灯修好了，村道月底前铺完, where the village has both items: which one?
            result.flags.add("things")
            reasons.append("说了同一类的几样：" + "、".join(things))
        question_form = _said_as_question(seen.masked, fact)
        if question_form is not None:
            doubt = True  # 付德昌家光伏板修好了咯: 咯 asks in Yunnan and tells in Hunan
            result.flags.add("ask_or_tell")
            reasons.append(f"“{question_form}”是问还是说？")
        particle = _unknown_particle(seen, fact)
        if particle is not None and "ask_or_tell" not in result.flags:
            doubt = True  # 水管修好咩 (Cantonese: fixed?) / 修好了噻: a particle of speech not met before
            result.flags.add("particle")
            reasons.append(f"句尾的“{particle}”没看懂，先确认")
        if result.category and _stray_problem(fact, result.category):
            doubt = True  # 汪来喜签约了，扶贫车间还停着: another problem the rules read no status of
            result.flags.add("unread")
            reasons.append("还说了别的问题，没看懂")
        if _step_done(fact, seen.category_matches):
            doubt = True  # 钢材拉过来了，月底前能装上: a step is done, the work is not
            result.status = IN_PROGRESS
            result.flags.add("mixed")
            reasons.append("有的办完了，有的还在办")
        if result.status == RESOLVED and _promised_after_done(seen, fact):
            doubt = True  # 租金跟老板谈妥了 下月5号前给: agreed, to be paid by a date: not done yet
            result.status = IN_PROGRESS
            result.flags.add("mixed")
            reasons.append("说办好了，后面又说到期限前才办，先确认")
        if result.intent == I.NEW_ISSUE and result.status in (None, IN_PROGRESS) and not _under_way(events):
            result.status = OPEN  # a new item is open with its deadline unless work is under way
        if result.intent == I.REPORT and result.status is None:
            doubt = True
            result.flags.add("no_status")
            if _MATTER_ONLY.search(seen.masked, fact.start, fact.end):
                result.flags.add("matter")  # 吴梅签字的问题 / 水管那个事，跟你说一下: the matter, no status
            reasons.append("没看出是否已经解决")
        result.deadline = _fact_deadline(fact, events, result.status, seen)
        if any(m.how in ("homophone", "loose", "fuzzy") for m in mentions):
            confidence -= 0.3
        if doubt:
            confidence = min(confidence, 0.55)
        result.needs_confirmation = doubt or confidence < CONFIRM_BELOW
        result.confidence = max(0.05, confidence)

    # --- places -----------------------------------------------------------------------------

    def _own_place(self, intent_matches: list[Match], scope: ScopeFilter) -> list[Mention]:
        """我村 / 本村 / 我们镇 -> the sender's own village or township when the scope names one."""
        found = []
        for match in intent_matches:
            if "own_place" not in match.labels:
                continue
            township_word = match.word.endswith(("镇", "乡"))
            if township_word and len(scope.townships) == 1 and not scope.villages:
                options = (Place(next(iter(scope.townships))),)
            elif not township_word and len(scope.villages) == 1:
                township, village = next(iter(scope.villages))
                options = (Place(township, village),)
            else:
                continue
            found.append(Mention(match.start, match.end, match.word, options, "own"))
        return found

    def _scope_place(self, scope: ScopeFilter) -> list[Mention]:
        """A report that names no place, from a sender whose scope is one village, is about it
        (inferred, so the parser asks)."""
        if len(scope.villages) == 1 and not scope.townships:
            township, village = next(iter(scope.villages))
            return [Mention(0, 0, village, (Place(township, village),), "own")]
        return []

    def _resolve_place(self, mentions: list[Mention], scope: ScopeFilter) -> _Place:
        """The place a group of mentions names together, settled by the scope when it can be."""
        # A near miss by characters (永兴村 ~ 新兴村) is not a homophone: it may well be a village
        # the ledger does not have, so it fills nothing and is only offered as a candidate.
        known = [m for m in mentions if m.how not in ("unknown", "fuzzy")]
        unknown = [m for m in mentions if m.how in ("unknown", "fuzzy")]
        if unknown and not any(m.level in ("village", "household") for m in known):
            # 春阳镇胜利村: the village is what the message is about, and it is not in the ledger.
            surfaces = "、".join(dict.fromkeys(m.surface for m in unknown))
            offered = [p for m in unknown for p in m.options]
            place = _Place([], {"unknown"}, [f"台账里没有“{surfaces}”"], True)
            place.offered = offered
            place.scores = {p: m.score for m in unknown for p in m.options}
            return place
        rank = {"household": 3, "village": 2, "mixed": 1, "township": 1, "county": 0}
        primary = max(known, key=lambda m: (rank[m.level], -m.start))
        place = _Place(list(primary.options), {primary.how})
        place.scores = {option: primary.score for option in primary.options}
        distinct_primary = [m for m in known if m.level == primary.level and m is not primary
                            and not set(m.options) & set(primary.options)]
        if distinct_primary:
            place.doubt = True
            place.reasons.append("一句话里提到了几个" + ("户" if primary.level == "household" else "地方"))
        for other in known:
            if other is primary or other in distinct_primary:
                continue
            place.how.add(other.how)
            kept = [p for p in place.options if any(_inside(p, o) for o in other.options)]
            if kept:
                place.options = kept
            else:
                place.doubt = True
                place.reasons.append(f"“{other.surface}”和“{primary.surface}”对不上")
        if unknown:
            place.doubt = True
            place.reasons.append(f"台账里没有“{unknown[0].surface}”")
        for mention in known:
            reason = _match_reason(mention)
            if reason:
                place.doubt = True
                place.reasons.append(reason)
        if len(place.options) > 1 and scope.has_places:
            inside = [p for p in place.options if scope.covers(p)]
            if len(inside) == 1:
                place.options = inside
            elif inside:
                place.options = inside + [p for p in place.options if p not in inside]
        if len(place.options) > 1:
            place.doubt = True
            place.reasons.append(_ambiguity_reason(primary, place.options))
        return place

    def _apply_place(self, result: Parse, place: _Place) -> None:
        """Fill each place field that every reading agrees on; list the readings when unsure."""
        options = place.options
        if not options:
            result.candidates = [
                Candidate(p.township, p.village, p.household, p.household_code, place.scores.get(p, 0.3))
                for p in place.offered
            ]
            return
        result.township = _common(p.township for p in options)
        result.village = _common(p.village for p in options)
        result.household = _common(p.household for p in options)
        result.household_code = _common(p.household_code for p in options)
        if len(options) > 1 or place.how & {"homophone", "loose", "fuzzy", "surname"}:
            result.candidates = [
                Candidate(p.township, p.village, p.household, p.household_code,
                          place.scores.get(p, 0.5) * (1.0 if i == 0 else 0.9))
                for i, p in enumerate(options)
            ]

    # --- category and the ledger --------------------------------------------------------------

    def _pick_category(self, fact: Fact, place: _Place | None, text: str = "",
                       words: Sequence[str] = ()) -> tuple[str | None, str | None]:
        """The problem's category and, when it is not clear, why (a Chinese reason). With no
        category word, the ledger's own descriptions are the vocabulary: 贴息 in a message
        finds the place's item "贴息贷款未落实"."""
        described = self._described_categories(place, text)
        if not fact.categories and len(described) == 1:
            return described[0], None
        # 开裂 is said of any thing: as the only strong word it does not outrank the thing's own word
        # (水柜开裂: 水 says 饮水), they are two readings
        defects = {p for p, _, s in fact.categories if s and text.startswith(_DEFECTS_OF_ANY_THING, p - fact.start)}
        strong = list(dict.fromkeys(c for p, c, s in fact.categories if s and p not in defects))
        weak = list(dict.fromkeys(c for _, c, s in fact.categories if not s))
        if not strong and defects:
            weak = list(dict.fromkeys([*weak, *(c for p, c, _ in fact.categories if p in defects)]))
        candidates = strong or weak
        open_categories = self._open_categories(place)
        if strong:  # 这个低保户的房顶漏雨: the person word says who, not which item (房顶 does);
            # 没去上学，在家放牦牛: a weak word (牛) does not file the report under another item
            words = [w for w in words if w not in self._person_words and w not in self._weak_words]
        if candidates and not set(candidates) & open_categories and len(described) == 1 \
                and self._filed_with(place, described[0], words):
            # 厕所还没改 where the household's item "厕所改造未完成" is filed under 住房: the
            # ledger's own filing wins over the lexicon's guess — when the item's description
            # holds the message's word (光伏收益 is not the item 户用光伏板损坏)
            return described[0], None
        if len(candidates) == 1:
            holders = self._categories_holding(place, words)
            if len(holders) > 1 and candidates[0] in holders:
                # 合作社又运转起来了 where 合作社 is in an 产业 item and a 集体经济 item: which one? Ask.
                return candidates[0], "问题类别不确定：" + "、".join(holders)
            if len(holders) == 1 and described == holders and candidates[0] not in holders:
                # 砂糖橘基地滴灌管道接通 where the village's 产业 item is that very 管道 and its 饮水 item a
                # household's tap: the ledger's filing is likelier than the lexicon's, but ask
                return described[0], "问题类别不确定：" + "、".join((described[0], candidates[0]))
            return candidates[0], None
        if len(candidates) > 1:
            in_ledger = [c for c in candidates if c in open_categories]
            if len(in_ledger) == 1 and (self._holds_every_word(place, in_ledger[0], words) or not words):
                return in_ledger[0], None
            if len(in_ledger) == 1:  # 村部屋顶漏水 where the village's 住房 item is a household's house: asked
                return in_ledger[0], "说到了几类问题：" + "、".join(candidates)
            filed = [c for c in in_ledger if self._holds_every_word(place, c, words)]
            if len(filed) == 1:  # 果园承包费: the item "村集体果园承包费未收缴" holds every word said
                return filed[0], None  # (村部屋顶漏水 is not a household's 屋顶漏雨: 村部 is not in it)
            return candidates[0], "说到了几类问题：" + "、".join(candidates)
        if len(open_categories) == 1:
            return next(iter(open_categories)), "没说是哪类问题，按台账里唯一的一条"
        return None, "没说是哪类问题"

    def _items_at(self, place: _Place | None) -> list[IssueRef]:
        """The non-closed items of the place, when it is one place (none while it is in doubt)."""
        return self._issues_for(place.options[0]) if place is not None and len(place.options) == 1 else []

    def _things_said(self, category: str | None, problem: Sequence[str], place: _Place | None) -> list[str]:
        """The things of ``category`` the problem words name (路灯, 道路), when the place has more
        than one item of that category (else the item is clear whatever was said)."""
        if category is None or sum(1 for issue in self._items_at(place) if issue.category == category) < 2:
            return []
        return sorted(label.split("/", 1)[1] for label in _topic_labels(problem, self._topics)
                      if label.startswith(category + "/"))

    def _filed_with(self, place: _Place | None, category: str, words: Sequence[str]) -> bool:
        """True when an item of ``category`` at the place has one of ``words`` in its description,
        or names the same thing (教室暖气 ~ 教室取暖不足, by the lexicon's topics)."""
        items = [issue for issue in self._items_at(place) if issue.category == category]
        return any(any(word in issue.description for word in words)
                   or _same_topic(words, issue.description, self._topics, self.lexicon.wholes) for issue in items)

    def _categories_holding(self, place: _Place | None, words: Sequence[str]) -> list[str]:
        """Categories of the place's items whose description holds one of ``words`` (two characters or more)."""
        said = [w for w in words if len(w) >= 2]
        return list(dict.fromkeys(issue.category for issue in self._items_at(place)
                                  if any(w in issue.description for w in said)))

    def _holds_every_word(self, place: _Place | None, category: str, words: Sequence[str]) -> bool:
        """True when an item of ``category`` at the place has every one of ``words`` in its description."""
        return bool(words) and any(issue.category == category and all(word in issue.description for word in words)
                                   for issue in self._items_at(place))

    def _step_is_the_item(self, fact: Fact, mentions: list[Mention]) -> bool:
        """The step's object (方案, 公告) is what an item of the place asks for (分红方案未公示)."""
        words = {m.word for c in fact.clauses for m in c.status if "step_object" in m.labels}
        return any(word in description for description in self._descriptions_at(mentions) for word in words)

    def _action_is_the_item(self, fact: Fact, mentions: list[Mention]) -> bool:
        """A step of work (公示, 上报, 审批) is what an item of the place says is not done (分配方案未公示)."""
        words = {m.word for c in fact.clauses for m in c.status
                 if "progress" in m.labels and len(m.word) >= 2 and m.word not in _STARTS}
        return any(f"{neg}{word}" in description for description in self._descriptions_at(mentions)
                   for word in words for neg in ("未", "没", "不"))

    def _descriptions_at(self, mentions: list[Mention]) -> list[str]:
        """The descriptions of the non-closed items at the villages and households ``mentions`` name."""
        places = {p for m in mentions for p in m.options if p.village}
        return [issue.description for p in places for issue in self._issues_for(p)]

    def _described_categories(self, place: _Place | None, text: str) -> list[str]:
        """Categories of the place's items whose description shares a two-character word with
        ``text`` (the fact, names masked)."""
        said = _bigrams(text)
        return list(dict.fromkeys(issue.category for issue in self._items_at(place) if said & _bigrams(issue.description)))

    def _open_categories(self, place: _Place | None) -> set[str]:
        return {issue.category for issue in self._items_at(place)}

    def _issues_for(self, place: Place) -> list[IssueRef]:
        """Non-closed issues of a household, or of a village and its households."""
        if place.household_code:
            return self._household_issues.get(place.household_code, [])
        if place.village:
            key = (place.township, place.village)
            return self._village_issues.get(key, []) + self._village_household_issues.get(key, [])
        return []

    def _report_or_new(self, result: Parse, place: _Place | None, reasons: list[str],
                       problem: list[str] = (), said_new: bool = False) -> bool:
        """Sets report or new_issue by the ledger; returns True when that needs a question.

        report when the ledger has a non-closed issue of this category for the household named,
        or, when only a village is named, for the village or any of its households. A village
        that is not in the ledger: a completion is a report (a solved problem cannot be new),
        a problem a new issue. A household named with only a village-level issue of that
        category (刘在龙家 饮水, 东台村 has the water issue): the report may belong to the
        village issue, but closing a whole village's issue on one household's word is not
        done silently, so it is a report that asks first.
        """
        if place is None or not place.options:
            result.intent = I.NEW_ISSUE if result.status == OPEN else I.REPORT
            return False
        if result.category is None:
            matching = self._issues_for(place.options[0]) if len(place.options) == 1 else []
            result.intent = I.REPORT if matching else I.NEW_ISSUE
            return False
        matching: list[IssueRef] = []
        for option in place.options:
            matching += [i for i in self._issues_for(option) if i.category == result.category]
        if problem and all(word in self._weak_words for word in problem) and not _topic_labels(problem, self._topics):
            # 陈秀英个厝开工了 for 危房改造未开工: a weak word alone (厝, 房) names the whole house
            problem = [label.split("/", 1)[1] for label in self.lexicon.wholes
                       if label.startswith(f"{result.category}/")][:1] or problem
        if result.issue_code:
            matching = [self._issues_by_code[result.issue_code]]
        elif matching and (said_new or not any(_describes(problem, i.description, self._topics, self.lexicon.wholes)
                                             for i in matching)):
            # 村部屋顶漏水 where the ledger has 路灯损坏: a new problem, or that item? Ask.
            result.intent = I.NEW_ISSUE
            result.flags.add("new_problem")
            known = matching[0]
            reasons.append("说是新问题" if said_new else f"和台账里的“{known.description[:12]}”不像同一个问题")
            return True
        if matching:
            result.intent = I.REPORT
            if len(matching) == 1 and len(place.options) == 1:
                result.issue_code = matching[0].code
            return False
        option = place.options[0]
        if len(place.options) == 1 and option.household_code:
            village_level = [i for i in self._village_issues.get((option.township, option.village), [])
                             if i.category == result.category]
            if village_level and result.status != OPEN:
                result.intent = I.REPORT
                result.issue_code = village_level[0].code
                reasons.append(f"{option.household}户没有{result.category}问题，是否指{option.village}的那条？")
                return True
        result.intent = I.NEW_ISSUE
        return False


# --- helpers ----------------------------------------------------------------------------------

def _grouped(groups: dict[str, tuple[str, ...]]) -> dict[str, list[str]]:
    words: dict[str, list[str]] = {}
    for group, members in groups.items():
        for word in members:
            words.setdefault(word, []).append(group)
    return words


def _category_matcher(lexicon: Lexicon) -> KeywordMatcher:
    words: dict[str, list[str]] = {}
    for category, members in lexicon.category_words.items():
        for word in members:
            words.setdefault(word, []).append("ignore" if category == IGNORE else f"cat:{category}")
    for category, members in lexicon.category_weak.items():
        for word in members:
            words.setdefault(word, []).append(f"weak:{category}")
    return KeywordMatcher(words)


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    chars = list(text)
    for start, end in spans:
        chars[start:end] = MASK * (end - start)
    return "".join(chars)


_ASSERTING = frozenset({"done", "done_plain", "no_problem", "problem", "relapse", "not_done", "lack", "ordered"})
_HELP_HOW = re.compile(r"(?:怎么|咋|如何|怎样|怎么样才能)(?:查|撤|报|发|用|使|操作|填|上报|汇报|反馈|登记|问|使用|提交)")
_FILLER = re.compile(r"[□,、:;。!?\s的呢啊呀吧嘛家户了]|屋里|屋下|那边|这边|那儿|这儿|那里|这里|情况|问题|现在|目前|怎么样|咋样")


_MAX_QUERY_RESIDUE = 4
# 还有好多问题没整改 / 有好多没销号的 / 还剩不少: how much of the ledger is left, no one thing named
_LEFT = re.compile(r"(?:还有|还剩|有|剩)(?:好多|很多|不少|一堆|一大堆|好些|那么多)(?:个|条)?(?:问题|没|未|的|$)"
                   r"|还剩(?:好多|很多|不少)")


def _how_much_is_left(masked: str, category_matches: list[Match]) -> bool:
    """How much is left (还有好多问题没整改), with no thing of a category said: only a category's
    own name (档案问题) may be."""
    if not _LEFT.search(masked):
        return False
    return all(m.word in _CATEGORY_NAMES or m.word in CATEGORIES for m in category_matches)


# A message that only names a matter (status.MATTER at its end), maybe "let me tell you" after it
_MATTER_ONLY = re.compile(MATTER.pattern + r"(?:[,\s]*(?:我|俺)?(?:跟你|给你|和你|向你)?"
                          r"(?:说一下|讲一下|说下|说说|反映一下|反映下|汇报一下|你晓得的|你知道的|你懂的))?[,。!?]*$")


# Quoted or forwarded text in the raw message: a line starting with > or 》, or 「…」/『…』/“…”
# around a sentence.
_THANKED_WHOM = 8  # characters of "谢谢卫生院的同志" at the end of a message: still thanks
_QUOTED = re.compile(r"(?m)(?:^|[\s,，。!！:：])\s*[>》]|[「『“][^」』”]{6,}[」』”]|[【\[「『(（]转(?:发|载)?[】\]」』)）]")
_PROBLEM_STOP = frozenset("问题的了和与及村家户事情况已未没不还有")
_CATEGORY_NAMES = frozenset({*CATEGORIES, "问题"})
_STATED_BY = re.compile(r"前|内|底|为止|截止|之前|以前")


def _second_opinion(result: Parse, guess: Guess, threshold: float = AGREE_AT) -> None:
    """The bot writes without asking only when both readers agree; a status the rules could
    not read is offered as the statistical reader reads it (and asked)."""
    if result.intent not in I.WRITES:
        return
    if result.status is None and guess.writes and guess.status and result.intent == I.REPORT:
        # the rules read no status: the statistical reader's is the likeliest reading; it is
        # offered first among the buttons and never written without a question
        result.offered_status = guess.status
        if "matter" not in result.flags:  # 古榕村水管那个事: only the matter named, no status said
            result.status = guess.status
        result.flags.add("reader_status")
        result.needs_confirmation = True
    if (result.intent == I.REPORT and guess.writes and guess.status and guess.status != result.status
            and guess.status_p >= OFFER_READERS_AT and not guess.finds_plausible(result.status, threshold)
            and not result.flags & _EXPLAINED):
        # the readers disagree and the statistical one is sure: its status is offered first
        result.status = guess.status
        result.flags.add("reader_status")
        result.needs_confirmation = True
    if result.needs_confirmation or "ledger_word" in result.flags:
        return  # 整改中 / 已整改 said plainly is the ledger's own word for the status
    if "weak" in result.flags:
        threshold = max(threshold, SURE_AT)  # 材料交了 / 墙明天补: one character says what happened
    if not guess.finds_plausible(result.status, threshold):
        result.needs_confirmation = True
        result.confidence = min(result.confidence, 0.55)
        result.flags.add("disagree")
        result.reasons.append("两种读法不一致，先确认")


def _category_opinion(result: Parse, guess: Guess, threshold: float) -> None:
    """A category the statistical reader finds implausible is asked: the rules' category names
    the item a report moves, or the new item's category (养羊场承包费: 产业 or 集体经济)."""
    if result.intent not in I.WRITES or result.category_sure or result.facts:
        return
    if result.category is None and guess.categories:
        # no category word: the reader's likeliest two are offered first (asked anyway)
        ranked = sorted(guess.categories, key=guess.categories.__getitem__, reverse=True)
        result.category_choices = tuple(ranked[:2])
        return
    # 放水渠垮了: 水 alone does not make a new item 饮水, whatever the reader thinks: always asked
    guessed = result.intent == I.NEW_ISSUE and "weak_category" in result.flags
    if not guessed and not guess.doubts_category(result.category, threshold):
        return
    other = guess.likeliest_category
    if other == result.category:
        other = next((c for c in sorted(guess.categories, key=guess.categories.__getitem__, reverse=True)
                      if c != result.category), other)
    known = "category" in result.flags  # already asked: 说到了几类问题
    result.category_choices = tuple(dict.fromkeys((*result.category_choices, result.category, other)))
    result.needs_confirmation = True
    result.confidence = min(result.confidence, 0.55)
    result.flags.add("category")
    if not known:
        result.reasons.append(f"问题类别不确定：{result.category}还是{other}")


# A status the rules reached by explaining the message (快解决了 → in progress, 是假的 → open):
# the statistical reader's surer guess does not replace it.
_EXPLAINED = frozenset({"ledger_word", "step", "near", "hedge", "hearsay", "denial", "contrast", "double_negation",
                        "quote", "rhetorical", "order", "mixed"})


def _only_a_visit(masked: str, clauses: Sequence[Clause]) -> bool:
    """True when the message is the speaker's plan to go and look, and nothing else: every
    clause with a status or a question lies inside the plan."""
    spans = [(m.start(), m.end()) for m in _VISIT.finditer(masked)]
    if not spans:
        return False
    for clause in clauses:
        inside = any(start < clause.end and clause.start < end for start, end in spans)
        if not inside and (clause.events or clause.question):
            return False
    return True


# 榕岭县还有什么问题: a county's own name (the ledger holds no county) said where a place goes is the county
_COUNTY_NAME = re.compile(r"(?:^|(?<=[,。;!?\s问看]))[\u4e00-\u9fff]{2}县(?![里上城级委政长医局区域道])")


def _is_a_status(masked: str, match: Match, category_matches: Sequence[Match]) -> bool:
    """False for a status word that, read in context, says no status: the 通 of a longer thing's
    name (通组路, 村村通); a potential complement (解决得了, 修得完: can be done); 上了 of a place
    after 在 (卡在乡上了, 在路上了: not 装上了)."""
    if any(c.start <= match.start and match.end <= c.end and (c.end - c.start) - (match.end - match.start) >= 2
           for c in category_matches if c.labels[0] != "ignore"):
        return False
    if "completion" not in match.labels:
        return True
    return not (masked.startswith(_CAN_BE_DONE, match.end)
                or match.word == "上了" and _AT_A_PLACE.search(masked, 0, match.start))


def _intent_words(masked: str, matches: list[Match]) -> list[Match]:
    """The intent lexicon's matches, read in context: 做好了 is done, not the instruction 做好防冻工作;
    未销号 is not closed out, no close-out command; a county's own name (榕岭县) is the county."""
    matches = [m for m in matches if not ("instruction" in m.labels and m.word == "做好" and masked.startswith("了", m.end))
               and not ("close_out" in m.labels and masked[max(0, m.start - 2):m.start].endswith(("未", "没", "不", "没有")))]
    taken = _marked([False] * len(masked), [(m.start, m.end) for m in matches])
    found = [Match(m.start(), m.end(), m.group(0), ("county",)) for m in _COUNTY_NAME.finditer(masked)
             if not any(taken[m.start():m.end()]) and MASK not in m.group(0)]
    return sorted([*matches, *found], key=lambda m: m.start) if found else matches


def _names_the_matter(masked: str, fact: Fact, category_matches: Sequence[Match]) -> bool:
    """True when the fact's only status word is a bare verb ending it, right after a thing of the
    ledger, with no 了 / 已 anywhere: 光伏收益分配, 村道硬化 name the matter, they do not say it is done."""
    words = [m for c in fact.clauses for m in c.status]
    if len(words) != 1 or masked[words[0].end:fact.end].strip("□,。 "):
        return False
    return not re.search("[了已]", masked[fact.start:fact.end]) and any(
        m.end == words[0].start for m in category_matches if fact.start <= m.start < fact.end)


def _first_matter(facts: list[Fact], with_status: list[Fact]) -> Fact:
    """The fact a write is about: the first one that names a problem or a village or household.
    我跟茶岗镇社保所对接过了，曾佩玲公益岗下周三前能解决 is about 曾佩玲's job (the first clause says
    whom the sender spoke to); 车道岭淀粉厂收益还么分；另外，苟文德水窖做好了 is about 车道岭's income
    even when its status is a word the rules do not know (asked, with the second reader's guess
    from its own clauses); the later fact is listed beside it."""
    first_with_status = next((f for f in with_status if f.categories or any(
        m.how != "unknown" and m.level in ("village", "household") for m in f.mentions)), with_status[0])
    for fact in facts[:facts.index(first_with_status)]:
        if (fact.categories and any(m.exact and m.level in ("village", "household") for m in fact.mentions)
                and not any(c.question for c in fact.clauses)):
            return fact
    return first_with_status


def _about(facts: list[Fact]) -> Fact | None:
    """The first fact that names a place exactly and a problem."""
    return next((f for f in facts if any(m.exact for m in f.mentions) and f.categories), None)


def _without_fact_chat(labels: set[str], intent_matches: list[Match], clauses: list[Clause]) -> set[str]:
    """Small-talk words (晚上, 好, 行) inside a clause that names a place and a problem are part
    of the fact ("晚上出门不摸黑了"), not chat: the label stays only for chat outside facts."""
    if "chat" not in labels:
        return labels
    for match in intent_matches:
        if "chat" not in match.labels:
            continue
        clause = next((c for c in clauses if c.start <= match.start < c.end), None)
        if clause is None or not (clause.mentions and clause.categories):
            return labels
    return labels - {"chat"}


def _only_words(piece: str, words: tuple[str, ...]) -> bool:
    """True when ``piece`` is made only of ``words`` (given longest first; greedy)."""
    i = 0
    while i < len(piece):
        word = next((w for w in words if piece.startswith(w, i)), None)
        if word is None:
            return False
        i += len(word)
    return True


def _marked(base: list[bool], spans: Sequence[tuple[int, int]]) -> list[bool]:
    """A copy of ``base`` with every position inside ``spans`` set."""
    marked = list(base)
    for start, end in spans:
        marked[start:end] = [True] * (end - start)
    return marked


def _only_a_plan(seen: _Seen, fact: Fact, events: list[str], status_matches: list[Match]) -> bool:
    """村道明天修 / 光伏板下周换: a day and a bare one-character verb, no word of promise (能, 争取),
    no limit (前, 内, 底) and no result (修完, 发到): when the work is to happen, maybe not more."""
    if set(events) != {"promise"} or any("promise" in m.labels for m in status_matches):
        return False
    days = [d for d in seen.deadlines if fact.start <= d.start < fact.end]
    verbs = [m for m in status_matches if "completion" in m.labels]
    return bool(days) and not any(_STATED_BY.search(d.text) for d in days) and all(
        m.word not in _RESULT_CHARS and not seen.masked.startswith(_RESULT_CHARS, m.end)
        and seen.masked[m.start - 1:m.start] != "就" for m in verbs)


_RESULT_CHARS = tuple("完好齐通到上妥掉")  # 下周铺完, 明后天就通, 下周到: a result, not only a plan


def _only_withdraws(masked: str, clauses: Sequence[Clause]) -> bool:
    """刚才发的吉克石布那条撤回: every clause with a status speaks of a message sent before (not
    吉克石布家房子修好了，刚才那条撤回, which reports anew). A clause of the speaker's own next step
    (撤回□那条，我再核实一下; not 我去看了…已经修好了) says nothing of the problem; with no status
    left, the places and things said describe the message withdrawn (撤回□饮水那条)."""
    said = [c for c in clauses if c.events and not (_SPEAKER_NEXT.match(masked, c.start) and "done" not in c.events)]
    if not said:  # 那条 said of the message, not of a thing (那条路的路灯取消了 is no withdrawal)
        return any(_THAT_MESSAGE_ALONE.search(masked, c.start, c.end) for c in clauses)
    return all(_THAT_MESSAGE.search(masked, c.start, c.end) for c in said)


def _clipped(text: str, mentions: Sequence[Mention], explained: list[bool]) -> list[tuple[int, str]]:
    """Villages found exactly whose name may be the tail of a longer one the ledger does not have
    (黑圪崂村 for 圪崂村): one Chinese character opening the clause right before it, which no name,
    word or particle explains."""
    found = []
    for mention in mentions:
        k = mention.start - 1
        if mention.level != "village" or not mention.exact or k < 0 or explained[k]:
            continue
        opens = k == 0 or not ("\u4e00" <= text[k - 1] <= "\u9fff")  # the character begins the clause
        if opens and "\u4e00" <= text[k] <= "\u9fff" and text[k] not in _BEFORE_A_PLACE:
            found.append((mention.start, text[k] + text[mention.start:mention.end]))
    return found


_BEFORE_A_PLACE = frozenset("在到去往的了和与跟同及是从给对把被让叫向镇乡县区村里说讲咧哒哩呢吗啊嗯个那这将要们我咱俺本该全各其另")


def _said_as_question(masked: str, fact: Fact) -> str | None:
    """A clause of the fact ends in 咯, a question in the south-west and a statement elsewhere;
    or 可 / 格 / 阿 stands right before its completion (房子可修好了, 路灯可都亮了): a question in
    江淮, 中原, 云南 and 吴 speech (修好了吗), "at last" elsewhere. Returns the words (…咯, 可修好)."""
    for clause in fact.clauses:
        if masked[clause.start:clause.end].rstrip("□ ").endswith("咯"):
            return "…咯"
        for match in clause.status:
            asked = bool({"completion", "progress", "problem"} & set(match.labels)) and _K_QUESTION.search(
                masked, clause.start, match.start)  # 可修好了 / 可开工了 / 可还漏
            if asked:
                return masked[asked.start():match.end]
    return None


# 可 (格, 阿) before the verb, with at most 都 / 已 / 是 between, not 不可 / 就可 / 也可 (can)
_K_QUESTION = re.compile(r"(?<![不就也才便方即许宁])[可格阿](?:都|已|是|已经|还)?$")


def _unknown_particle(seen: _Seen, fact: Fact) -> str | None:
    """A character no word explains right after the status word of a clause that says "done",
    alone but for the particles every region shares (修好咩, 搞掂咗, 修好了噻): a particle of speech
    the rules have not met, which may ask (咩, 咯) as well as tell. Particles are written with 口
    (U+53E3-U+56D6, the radical's range in Unicode's radical-stroke order); content words that
    are (没水吃) follow a problem, not a completion."""
    for clause in fact.clauses:
        if not DONE_EVENTS & set(clause.events) or not clause.status:
            continue
        last = max(clause.status, key=lambda m: m.end)
        rest = [(k, ch) for k, ch in enumerate(seen.masked[last.end:clause.end], last.end)
                if ch not in _SHARED_PARTICLES and ch not in "□ ,。!?、;:"]
        if len(rest) == 1 and not seen.explained[rest[0][0]] and "\u53e3" <= rest[0][1] <= "\u56d6":
            return rest[0][1]
    return None


# Sentence-final particles of standard speech and of every region the rules have met: they tell
_SHARED_PARTICLES = frozenset("了啦的呀啊哦呢吧嘛噢哈喽哟呐嘞哩")


def _ends_on_a_problem(fact: Fact) -> bool:
    """A clause says done and a later one says only that a problem stands (批了，未发到他手 read as
    a problem; 蜂箱发了，花椒地还是没人管): which is the item's news is not for the rules to pick."""
    said = [c for c in fact.clauses if {"done", "problem"} & set(c.events)]
    return (len(said) > 1 and "done" in said[0].events
            and "problem" in said[-1].events and not DONE_EVENTS & set(said[-1].events))


def _stray_problem(fact: Fact, category: str) -> bool:
    """A clause of the fact with no status that names another problem (by a strong word)."""
    return any(not clause.events and not clause.question and clause.categories
               and any(strong for _, _, strong in clause.categories)
               and all(c != category for _, c, _ in clause.categories)
               for clause in fact.clauses)


def _same_places_as(mentions: Sequence[Mention], others: Sequence[Mention]) -> bool:
    return all(any(set(m.options) & set(o.options) for o in others) for m in mentions)


def _asks_to_send(masked: str, intent_matches: Sequence[Match]) -> bool:
    """发过来 / 一份给我: the sender asks for something (not 发过来了, which says it came)."""
    return any("send_request" in m.labels and not masked.startswith(("了", "啦"), m.end) for m in intent_matches)


def _weak_evidence(status_matches: list[Match]) -> bool:
    """The only completion words are one character (发, 修, 补): weak evidence of "done"."""
    completions = [m for m in status_matches if "completion" in m.labels]
    return bool(completions) and all(len(m.word.rstrip("了")) == 1 for m in completions)


def _under_way(events: list[str]) -> bool:
    return "progress" in events


def _problem_words(category_matches: list[Match], fact: Fact) -> list[str]:
    """The words naming the problem in a fact (屋顶, 漏水), without category names (饮水, 问题) or
    the offices that handle them (感谢住建局: 住建局 names who, not what)."""
    return [m.word for m in category_matches
            if fact.start <= m.start < fact.end and m.word not in _CATEGORY_NAMES and not _OFFICE.search(m.word)]


_OFFICE = re.compile(r"^..+(?:局|委|办|中心|政府)$")  # 住建局, 卫健委, 民政办 (卫生室, 厕所 are things)


_BIGRAM_STOP = frozenset("问题的了和与及村家户事已未没不还有是在到位个")


def _bigrams(text: str) -> set[str]:
    """Two-character words of ``text`` made of Chinese characters that carry meaning."""
    return {text[i:i + 2] for i in range(len(text) - 1)
            if all("\u4e00" <= ch <= "\u9fff" and ch not in _BIGRAM_STOP for ch in text[i:i + 2])}


def _with_resultatives(masked: str, matches: list[Match], deadlines: Sequence[Deadline],
                       clauses: Sequence[Clause]) -> list[Match]:
    """The lexicon's status words, plus a resultative complement no word covers: 焊好的 (done),
    and 下月5号前收齐 / 明后天能办妥 (promised: a date or 能 before it, nothing after it)."""
    taken = [(m.start, m.end) for m in matches if "ignore" not in m.labels]
    promised = [r for r in _BARE_RESULTATIVE.finditer(masked)
                if _promised(_clause_at(clauses, r.start()), r.start(), matches, deadlines)]
    found = [Match(r.start(), r.end(), masked[r.start() - 1:r.end()], ("completion",))
             for r in [*_RESULTATIVE.finditer(masked), *promised]
             if not any(start < r.end() and r.start() < end for start, end in taken)]
    return _overlaid(matches, found)


def _overlaid(matches: list[Match], found: list[Match]) -> list[Match]:
    """``matches`` with ``found`` laid over them: a found span replaces the matches it overlaps."""
    if not found:
        return matches
    kept = [m for m in matches if not any(m.start < f.end and f.start < m.end for f in found)]
    return sorted(kept + found, key=lambda m: m.start)


def _clause_at(clauses: Sequence[Clause], at: int) -> tuple[int, int]:
    """The (start, end) of the clause holding position ``at`` (a stop between clauses: its own)."""
    clause = next((c for c in clauses if c.start <= at < c.end), None)
    return (clause.start, clause.end) if clause else (at, at)


def _step_done(fact: Fact, category_matches: list[Match]) -> bool:
    """A step is done and the work goes on, about one problem: 地基打完了，正砌墙 / 钢材拉过来了，
    月底前能装上. Two problems each with its own status (路灯修好了，村道月底前铺完) are not this:
    one of the two clauses must name no problem, or the later one no other problem, of its own."""
    done = [c for c in fact.clauses if {"done", "done_plain"} & set(c.events)]
    going = [c for c in fact.clauses if {"promise", "progress"} & set(c.events)]

    def words(clause: Clause) -> set[str]:
        return {m.word for m in category_matches if clause.start <= m.start < clause.end}

    # the work going on is said after the step (材料交上去了，卡也办下来了: the fix came after it)
    return any(_done_then_going(d.events) if d is g else d.start < g.start and (
        not words(d) or not words(g) or words(g) <= words(d)) for d in done for g in going)


def _step_before_work(masked: str, fact: Fact) -> bool:
    """A step done, then another verb not yet (灯具拉到了，还没装): the work is under way. The
    same verb not yet for some (已通水，还有两户没通) is not this: the problem stands there."""
    for index, clause in enumerate(fact.clauses):
        if "done" not in clause.events or {"not_done", "lack"} & set(clause.events):
            continue
        did = {ch for m in clause.status if "completion" in m.labels for ch in m.word} - _STEP_STOP
        for later in fact.clauses[index + 1:]:
            if not {"not_done", "lack"} & set(later.events) or {"done", "relapse", "problem"} & set(later.events):
                continue
            text = masked[later.start:later.end]
            cut = max(text.find("没"), text.find("未"))
            if cut >= 0 and did and not did & set(text[cut + 1:]):
                return True
    return False


_STEP_STOP = frozenset("了已经好完过齐")


def _done_then_going(events: list[str]) -> bool:
    """In one clause, a step done and then work going on (打完了正砌墙); 能吃上自来水了 (able, then
    done) is not."""
    first_done = min(i for i, e in enumerate(events) if e in ("done", "done_plain"))
    return any(e in ("promise", "progress") for e in events[first_done + 1:])


def _with_spoken_doubts(masked: str, matches: list[Match]) -> list[Match]:
    """The doubt words, plus constructions no word list covers: 哪好了 / 哪里通了 (a rhetorical
    denial), a clause opened by 可 / 但 (a contrast between two facts), 据…反映 and …村长说的
    (hearsay)."""
    taken = [(m.start, m.end) for m in matches if not {"ack", "thanks", "filler"} & set(m.labels)]
    found = [Match(r.start(), r.end(), r.group(), (kind,))
             for pattern, kind in ((WHERE_DONE, "denial"), (_BUT, "contrast"), (_ACCORDING_TO, "hearsay"),
                                   (_SAID_AFTER, "hearsay"))
             for r in pattern.finditer(masked)
             if not any(start < r.end() and r.start() < end for start, end in taken)]
    return sorted(matches + found, key=lambda m: m.start) if found else matches


def _not_until(masked: str, deadlines: list[Deadline]) -> list[Deadline]:
    """做到过年 / 干到月底: 到 a date with no 前 says until when, not by when."""
    return [d for d in deadlines
            if not (d.start > 0 and masked[d.start - 1] == "到" and not d.text.endswith(("前", "以前", "之前")))]


def _without_done_today(deadlines: list[Deadline], clauses: Sequence[Clause], today: dt.date,
                        status_matches: list[Match], masked: str) -> list[Deadline]:
    """今天到账 / 今儿通水了: today said plainly before a completion is when it was done, not a
    deadline (今天之内, 今天前 and 今天到期 still are)."""
    def done_today(d: Deadline) -> bool:
        if d.bounded or d.date != today or masked.startswith("到期", d.end):
            return False
        stop = _clause_at(clauses, d.start)[1]
        between = [m for m in status_matches if d.end <= m.start < stop]
        return any("completion" in m.labels for m in between) and not any(
            {"promise", "order"} & set(m.labels) for m in between)
    return [d for d in deadlines if not done_today(d)]


def _under_way_phrases(masked: str, matches: list[Match]) -> list[Match]:
    """Work started or sent for, whatever the verb: 开始砌了, 派人去修了, 找人去接了 (under way,
    not done: the verb after 去 is the purpose), papers handed to an office (表交到卫生院了)."""
    return _overlaid(matches, [Match(r.start(), r.end(), r.group(),
                                     ("progress", "handed") if r.group()[1] == "到" else ("progress",))
                               for r in _UNDER_WAY.finditer(masked)])


def _promised(clause: tuple[int, int], at: int, matches: list[Match], deadlines: Sequence[Deadline]) -> bool:
    """A bare complement (收齐, 办妥) promises when a date or a promise word (能, 争取) stands
    before it in its ``clause``."""
    clause_start = clause[0]
    dated = any(clause_start <= d.start and d.end <= at and at - d.end <= _PROMISE_REACH for d in deadlines)
    vowed = any("promise" in m.labels and clause_start <= m.start and m.end <= at and at - m.end <= 4
                for m in matches)
    return dated or vowed


# The ledger's own status words: said plainly, they need no second opinion (the corpora's
# writers avoid them, so the statistical reader has seen too few to judge them).
_LEDGER_STATUS_WORDS = frozenset({"整改中", "已整改", "整改完毕", "整改到位", "已销号"})


def _outside(matches: list[Match], spans: list[tuple[int, int]]) -> list[Match]:
    return [m for m in matches if not any(start < m.end and m.start < end for start, end in spans)]


_PLACE_WORD = re.compile(r"[\u4e00-\u9fff][村镇乡屯家户]")
# A resultative complement after any verb (焊好的, 砌完了, 收齐了, 办妥了): done, whether or not
# the lexicon knows the verb.
_CHEERS = ("👍", "👏", "🙏", "💪")
_RESULTATIVE = re.compile(r"(?<=[\u4e00-\u9fff])(?<![还很挺不是真太最都也就快要能会])"
                         r"(?:好|完|齐|妥|全|清楚|清|平|回来|下来|上来|(?<=[拆清除还换砍移搬铲])掉)(?=[了的啦喽哩])")
_BARE_RESULTATIVE = re.compile(r"(?<=[\u4e00-\u9fff])(?<![还很挺不是真太最都也就快要能会])(?:好|完|齐|妥|清|回来|下来|上来)(?=$|[,。!?;:、\s呢啊呀吧])")
# …交到卫生院了 / 报到民政局了: papers handed to an office, which has still to act
_UNDER_WAY = re.compile(r"(?:交|送|递|报|拨)到[\u4e00-\u9fff□]{0,4}?(?:院|局|站|所|办|中心|政府|财政|乡里|镇里|县里|残联|公司|银行|信用社|学校|委|社)|"
                        r"(?<![没未不])开始[\u4e00-\u9fff]|(?:^|(?<=[,。;]))(?:等(?![到于等])|正(?![常式好是]))[\u4e00-\u9fff]|(?:派|安排|找)[^,。!?;\s]{0,4}?(?:去|来|过来)[\u4e00-\u9fff]{1,2}(?:了|呢)?")
_DENYING = re.compile(WHERE_DONE.pattern + "|谁说")  # 哪里修好了, 谁说通了: a denial, never a question
_ACCORDING_TO = re.compile(r"据[\u4e00-\u9fff□]{1,6}?(?:反映|说|称|介绍|反馈)")  # 据村干反映: hearsay
# …水通了，村长说的: the report is someone else's, named after it (not 我说的)
_SAID_AFTER = re.compile(r"(?<=[,。]).{0,6}?(?<![我俺咱])说的(?=[,。!?]|$)")
_BUT = re.compile(r"(?<=[,。;])(?:可是|但是|可|但|不过)(?![以能是不])")
# The speaker going somewhere to look (明天去□看看, 这周抽时间去□看看路, 计划下周去核实…, 周四到□开
#群众会, 等哈我去一趟□): a plan of the speaker's, which says nothing of a problem's status.
_VISIT = re.compile(
    r"(?:^|(?<=[,。;]))(?:我们|我|咱们|咱|明天|明日|后天|今天|今儿|今日|下午|上午|周[一二三四五六日天]|"
    r"星期[一二三四五六日天]|礼拜[一二三四五六日天]|这周|这礼拜|下周|下礼拜|计划|准备|打算|抽时间|等会|等哈|回头)"
    r"[^,。;!?]{0,10}?(?:去|到|上|陪|克)[^,。;!?]{0,12}?"  # 克: 去 in the south-west (明天克□瞧一下)
    r"(?:看看|看一下|看下|瞅瞅|瞧瞧|转转|走访|核实|核查|核对|检查|调查|督导|踏勘|一趟|开[\u4e00-\u9fff]{0,3}会|坐下|坐坐|"
    r"拍[\u4e00-\u9fff]{0,3}照片?|看(?![了过见到])|瞧(?![了过见])|查(?![了过完出到见明实])|□$)")
_WAIT_THEN = re.compile(r"(?:^|[,。])等(?!了)[^,。]{2,20}?(?:了|以后|之后)[,]?(?:我|你|咱|再|就|喊我|告诉我|跟我)")
# 修好了喊我一声 ending the message: tell me when it is done (not 老王刚告诉我一声，…: it was told)
_TELL_ME_WHEN = re.compile(r"(?<!刚)(?<!已经)(?:告诉|喊|叫|通知|跟)我(?:说)?一声[啊哈吧嘛哦噻]?[,。!?]*$")
# a sending verb, a few characters (1份, 几张), then 给我 ending the clause: the sender asks for it
_SEND_TO_ME = re.compile(r"(?:发|传|拍|整|弄|寄|转|扫|复印)[\u4e00-\u9fff0-9]{0,3}?给我(?:看看|看下|看一下|一下)?(?=$|[,。!;? ])")
_ALREADY_OR_NOT = re.compile(r"已|没|未|刚")

_PROMISE_REACH = 8  # 下月5号前把账目理清: the date and the verb, at most this far apart
_AGAIN = re.compile(r"又(?!是|要|得|能|会|去|来|说|发现|检查|查|看|核|复查|试)[\u4e00-\u9fff]{1,8}?[了啦]")


def _asks_for_a_paper(masked: str) -> bool:
    """表发1份给我 / 验收单拍1张给我: a sending verb + 给我 ending the clause, with no 已经 / 没 just
    before it (补助款已经转给我, 钱还没转给我 say what happened to the money)."""
    return any(not _ALREADY_OR_NOT.search(masked, max(0, m.start() - 4), m.start())
               for m in _SEND_TO_ME.finditer(masked))


def _relapses(masked: str, fact: Fact) -> bool:
    """A completion, then 又 + a verb + 了 after it (亮了三天又灭了, 修好了又坏了): it came back."""
    done = [m for c in fact.clauses for m in c.status if "completion" in m.labels]
    if not done:
        return False
    again = _AGAIN.search(masked, done[0].end, fact.end)
    if again is None:
        return False
    # 又修好了 is done again: a completion that ends the phrase (not 又跑到广东打工去了)
    closing = [m for c in fact.clauses for m in c.status
               if again.start() < m.start < again.end() and m.end >= again.end() - 1]
    return not any("completion" in m.labels for m in closing)


def _problem_phrase(seen: _Seen, fact: Fact) -> str:
    """The words naming the problem: from the first problem word to the end of its clause,
    without names (masked), dates and punctuation (东台村新发现3户房屋漏雨 -> 房屋漏雨)."""
    first = next((m for m in seen.category_matches if fact.start <= m.start < fact.end), None)
    if first is None:
        return ""
    clause = next((c for c in fact.clauses if c.start <= first.start < c.end), None)
    end = clause.end if clause else fact.end
    chars = list(seen.masked[first.start:end])
    for deadline in seen.deadlines:
        for i in range(max(deadline.start, first.start), min(deadline.end, end)):
            chars[i - first.start] = "□"
    return "".join(ch for ch in chars if ch not in "□,、:;。!?")[:30]


def _describes(problem: list[str], description: str, topics: KeywordMatcher | None = None,
               wholes: frozenset[str] = frozenset()) -> bool:
    """True when the message's problem words can be about an item with ``description``: they
    name the same thing of the category (修路 ~ 村道坑洼, by the lexicon's topics) or a part of
    the whole the item is about (房顶漏 ~ 危房改造未完工), or, where the topics say nothing, share
    a meaningful character (水管 ~ 自来水管道冻裂), or there are none to compare."""
    if topics is not None:
        said_topics, item_topics = _topic_labels(problem, topics), _topic_labels((description,), topics)
        if said_topics and item_topics:
            return _fits(said_topics, item_topics, wholes)
    said = {ch for word in problem for ch in word} - _PROBLEM_STOP
    if not said:
        return True
    return bool(said & (set(description) - _PROBLEM_STOP))


def _fits(said: set[str], item: set[str], wholes: frozenset[str]) -> bool:
    """Topics that name one thing, or an item about a whole (危房改造) and a part of its category."""
    if said & item:
        return True
    # 危房修好了 for an item "屋顶漏雨，墙体开裂": the whole house said, the item about its parts
    categories = {label.split("/", 1)[0] for label in (item | said) & wholes}
    return any(label.split("/", 1)[0] in categories for label in said | item)


def _same_topic(words: Sequence[str], description: str, topics: KeywordMatcher | None,
                wholes: frozenset[str] = frozenset()) -> bool:
    """True when ``words`` and ``description`` name one thing by the lexicon's topics (暖气 ~ 取暖)."""
    if topics is None:
        return False
    said, item = _topic_labels(words, topics), _topic_labels((description,), topics)
    return bool(said and item) and _fits(said, item, wholes)


def _topic_labels(words: Sequence[str], topics: KeywordMatcher) -> set[str]:
    """The "category/topic" labels the lexicon's topics give ``words``."""
    return {label for word in words for m in topics.find(word) for label in m.labels}


_DONENESS = (OPEN, IN_PROGRESS, RESOLVED)


def _same_fact(one: Parse, other: Parse) -> bool:
    return (one.village, one.household, one.category) == (other.village, other.household, other.category)


def _fact_deadline(fact: Fact, events: list[str], status: str | None, seen: _Seen) -> dt.date | None:
    """The completion date of a fact: said with its promise or order, or (for work under way)
    said as a deadline (前/内/底) in a clause that reports the work. A past date is a date of
    the work done, never a deadline; dates in the chatter of a summary are not either."""
    def in_clauses(clauses):
        return [d for d in seen.deadlines for c in clauses
                if c.start <= d.start < c.end and d.date >= seen.today]

    if status == RESOLVED:
        return None  # 低保金这个月打到卡上了: a time said with the fix is when it was done

    promised = [c for c in fact.clauses if "promise" in c.events or "ordered" in c.events
                or any({"promise", "order"} & set(m.labels) for m in c.status)]
    said = in_clauses(promised)
    if said and ("promise" in events or "ordered" in events or status == IN_PROGRESS):
        bounded = [d for d in said if d.bounded]
        return (bounded or said)[0].date
    if status == IN_PROGRESS:
        stated = [d for d in in_clauses(fact.clauses) if d.bounded and _STATED_BY.search(d.text)]
        if stated:
            return stated[0].date
    return None


def _by_clause(clauses: list[Clause], items) -> list[list]:
    """Items (sorted by start) distributed to the clauses they start in, in one pass."""
    buckets: list[list] = [[] for _ in clauses]
    ordered = sorted(items, key=lambda item: item.start)
    index = 0
    for item in ordered:
        while index < len(clauses) and clauses[index].end <= item.start:
            index += 1
        if index == len(clauses):
            break
        if clauses[index].start <= item.start:
            buckets[index].append(item)
    return buckets


# 开工了 for an item "危房改造未开工": work has begun, the house is not yet safe
_STARTS = frozenset({"开工", "动工", "进场", "开始", "启动", "施工", "开挖", "破土"})
# 我跟龙潭镇卫生院对接过了: 卫生院 is whom the sender spoke with, not the problem
_PARTY_BEFORE = re.compile(r"(?:跟|和|与|同|向|找)[□]*$")
_PARTY = re.compile(r"(?:对接|联系|沟通|协调|商量|说好|谈)")


def _spoken_with(masked: str, match: Match) -> bool:
    """True when the word names whom the sender spoke with (跟卫生院对接过了), not a problem."""
    return bool(_PARTY.match(masked, match.end)) and bool(_PARTY_BEFORE.search(masked, 0, match.start))


def _without_described(residue: str, descriptions: Sequence[str]) -> str:
    """``residue`` without the characters of every two-character word an item's description holds."""
    held = set().union(*(_bigrams(d) for d in descriptions)) if descriptions else set()
    keep = [True] * len(residue)
    for i in range(len(residue) - 1):
        if residue[i:i + 2] in held:
            keep[i] = keep[i + 1] = False
    return "".join(ch for ch, k in zip(residue, keep) if k)


def _residue(masked: str, matches) -> str:
    """What is left of the message without names, known words, dates and filler."""
    rest = list(masked)
    for match in matches:
        if "generic_place" in getattr(match, "labels", ()):
            continue  # 来, 去, 在 … are too small to count as understood
        rest[match.start:match.end] = MASK * (match.end - match.start)
    return _FILLER.sub("", "".join(rest))


def _is_bare(masked: str, category_matches: Sequence[Match], places: Sequence) -> bool:
    """True when the message is just a name (东台村, 李兆满家, 红旗村那边, 朱长桂家 said by sound, 全县),
    with category words at most (白雀镇住房问题)."""
    specific = any(getattr(p, "level", "") in ("village", "household") for p in places)
    if category_matches and specific and _THAT_MATTER.search(masked):
        return False  # 蒋桂花签字的问题 / 何家湾村门面租金的事: that matter, not a list of problems
    rest = list(masked)
    for span in (*category_matches, *places):
        rest[span.start:span.end] = "□" * (span.end - span.start)
    return not _FILLER.sub("", "".join(rest))


_THAT_MESSAGE = re.compile(r"(?:那|这|上一?|刚才那?)条|刚才(?:发|报|说)的")
_CAN_BE_DONE = ("得了", "得完", "得成")
_DEFECTS_OF_ANY_THING = ("开裂", "裂缝", "裂了")
_AGREED = ("谈妥", "谈好", "说好", "讲好", "商量好", "约好", "答应", "妥了")
_AT_A_PLACE = re.compile(r"在[\u4e00-\u9fff]{1,3}$")  # 卡在乡 + 上了
_THAT_MESSAGE_ALONE = re.compile(r"刚才(?:那?条|发的|报的|说的)|上一条|(?:那|这)条(?:消息|信息|汇报|报告)?"
                                 r"(?=$|[,。;!? ]|撤|删|作废|不算|不要|取消|莫|唔|别|不作数)")
_SPEAKER_NEXT = re.compile(r"[, ]*(?:我们|我|咱们|咱)(?:再|先|去|来|回头|马上)")  # 我再核实一下: not done yet
_THAT_MATTER = re.compile(MATTER.pattern + r"[,。!]?$")


def _apply_correction(masked: str, clauses: list[Clause], mentions: list[Mention],
                      intent_matches: list[Match]) -> bool:
    """"发错了，不是A村，是B村" / "…不对，是B…" / "更正：是B…": the place (or the whole fact)
    said before the correction is withdrawn. Returns True when there was a correction."""
    _mark_corrections(masked, mentions)
    marker = next((m for m in intent_matches if "correction" in m.labels and _is_correction(masked, m)), None)
    if marker is None:
        return any(m.negated for m in mentions)
    later = [m for m in mentions if m.start >= marker.end and not m.negated]
    before = [m for m in mentions if m.end <= marker.start]
    if later:
        levels = {m.level for m in later}
        for mention in before:
            if mention.level in levels or mention.level == "mixed" or "village" in levels:
                mention.negated = True
    for clause in clauses:  # 是慢病卡办好了，不是房子
        kept = [c for c in clause.categories if not masked[max(0, c[0] - 2):c[0]].endswith("不是")]
        if kept != clause.categories and any(c.categories for c in clauses if c is not clause) or kept:
            clause.categories = kept
    withdrawn = {m.surface for m in mentions if m.negated} - {m.surface for m in later}
    for mention in mentions:
        if mention.surface in withdrawn:
            mention.negated = True
    after = [c for c in clauses if c.start >= marker.end]
    restated = any(c.events for c in after) and any(c.places or c.categories for c in after)
    if restated:  # 更正：是东光村桥护栏修好了 -- the corrected fact replaces the first one
        for clause in clauses:
            if clause.end <= marker.start:
                clause.events, clause.categories = [], []
                for mention in clause.mentions:
                    mention.negated = True
    return True


def _is_correction(masked: str, marker: Match) -> bool:
    if marker.word == "不对":
        return masked[marker.end:marker.end + 2].lstrip(",") .startswith("是")
    before = masked[max(0, marker.start - 2):marker.start]
    if marker.word in _FIX_WORDS and (before.endswith(("已", "已经", "都", "也", "给"))
                                      or masked.startswith(("了", "过", "好", "完"), marker.end)):
        return False  # 户档已更正 / 信息更正了: the record was put right, the message is not corrected
    return True


_FIX_WORDS = frozenset({"更正", "纠正", "订正", "修正", "改正"})


def _mark_corrections(masked: str, mentions: list[Mention]) -> None:
    """"不是A村，是B村" / "A村应为B村": A is withdrawn when another place follows."""
    for i, mention in enumerate(mentions):
        if i + 1 == len(mentions):
            continue
        before = masked[max(0, mention.start - 3):mention.start]
        after = masked[mention.end:mention.end + 4]
        if before.endswith(("不是", "并非", "不是在")) or after.startswith(("应为", "应该是", "改为", "改成", "更正为", "错了")):
            mention.negated = True


def _inside(option: Place, other: Place) -> bool:
    """True when ``option`` lies inside (or is) ``other``'s place, or ``other`` inside it."""
    if option.township != other.township:
        return False
    if other.village is not None and option.village is not None and other.village != option.village:
        return False
    if other.household_code and option.household_code and other.household_code != option.household_code:
        return False
    if (other.household_code and option.household_code is None and option.village
            and other.village != option.village):
        return False
    return True


def _common(values) -> str | None:
    values = list(values)
    first = values[0] if values else None
    return first if all(v == first for v in values) else None


def _primary_is_household(places: list[Mention]) -> bool:
    return any(m.level == "household" for m in places if m.how != "unknown")


def _match_reason(mention: Mention) -> str | None:
    if mention.how in ("exact", "code", "own", "stem") or not mention.options:
        return None
    name = _option_name(mention.options[0])
    if mention.how == "surname":
        if len(mention.options) > 1:
            return None  # the ambiguity reason lists them
        by = "按姓氏" if name.startswith(mention.surface.lstrip("的老小")[:1]) else "按名字的一部分"
        return f"“{mention.surface}”{by}当作{name}家"
    if mention.how == "homophone":
        return f"“{mention.surface}”按读音匹配为“{name}”"
    if mention.how == "loose":
        return f"“{mention.surface}”读音相近，可能是“{name}”"
    return f"“{mention.surface}”字形相近，可能是“{name}”"


def _option_name(place: Place) -> str:
    return place.household or place.village or place.township or ""


def _ambiguity_reason(primary: Mention, options: list[Place]) -> str:
    levels = {p.level for p in options}
    if primary.how == "surname":
        names = "、".join(dict.fromkeys(p.household or "" for p in options))
        return f"{options[0].village}姓{options[0].household[:1]}的有{len(options)}户：{names}"
    if levels == {"household"}:
        where = "、".join(dict.fromkeys(f"{p.township}{p.village}" for p in options))
        return f"有{len(options)}户户主叫“{options[0].household}”：{where}"
    if levels == {"village"} and len({p.village for p in options}) == 1:
        where = "、".join(p.township or "" for p in options)
        return f"有{len(options)}个“{options[0].village}”：{where}"
    names = "、".join(dict.fromkeys(_option_name(p) for p in options))
    return f"“{primary.surface}”可能是{names}"


def _perfective_said(masked: str, fact: Fact) -> bool:
    """The fact says something happened (已 / 了): 方案公示了, not 方案在公示."""
    text = masked[fact.start:fact.end]
    return "了" in text or "已" in text


_PROMISED_AFTER = re.compile(r"[,，]?(?:就|能|会|可以|全部|都|一定|保证)*[\u4e00-\u9fff]{1,6}(?:了)?$")
_NO_PROMISE = re.compile(r"[没未不别甭莫把要得须请]")  # negated, or an order (下周五前把路灯换齐)


def _promised_after_done(seen: _Seen, fact: Fact) -> bool:
    """What was done is an agreement (谈妥, 说好, 答应) and a later clause with no status of its own
    is a dated promise (跟老板谈妥了 下月5号前给): the thing itself comes by that date."""
    done = next((c for c in fact.clauses if DONE_EVENTS & set(c.events)), None)
    if done is None or not any(m.word.startswith(_AGREED) for m in done.status if "completion" in m.labels):
        return False
    return any(
        not later.events and _dated_promise(seen, fact, later) for later in fact.clauses if later.start > done.start)


def _dated_promise(seen: _Seen, fact: Fact, clause: Clause | None = None) -> bool:
    """A date said as a bound (前 / 内 / 后天) and then, to the clause's end, only what will be done
    by it, no negation (下月5号前打成, 两天内清出来, 过两天就到): a promise, whatever the verb. With
    ``clause``, only a date in that clause counts."""
    start, end = (clause.start, clause.end) if clause is not None else (fact.start, fact.end)
    for deadline in seen.deadlines:
        if not (start <= deadline.start < end) or not deadline.bounded:
            continue
        clause_end = next((c.end for c in fact.clauses if c.start <= deadline.start < c.end), fact.end)
        after = seen.masked[deadline.end:clause_end]
        if after and "□" not in after and not _NO_PROMISE.search(after) and _PROMISED_AFTER.match(after):
            return True
    return False
