"""Explain or ask: what around a fact's status words the reading cannot account for.

A status word may say "done" while the words around it hedge (好像), relay (听说, 说是), say it
is nearly done (快, 一半), deny it (是假的, 哪有), turn it round (除了…其他…), negate twice
(不是没修), quote someone (转发), or order it done (请…解决). Each is a :class:`Doubt` with a
few words of reason the bot shows when it asks; some also change the most likely reading (a
denied "done" reads as not done, a nearly done one as under way). A write goes through
without a question only when a fact has no doubt at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp.lexicon import Match
from nlp.status import DONE_EVENTS, IN_PROGRESS, OPEN, RESOLVED, STEPS

# "X说" relays someone else's words; 我说/你说/说明/说一下 do not.
_RELAYED = re.compile(r"(?<![我你再没要跟先来小解听据不别和给刚才])说(?![明话法一下个说服了过])")
_NEAR_REACH = 3  # 快 / 快要 must stand right before the verb it qualifies


@dataclass(frozen=True)
class Doubt:
    """One thing the parser cannot explain away: its kind, the words, and why it asks."""

    kind: str  # step | near | hedge | hearsay | denial | contrast | double_negation | rhetorical | quote | order
    words: str
    reason: str


@dataclass(frozen=True)
class FactDoubts:
    doubts: tuple[Doubt, ...]
    status: str | None  # the most likely reading, after the doubts
    order: bool  # an order or request, not a report of progress


def read_doubts(
    text: str,
    start: int,
    end: int,
    doubt_matches: list[Match],
    status_matches: list[Match],
    events: list[str],
    status: str | None,
    rhetorical: bool,
    quoted: bool,
    contradicted: bool = False,
) -> FactDoubts:
    """The doubts of the fact ``text[start:end]`` whose status reads ``status``. ``contradicted``:
    the fact goes on to say the problem stands (说完工了，咋还漏风哩), so a relayed "done" is open."""
    found: list[Doubt] = []
    # 除了X，其他…: the exception may stand in the clause before the fact it turns round
    inside = [m for m in doubt_matches if (start <= m.start < end or (m.start < start and m.word.startswith("除")))
              and not _ignored(m)]
    said_done = status == RESOLVED or bool(DONE_EVENTS & set(events))
    # a relayed "done" is offered as done unless the message itself says it is not (还是漏)
    relayed_done = said_done and not {"problem", "relapse"} & set(events)
    # Words that relay a completion stand before it: 说是修好了, not 修好了…说感谢.
    done_at = max((m.start for m in status_matches if "completion" in m.labels), default=-1)
    order = "ordered" in events
    if order:
        word = next((m.word for m in status_matches if "order" in m.labels), "要求")
        found.append(Doubt("order", word, f"“{word}…”是要求，不是进展"))
        status = OPEN

    handed = any("handed" in m.labels for m in status_matches)  # 表交到卫生院了: a step too
    if (STEPS & set(events) or handed) and status == IN_PROGRESS and not DONE_EVENTS & set(events):
        word = next((m.word for m in status_matches if "step_object" in m.labels), "材料")
        found.append(Doubt("step", word, f"说的是{word}，办了一步，还没解决"))
    for match in inside:
        kind = _kind(match)
        if kind == "near" and status in (RESOLVED, IN_PROGRESS) and _qualifies(match, status_matches, end):
            phrase = _phrase(text, match.start, end)
            found.append(Doubt("near", match.word, f"您说“{phrase}”，还没完全办完"))
            status = IN_PROGRESS
        elif kind == "hearsay" and (said_done and (match.start < done_at or match.word.endswith("说的"))
                                    or not said_done and _reported(status, events)):
            found.append(Doubt("hearsay", match.word, f"“{match.word}”：是转述，还没核实"))
            if relayed_done and not _denied(found):
                status = RESOLVED  # the relayed claim is "done": offered as such, and asked
        elif kind == "unverified" and (said_done or status is not None):
            if relayed_done and not _denied(found):
                status = RESOLVED  # 说是通了，还没去看: "done" as said, not yet seen
            found.append(Doubt("hearsay", match.word, f"“{match.word}”：是转述，还没核实"))
        elif kind == "denial" and (said_done or status is not None):
            found.append(Doubt("denial", match.word, f"有否认的说法（{match.word}）"))
            if status in (RESOLVED, None) or said_done:
                status = OPEN
        elif kind == "contrast" and match.word in _BUT_WORDS and "relapse" in events:
            continue  # 修好了，但是又冻了: the turn is the relapse, which is read
        elif kind == "contrast":
            found.append(Doubt("contrast", match.word, f"有转折（{match.word}）"))
            if match.word.startswith("除") and status in (RESOLVED, OPEN):
                status = OPEN if status == RESOLVED else RESOLVED  # 除了东台村，其他村都解决了
        elif kind == "double_negation":
            found.append(Doubt("double_negation", match.word, f"双重否定（{match.word}）"))
        elif kind == "quote":
            found.append(Doubt("quote", match.word, "是转发或引用的内容"))
    if said_done and not any(d.kind == "hearsay" for d in found):
        relayed = _RELAYED.search(text, start, max(start, done_at))
        if relayed is not None:
            if relayed_done and not _denied(found):
                status = RESOLVED  # (说安好了，哪里安好了: the denial stands)
            found.append(Doubt("hearsay", text[max(start, relayed.start() - 2):relayed.end()].strip("□,"),
                               "是转述别人的话，还没核实"))
    if contradicted and status == RESOLVED and any(d.kind == "hearsay" for d in found):
        status = OPEN
    if status is not None:
        hedge = next((m.word for m in status_matches if "hedge" in m.labels), None)
        if hedge is None and text[start:end].rstrip("。!,").endswith("吧"):
            hedge = "吧"
        if hedge is not None:
            found.append(Doubt("hedge", hedge, f"说得不肯定（{hedge}）"))
    if rhetorical:
        found.append(Doubt("rhetorical", "", "是反问句"))
    if quoted and not any(d.kind == "quote" for d in found):
        found.append(Doubt("quote", "", "是转发或引用的内容"))
    return FactDoubts(tuple(_unique(found)), status, order)


_BUT_WORDS = frozenset({"可", "但", "可是", "但是", "不过"})


def _denied(found: list[Doubt]) -> bool:
    return any(d.kind == "denial" for d in found)


def _reported(status: str | None, events: list[str]) -> bool:
    """A relayed status other than a promise (镇里说人定了, 村里说还漏): it needs checking; a
    relayed plan (孙丽说两周内补齐) is the reporter's side speaking and needs none."""
    return status is not None and not set(events) <= {"promise"}


def _kind(match: Match) -> str:
    return next(label for label in match.labels if label != "ignore")


def _ignored(match: Match) -> bool:
    return all(label == "ignore" for label in match.labels)


def _qualifies(near: Match, status_matches: list[Match], end: int) -> bool:
    """快 / 快要 / 就要 qualify the verb right after them; 一半 / 基本 / 差不多 the clause."""
    if near.word not in ("快", "快要", "就要", "马上就", "眼看", "眼瞅", "即将", "接近"):
        return True
    return any(
        near.end <= m.start <= near.end + _NEAR_REACH and m.start < end
        and {"completion", "progress"} & set(m.labels)
        for m in status_matches
    )


def _phrase(text: str, start: int, end: int) -> str:
    phrase = text[start:end].replace("□", "").strip(",。!?")
    return phrase[:10]


def _unique(doubts: list[Doubt]) -> list[Doubt]:
    seen: set[str] = set()
    kept = []
    for doubt in doubts:
        if doubt.kind not in seen:
            seen.add(doubt.kind)
            kept.append(doubt)
    return kept
