"""Status from aspect and negation scope, not from keywords.

Each clause yields events: ``done`` (修好了, 已解决), ``done_plain`` (a headline such as
"危房改造完工" with no aspect marker), ``not_done`` (还没修好, 没有完全解决, 还有两户没通),
``no_problem`` (没有饮水问题了, 不是危房了, 不再漏雨), ``promise`` (下周三前能修好, 月底前完工),
``ordered`` (要求本月底前整改到位), ``progress`` (正在修), ``problem`` (漏雨, 又坏了) and
``relapse`` (a problem said with 又/再次 after a completion), ``partial`` (只配了一部分,
基本解决了) and ``lack`` (a plain 没/没有/未 before a word that is no status word: 村里没有村医,
but also 水位一点没掉). :func:`decide` weighs them; ``lack`` beside a completion is a conflict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp.lexicon import Match

RESOLVED = "resolved"
IN_PROGRESS = "in_progress"
OPEN = "open"

_LE = "了啦喽咯哩"  # 哩 after a completion is 了 in the south (换新哩); 正砌墙哩 has no completion
_DANGLING_TAIL = frozenset("了呢啊呀的哦嘛吧")
_NEGATION_REACH = 4  # characters between a negator and the word it negates (没有完全解决)
_LATER = ("以后", "之后", "之前", "后再", "后要", "后才", "的时候", "时再")  # 修好以后…: a time clause


@dataclass(frozen=True)
class StatusReading:
    status: str | None
    sure: bool  # False when the words leave room for doubt (a bare headline, mixed signals)
    events: tuple[str, ...]
    conflict: bool = False  # done and a plain negation of something unknown (不渗了，水位没掉)


def clause_events(text: str, start: int, end: int, matches: list[Match], has_deadline: bool) -> list[str]:
    """Status events of one statement clause ``text[start:end]``, given its lexicon matches."""
    events: list[str] = []
    negator: Match | None = None
    copula: Match | None = None
    perfective_at: int | None = None
    promise_at: int | None = None
    promise_word = ""
    order_at: int | None = None
    order_word = ""
    relapse_at: int | None = None
    remaining = False
    step: Match | None = None  # the last step object (材料, 单据) said in the clause
    gone_until = -1  # 漏雨没啦: the 没 that says the problem is gone is read with it
    problem_end = -9  # where the last problem word (and its 了) ended: 坏了|一半
    for match in matches:
        labels = match.labels
        if "ignore" in labels or match.start < gone_until:
            continue
        if "step_object" in labels:
            step = match
            if not {"completion", "progress"} & set(labels):
                continue
        if "not_copula" in labels:
            copula = match
            continue
        if "negator" in labels and "problem" in labels:
            events.append("problem")  # 不想上学了 / 没法住: a problem that also negates what follows
            negator = match
            continue
        if "negator" in labels and not ({"completion", "problem", "progress"} & set(labels)):
            if negator is not None and _strong_negator(negator):
                events.append(_lack(text, negator))  # 还没…, 没有…: the first negation stands on its own
            negator = match
            continue
        if "no_longer" in labels:
            events.append("no_problem")
            negator = None
            continue
        negated = negator is not None and _within_reach(text, negator.end, match.start, _reach(negator))
        if negator is not None and not negated and _strong_negator(negator):
            events.append(_lack(text, negator))  # 卫生室没有村医: the negated thing is no status word
        event = None
        if "completion" in labels and MATTER.match(text, match.end):
            event = None  # 复学的事 / 收益分配这个问题: the word names the matter, not its status
        elif "completion" in labels and text.startswith(_LATER, match.end):
            event = None  # 修好以后要验收 / 修好之前先拉水: a time clause, not a completion
        elif "completion" in labels and (_in_progress_aspect(text, match.start) or text.startswith("着", match.end)):
            event = "progress"  # 挖机已经在清了 / 正在修 / 正换着: the work going on
        elif "completion" in labels:
            if negated:
                # 没发完 / 还没整完: V完 presupposes the work started
                started = match.word.endswith("完") or text.startswith("完", match.end)
                event = "progress" if started else "not_done"
            else:
                able = promise_word in _ABLE
                # 估计办下来了 / 应该修好了: a guess about work done (hedged, asked), not a promise
                guessed_done = promise_word in _GUESSES and (match.word[-1] in _LE
                                                            or _le_follows(text, match.end, end, matches, match))
                perfective = (
                    perfective_at is not None
                    or match.word[-1] in _LE
                    or _le_follows(text, match.end, end, matches, match)
                    or text.startswith("的", match.end) and match.end + 1 >= end  # 28号清完的: 是…的
                )
                if len(match.word) == 1 and not perfective and promise_at is None and not has_deadline \
                        and order_at is None:
                    event = None  # a bare one-character verb (修, 换) says nothing about status
                elif perfective and (promise_at is None or able or guessed_done or _already(text, match)) \
                        and order_at is None:
                    # 修好了 / 能吃上自来水了 (able now) / 雨露计划补助已整改 (已: whatever
                    # promise word came before, here 计划 naming the programme): done
                    event = "done"
                elif order_at is not None:
                    event = "ordered"
                elif promise_at is not None or has_deadline:
                    event = "promise"
                else:
                    event = "done_plain"
        elif "progress" in labels and match.word == "已经在" and _PLACE_AFTER_ZAI.match(text, match.end):
            event = None  # 村医已经在卫生室坐诊了: 在 says where, not that work goes on
        elif "progress" in labels and match.word in _HALF and events and events[-1] in ("problem", "relapse") \
                and match.start - problem_end <= 1:
            event = None  # 路灯坏了一半: how much is broken, not how much is done
        elif "progress" in labels:
            event = "not_done" if negated else "progress"
        elif ("problem" in labels or "problem_noun" in labels) and text.startswith(_GONE, match.end):
            event = "no_problem"  # 窑顶漏雨没啦: the problem is gone
            gone_until = match.end + next(len(g) for g in _GONE if text.startswith(g, match.end))
        elif ("problem" in labels or "problem_noun" in labels) and _attributive(text, match.end, end):
            event = None  # 漏水的管子弄好了: the problem names the thing, the status comes after it
        elif "problem" in labels or "problem_noun" in labels:
            denied = negated or (copula is not None and _within_reach(text, copula.end, match.start, 6))
            if denied:
                event = "no_problem"
            elif "problem" in labels:
                again = relapse_at is not None or match.word.startswith("又")
                event = "relapse" if again else "problem"
        elif "perfective" in labels:
            perfective_at = match.start
        elif "promise" in labels:
            promise_at, promise_word = match.start, match.word
        elif "order" in labels and not text.startswith(("了", "哩", "过"), match.end):
            order_at, order_word = match.start, match.word  # (请了会计: hired, no order)
        elif "relapse" in labels:
            relapse_at = match.start
        elif "remaining" in labels:
            remaining = True
        if event in ("done", "done_plain") and _steps(text, step, match, end):
            event = "step" if event == "done" else "step_plain"  # 材料交到卫生院了: one step, not the fix
        if event in ("problem", "relapse"):
            problem_end = match.end + (1 if text.startswith("了", match.end) else 0)
        if event is not None:
            events.append(event)
            perfective_at = None  # 已经在装车了，明天发到户: 已 belongs to the first verb only
            copula = None
        if "negator" not in labels:
            negator = None
    if negator is not None and (_strong_negator(negator) or _dangles(text, negator.end, end)):
        events.append(_lack(text, negator))  # 东台村饮水还没 / 村里一直没有村医
    if order_at is not None and has_deadline and not any(e in ("done", "ordered") for e in events):
        events.append("ordered")  # 要求…本月底前
    elif order_word in _COMMANDING and not {"done", "ordered", "not_done", "progress"} & set(events):
        events.append("ordered")  # 请…尽快把塌方路段清出来: an order, whatever its verb
    if remaining:
        events.append("partial")  # 只配了一部分 / 还剩二十来户
    return events


STEPS = frozenset({"step", "step_plain"})
_HALF = frozenset({"一半", "半拉", "一多半"})
# 在 before a place and then a verb (在卫生室坐诊, 在学校上课, 在家里住): a preposition
_PLACE_AFTER_ZAI = re.compile(r"[\u4e00-\u9fff]{0,4}?(?:卫生室|卫生院|学校|工地|车间|地里|家里|屋里|村里|镇上|县里|室|所|院|站|校|家)(?=[\u4e00-\u9fff])")
DONE_EVENTS = frozenset({"done", "done_plain", "no_problem"})  # what says the problem is gone
_STEP_REACH = 4  # characters between a step object and its verb (材料都已经交了)


def _steps(text: str, step: Match | None, verb: Match, end: int) -> bool:
    """The completion's object is a step toward the fix: 材料交到卫生院了 (object before the
    verb, nothing but adverbs between) or 交了申请 (right after it)."""
    if step is not None and _within_reach(text, step.end, verb.start, _STEP_REACH):
        return True
    if verb.word[:1] in _HAULED or _HAULED & set(text[max(0, verb.start - 2):verb.start]):
        return True  # 管子拉回来了 / 水泵买到了: what is brought is material, not the fix
    after = text[verb.end:min(end, verb.end + 6)]
    return any(after.lstrip("了过的").startswith(word) for word in _STEP_AFTER)


_STEP_AFTER = ("材料", "申请", "单据", "手续", "资料")
_HAULED = frozenset("拉运买购")


def as_done(events: list[str]) -> list[str]:
    """The events with each step read as the fix itself: for a paperwork item (档案) the
    材料 handed in is what had to be done."""
    return ["done" if e == "step" else "done_plain" if e == "step_plain" else e for e in events]


_ABLE = frozenset({"能", "可以"})  # 能吃上了: able now, not a promise
_GUESSES = frozenset({"估计", "预计", "可能", "应该"})  # promise words that also guess at what is done
_GONE = ("没了", "没啦", "没有了", "不见了", "没喽")
# 复学的事, 收益分配这个问题: the matter spoken about (nlp/parser.py reads a message ending so too)
MATTER = re.compile(r"(?:的|这个|那个|这|那)(?:事|事情|事儿|问题)")
# Order words that command whatever verb follows (需要, 让, 得 may describe; these do not)
_COMMANDING = frozenset({"请", "要求", "责令", "责成", "务必", "务必要", "限期", "督促", "督办", "必须", "立即"})


def _already(text: str, match: Match) -> bool:
    """已 / 已经 said with the completion: 已整改, 已经修好了."""
    return match.word.startswith("已") or text[max(0, match.start - 2):match.start].endswith(("已", "已经"))


_PLAIN_NEGATORS = frozenset({"没", "没有", "无", "毫无", "未"})
_STILL = ("还", "仍", "一直", "始终", "依然", "依旧", "从", "都", "也")


def _lack(text: str, negator: Match) -> str:
    """A negation whose object is no status word: ``not_done`` when it says "still not"
    (还没, 仍未, 一直没有) or dangles, ``lack`` when it is a plain 没/没有/未 before something
    unknown (水位没掉, 村里没有村医), which a completion in the same fact contradicts."""
    if negator.word not in _PLAIN_NEGATORS or text[max(0, negator.start - 2):negator.start].endswith(_STILL):
        return "not_done"
    if negator.end >= len(text) or text[negator.end] in ",、:;。!?":
        return "not_done"
    return "lack"


def _strong_negator(match: Match) -> bool:
    """没/没有/未/还没…: "not (yet)" on its own. 不 and the other regions' one-character negators
    need the word they negate, except 还不 (还不全, 还不行: still not)."""
    return match.word != "不" and match.word not in _REGIONAL_NOT and "problem" not in match.labels


# The other regions' 不 / 没 (粤 唔, 闽 伓 呣 毋 袂, 西北 西南 莫, 吴 覅 弗): each is also a surname or
# part of a word (莫书记, 弗兰), so it negates only the word right after it (莫解决, 伓曾修好)
_REGIONAL_NOT = frozenset("唔伓呣毋袂莫覅弗")
_REGIONAL_REACH = 1


def _reach(negator: Match) -> int:
    return _REGIONAL_REACH if negator.word in _REGIONAL_NOT else _NEGATION_REACH


def decide(events: list[str]) -> StatusReading:
    """The status said by a fact's events (None when nothing is said about status)."""
    present = set(events)
    if present & STEPS:
        # a step done (材料交上去了) is work under way, unless the fact also says the fix is done
        done = bool(present & DONE_EVENTS)
        kept = [e for e in events if e not in STEPS] if done else ["progress" if e in STEPS else e for e in events]
        reading = decide(kept)
        return StatusReading(reading.status, reading.sure, tuple(events), reading.conflict)
    if not present:
        return StatusReading(None, False, ())
    if "lack" in present:
        positive = bool(present & {"done", "no_problem"}) and "not_done" not in present
        if positive:  # the completion is what was reported; the 没 is offered no reading of its own
            reading = decide([e for e in events if e != "lack"])
            return StatusReading(reading.status, False, tuple(events), True)
        return decide(["not_done" if e == "lack" else e for e in events])
    done = "done" in present
    if "not_done" in present:
        # 还没修好，正在抢修 / 还差五户，本周内签完: under way; otherwise the problem stands,
        # even after a partial completion (已通水，还有两户没通).
        under_way = "progress" in present or "promise" in present
        return StatusReading(IN_PROGRESS if under_way else OPEN, True, tuple(events))
    if "relapse" in present:
        return StatusReading(OPEN, True, tuple(events))
    if "partial" in present and (done or "done_plain" in present):
        # 大部分解决了 / 基本解决了: under way; 只配了一部分，剩下的没着落: the problem stands
        troubled = "problem" in present
        return StatusReading(OPEN if troubled else IN_PROGRESS, True, tuple(events))
    if "no_problem" in present:
        return StatusReading(RESOLVED, "problem" not in present, tuple(events))
    if done:
        return StatusReading(RESOLVED, "problem" not in present or _last_is_done(events), tuple(events))
    if "ordered" in present:
        return StatusReading(OPEN, True, tuple(events))
    if "promise" in present:
        return StatusReading(IN_PROGRESS, True, tuple(events))
    if "progress" in present:
        return StatusReading(IN_PROGRESS, True, tuple(events))
    if "problem" in present:
        return StatusReading(OPEN, True, tuple(events))
    if "done_plain" in present:
        return StatusReading(RESOLVED, True, tuple(events))
    return StatusReading(None, False, tuple(events))


def _last_is_done(events: list[str]) -> bool:
    relevant = [e for e in events if e in ("done", "problem", "done_plain")]
    return bool(relevant) and relevant[-1] == "done"


def _within_reach(text: str, after: int, before: int, reach: int = _NEGATION_REACH) -> bool:
    gap = text[after:before]
    return len(gap) <= reach and not any(ch in ",、:;。!?" for ch in gap)


def _le_follows(text: str, after: int, end: int, matches: list[Match], current: Match) -> bool:
    """True when 了 follows the completion word before the next status word or the clause end
    (住进去了, 装上自来水了)."""
    limit = min(end, after + 4)
    for match in matches:
        if match.start >= after and match is not current and "ignore" not in match.labels:
            limit = min(limit, match.start)
            break
    return any(ch in _LE for ch in text[after:limit])


_NOT_ASPECT_ZAI = frozenset({"存在", "现在", "实在", "所在", "好在", "自在", "不在"})  # 在 of a word, not of aspect


def _in_progress_aspect(text: str, start: int) -> bool:
    """在 (正在, 已经在, 还在) right before a verb: the work is going on."""
    return start > 0 and text[start - 1] == "在" and text[max(0, start - 2):start] not in _NOT_ASPECT_ZAI


def _attributive(text: str, after: int, end: int) -> bool:
    """A problem word followed by 的 and more of the clause (漏水的管子, 冻裂的水管): it
    describes a thing, it does not say the problem stands (…漏水的 at the clause end does)."""
    return text.startswith("的", after) and end - after > 2 and text[after + 1] not in _DANGLING_TAIL

def _dangles(text: str, after: int, end: int) -> bool:
    tail = text[after:end]
    return len(tail) <= 2 and all(ch in _DANGLING_TAIL for ch in tail)
