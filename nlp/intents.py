"""Which kind of message this is: a question, a report, a request for help or undo, a notice.

Questions are recognised by form, with or without 吗/？: question words (哪些, 怎么样, 是谁),
A-not-A (解决没, 修好没有, 有没有, 通没通), sentence-final particles. A rhetorical question
inside a complaint ("不是修好了吗，又漏了") is not a question: the complaint is the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlp.lexicon import Match

REPORT = "report"
NEW_ISSUE = "new_issue"
QUERY_HOUSEHOLD = "query_household"
QUERY_AREA = "query_area"
QUERY_DUE = "query_due"
QUERY_OVERDUE = "query_overdue"
UNDO = "undo"
HELP = "help"
UNKNOWN = "unknown"
WRITES = frozenset({REPORT, NEW_ISSUE})

# 修没修 / 通不通 / 通了没通 (签字没签 is no question: 好多签字没签 tells)
_A_NOT_A = re.compile(r"([\u4e00-\u9fff]{1,2})了?[没不]\1")
# 修好没 / 修好了没有, and the south's 修好未 / 修好无 (粤 闽 客: "yet?")
_FINAL_NOT = re.compile(r"(?<![还都也并从尚仍就可再])(?:了)?(?:没有|没得|没|未|无)$")
# 哪里修好了 / 哪通了: "where is it fixed?" denies that it is (also in nlp/parser.py's doubts)
# 弄好什么了 / 修好啥了: "fixed what?" denies it too
WHERE_DONE = re.compile(r"哪(?:里|儿)?(?:[\u4e00-\u9fff]{0,2}[好通完齐])了|[好通完齐成](?:什么|啥)了")
_RHETORICAL = re.compile(r"不是.*[吗嘛]$|难道|怎么又|咋又|为什么又|为啥又|怎么还|咋还|凭什么|谁说|谁讲|又.{0,4}了[吗呢]?$|"
                         + WHERE_DONE.pattern)
# 几 and a measure word (几盏灯, 几口井, 几座桥): a count, as 几户 / 几个 are
_HOW_MANY = re.compile(r"几[个户条家项处件盏口座间台头只根段批所名位人眼亩栋辆]")
_COUNT_QUESTION = re.compile(r"还有几|几[个条项件处]问题|几[个条项件处户家]还")
# 吗 in other regions: 咩 (粤) ends a question anywhere; 伐 (吴) after a word (修好伐, 通了伐, 还漏伐),
# not in 砍伐, 采伐, 步伐
_OTHER_QUESTION_FINAL = re.compile(r"(?<=[\u4e00-\u9fff])(?<![砍采征讨步杀])伐$")
_STATEMENT_ADVERB_BEFORE_NE = re.compile(r"还|没|未|正|在")
# Words that make a question about the ledger (not small talk): 问题, 户, 整改 ...
_LEDGER_WORDS = re.compile(r"问题|户|整改|台账|销号|到期|逾期|进展|进度|情况|隐患|任务|清单")


@dataclass(frozen=True)
class ClauseForm:
    question: bool
    rhetorical: bool
    weak: bool = False  # only 几户/几个 made it a question: a statement if it reports a status


def clause_form(text: str, stop: str, matches: list[Match]) -> ClauseForm:
    """Whether a clause (normalised, without its final punctuation) asks something."""
    body = text.rstrip("了啊呀哦哇撒")  # 到了没哇 (北方、晋语的"吧/啊"), 来过没有撒 (鄂、川)
    if not body:
        return ClauseForm(stop == "?", False)
    question = stop == "?"
    counted = any("question_count" in m.labels for m in matches) or bool(_HOW_MANY.search(text))
    for match in matches:
        if "question_word" in match.labels:
            before = text[max(0, match.start - 1):match.start]
            if before not in ("没", "不"):  # 没什么问题了, 不怎么样 are statements
                question = True
    if not question and _A_NOT_A.search(text):
        question = True
    if not question:
        last = body[-1]
        if last in "吗么嘛咩" or _OTHER_QUESTION_FINAL.search(body):
            question = True
        elif last == "呢" and not _STATEMENT_ADVERB_BEFORE_NE.search(body):
            question = True
        elif last in "否" or body.endswith(("了没", "了没有", "没呢", "行不", "好不", "对不")):
            question = True
        elif (_FINAL_NOT.search(body) and len(body) >= 3 and _has_verb_before_final_not(body)
              and not text.endswith(("没了", "没有了", "无了"))):  # 渗水没了: the leak is gone
            question = True
        elif text.endswith("不") and len(body) >= 3 and body[-2] not in "还都也并从尚仍就可再是":
            question = True  # 住得安全不 / 还有问题不
    if counted and _COUNT_QUESTION.search(text):
        question = True  # 还有几个问题没整改 / 几户没通水？ ask; 高处几户上不去水 tells
    weak = not question and counted
    rhetorical = question and bool(_RHETORICAL.search(text))
    return ClauseForm(question or counted, rhetorical, weak)


def _has_verb_before_final_not(body: str) -> bool:
    """修好没有 / 解决了没: a verb right before the final 没(有); 还没有 / 都没 are statements."""
    stem = body[:-2] if body.endswith(("没有", "没得")) else body[:-1]  # 没, 未, 无
    stem = stem.removesuffix("了")
    return bool(stem) and stem[-1] not in "还都也并从尚仍就可再是"


def mentions_ledger(text: str) -> bool:
    """True when a question is about the ledger (问题, 户, 整改 …) rather than small talk."""
    return bool(_LEDGER_WORDS.search(text))
