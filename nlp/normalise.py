"""Text clean-up before parsing: one script, one width, one set of punctuation.

Two steps, because numerals must not be rewritten inside names (三合村, 五七村, 王二小):
``Normaliser.clean`` runs on the raw message; ``Normaliser.numerals`` runs after the
gazetteer has marked the entity spans and rewrites counted numerals (两户, 十二月十五日)
only outside them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence

import opencc

from nlp.lexicon import read_regional
from nlp.numerals import parse_number

# Marks that carry meaning in a report; every other emoji or symbol is decoration.
DONE_MARKS = "✅✔☑✓🆗👌"
NOT_DONE_MARKS = "❌✗✘❎"

# Punctuation after NFKC (full width is already half width): one canonical mark each.
_PUNCT_MAP = {
    "。": "。", ".": "。", "｡": "。", "!": "!", "?": "?", ";": ";", ",": ",", "、": "、",
    ":": ":", "~": ",", "…": "。", "—": ",", "-": "-", "/": "/", "|": ",", "·": "",
    "•": "", "*": "", "#": "", "@": "",
}
_OPENERS_CLOSERS = "()[]{}<>《》〈〉【】〔〕「」『』〖〗“”‘’\"'`"
# WeChat sticker text such as [强] [微笑]; [转发] / [引用] mark quoted text and stay
_STICKER = re.compile(r"\[(?!转|引用|原文)[\u4e00-\u9fff]{1,4}\]")
# Hakka and Gan: 系 is 是 (不系没修, 说系通了; 系统 stays), 哇 between words is 说 (他哇修好哩)
_XI = re.compile(r"系(?![统列数])")
_WA = re.compile(r"(?<=[\u4e00-\u9fff])哇(?=[\u4e00-\u9fff])")
# 哩 ending a clause after a result (发错哩, 清出来哩, 好哩) is 了 in the south; 正砌墙哩 (呢) stays
_RESULT_LI = re.compile(r"(?<=[好完齐错过掉通到来去上下成定满新妥])哩(?=[,，。.!！?？\s]|$)")
# 着 ending a clause right after a result (搞好着, 打好着, 公示出去着) is 了 in Huizhou and Jianghuai
# speech: a result cannot go on; 亮着, 开着, 等着 (going on) stay
# (看好着, 盯好着, 拿好着: keep it so, an order, stay)
_RESULT_ZHE = re.compile(r"(?:(?<=[^看盯管守拿收关记存放坐站待等留抓扶握]好)|(?<=[完齐掉妥])|(?<=出去|下来|上去|进去|过来))"
                         r"着(?=[,，。.!！?？\s]|$)")
# 哒 after a word is 了 in Hunan (修好哒, 到账哒), 咧 in the north-west (垫平咧); 嘀嗒 and 咧嘴 stay
_XIANG_LE = re.compile(r"(?<=[\u4e00-\u9fff])(?<![嘀滴嗒])哒|(?<=[\u4e00-\u9fff])咧(?!嘴)")
# 嘞 is the spoken 了 after a verb (弄好嘞, 通水嘞); 好嘞 on its own is "OK" and stays.
# 讲 is 说 in the south-west and south (他讲修好了, 听群众讲); 讲话, 宣讲 and the like stay.
# 话 between words is 说 in Cantonese (佢话修好咗, 村长话水通了); 的话 (if), 电话, 说话, 话费 and the
# like stay.
_SAY = re.compile(r"(?<![演宣])讲(?![话座究解课台卫政])"
                  r"|(?<=[\u4e00-\u9fff])(?<![的电说讲对回谈笑废闲白通土问答神情实怪童佳官句这那听好坏大空会])话(?=[\u4e00-\u9fff])(?![费题筒语剧])")
# 那个啥 / 那啥 said while looking for a word (那个啥龙泉村…) is no question: read as a pause.
_SPOKEN_PAUSE = re.compile(r"那个?啥(?![时样情子么])")
_SPOKEN_LE = re.compile(r"(?:(?<=[^\W好])|(?<=\w好))嘞")
# Cantonese words that need their neighbours: 喇 ending a clause is 了 (喇叭, 喇嘛 and the surname 喇
# stay); 紧 after a verb is going on (整紧, 发紧电: read as V着; 抓紧, 要紧, 紧急 stay); 晒 after a word
# at the end is "all done" (补齐晒, 换晒新; 晒谷 stays); 返 before 了 / 来 / 去 / 家 / 车 is 回 (通返车,
# 收返嚟, 返咗屋企; 返校, 劝返, 返贫 stay); 仲 is 还 (仲裁, 仲夏 stay);
# 落 before 来/去 is 下 (批咗落嚟); 唔 before a word is 不 (唔漏, 唔渗; 唔 alone is "mm").
# 克 before a place is 去 in the north-west (明天克阳洼村看下); 克服, 千克 stay
# (only after a pause, a time or a person: 阿克塔仕村, a misspelt name, keeps its 克)
_NW_GO = re.compile(r"(?:^|(?<=[,，。\s天晚午早我们咱俺要就再都也先]))克(?=[\u4e00-\u9fff]{1,4}[村乡镇])")
_YUE_LE = re.compile(r"(?<=[\u4e00-\u9fff])喇(?=[,，。.!！?？\s]|$)")
_YUE_ON = re.compile(r"(?<=[\u4e00-\u9fff])(?<![抓拉绷捆拧关握扎盯看跟守勒系扣咬攥要赶加很太最])紧(?![张急迫密缺凑俏身])")
_YUE_ALL = re.compile(r"(?<=[\u4e00-\u9fff])晒(?=[,，。.!！?？\s喇啦了新]|$)")
_YUE_BACK = re.compile(r"返(?=[了来去家车])")
_YUE_STILL = re.compile(r"仲(?![裁夏])")
_YUE_DOWN = re.compile(r"落(?=[来去])")
_YUE_NOT = re.compile(r"唔(?=[\u4e00-\u9fff])")
# 点 is 怎么 before a verb (点用, 点样查, 点撤回) and 怎么样 after a result at the end (办成点, 屋企点);
# 一点, 重点, 教学点, 几点 stay
_YUE_HOW = re.compile(r"(?<![一重几两三四五六七八九十要地站据终起焦观亮缺优特热晚早快慢差有])点(?:样)?(?=[用查撤报登改睇看做算办写发])")
_YUE_HOW_END = re.compile(r"(?<=[成得家企屋])点(?:样)?(?=[,。!?]|$)|点样")
# 甚 is 什么 in Shanxi and western Inner Mongolia (有甚问题, 甚时候, 能闹甚); 甚至, 甚少, 太甚 stay
_JIN_WHAT = re.compile(r"(?<![太更尤过])甚(?![至为少多好佳大远微嚣])")
# 哈 right after a verb at a clause's end is 一下 in the south-west (发我看哈, 等哈)
_SW_A_BIT = re.compile(r"(?<=[看等说问查发想试听讲])哈(?=[,，。.!！?？\s]|$)")
# 闹 is 弄 in the north (闹好了, 闹完, 还没闹, 闹不成); 热闹, 闹事, 闹矛盾 stay
_NORTH_DO = re.compile(r"(?<=[没未])闹|闹(?=[好完成妥齐利不下])")
# 嘛 is 什么 in Hebei and Tianjin after 有 / 干 / 做 (有嘛问题, 干嘛) and before 时候 / 问题 / 事 (嘛时候);
# 嘛 ending a sentence stays a particle (修好了嘛). 介 is 这 before a measure or a noun of time or place
# (介事儿, 介村, 介礼拜); 介绍, 中介, 简介 stay.
_HEBEI_WHAT = re.compile(r"(?<=[有干做])嘛|嘛(?=时候|问题|事|情况|东西)")
_HEBEI_THIS = re.compile(r"(?<![中简媒])介(?=[事村镇乡户礼周个月回次会])")
# 么样 is 怎么样 in Hubei (屋里么样哒, 搞得么样); 怎么样, 什么样, 这么样 stay
_HUBEI_HOW = re.compile(r"(?<![怎什这那多要])么样")
# 么 before a word is 没 in Gansu and Qinghai (还么发, 么人管, 低保么纳入); 什么, 怎么, 那么, 要么 and
# 么样 / 么子 / 么事 stay, and 么 ending a question (开工了么) is 吗
_NW_NOT = re.compile(r"(?<![什怎那这多要咋阿为干凭甚啥乜哪么])么(?=[\u4e00-\u9fff])(?![样子事时个么])")
# 底时 is 什么时候 in Chaozhou and Shantou (底时会好); 月底时, 到底时 stay
_MIN_WHEN = re.compile(r"(?<![月年到彻谷海心井箱底])底时(?!间)")
# 浪 is 人 in Chaozhou after 无 / 派 / 有 / 个 (无浪管, 派浪在修); 浪费, 流浪 stay
_MIN_PERSON = re.compile(r"(?<=[无没派有个])浪(?![费漫])")
# 边个 is 谁 in Cantonese (边个负责); after a place word it is X边 + 个 (桥边个护栏, Chaozhou's 的)
_YUE_WHO = re.compile(r"(?<![桥路河那这旁外里东西南北上下左右前后身海溪塘田山村屋门街井水江岸沟坡渠])边个")
# 木 ending a question after 了 is 没 in the north (路灯修好了木); 木桥, 木头 stay
_NORTH_NOT_END = re.compile(r"(?<=了)木(?=[,，。.!！?？\s]|$)")
# 啦 after a word is 了 (没啦, 好啦); 啦啦队, 哗啦 stay
_LA = re.compile(r"(?<=[\u4e00-\u9fff])(?<![啦哗呼噼稀])啦(?!啦)")
# Spoken and regional forms read as the standard ones, in this order, after the dialect words
_SPOKEN_FORMS = ((_SPOKEN_LE, "了"), (_RESULT_LI, "了"), (_RESULT_ZHE, "了"), (_XIANG_LE, "了"), (_SPOKEN_PAUSE, ","), (_SAY, "说"),
                 (_XI, "是"), (_WA, "说"), (_YUE_LE, "了"), (_YUE_ON, "着"), (_YUE_ALL, "了"), (_YUE_BACK, "回"),
                 (_YUE_STILL, "还"), (_YUE_DOWN, "下"), (_YUE_NOT, "不"), (_YUE_HOW, "怎么"),
                 (_YUE_HOW_END, "怎么样"), (_NW_GO, "去"), (_JIN_WHAT, "什么"), (_NORTH_DO, "弄"), (_SW_A_BIT, "一下"), (_LA, "了"), (_HUBEI_HOW, "怎么样"),
                 (_HEBEI_WHAT, "什么"), (_HEBEI_THIS, "这"), (_NW_NOT, "没"), (_YUE_WHO, "谁"),
                 (_NORTH_NOT_END, "没"), (_MIN_WHEN, "什么时候"), (_MIN_PERSON, "人"))
_SPACES = re.compile(r"\s+")
_REPEATED_PUNCT = re.compile(r"([,、:;。!?])[,、:;。!?]*")
_DIGIT_DOT = re.compile(r"(?<=\d)。(?=\d)")
# A Chinese numeral that counts something: a unit or a date word follows.
_COUNTED_NUMERAL = re.compile(
    r"[零〇一二两三四五六七八九十百千万]+"
    r"(?=个|户|人|天|日|号|月|周|星期|礼拜|年|小时|间|口|处|座|条|米|元|块|次|家|名|所|套|台|项|批|"
    r"头|亩|棵|吨|公里|岁|层|栋|位|份|张|本|辆)"
)


class Normaliser:
    """Holds the OpenCC converter (loaded once per parser)."""

    def __init__(self, regional: Mapping[str, str] | None = None, names: Iterable[str] = (),
                 is_name: Callable[[str], bool] | None = None, longest_name: int = 0) -> None:
        """``regional``: regional words and the standard ones they are read as (the lexicon's
        regional.yaml); None reads the default file. The ledger's own names (阿克塔什村, 阿不都热合曼),
        which no regional reading may change (克 there is no 去): ``names``, or ``is_name`` and the
        length of the longest (the gazetteer's own table, so the names are held once)."""
        self._t2s = opencc.OpenCC("t2s")
        if is_name is None:
            table = frozenset(name for name in names if len(name) >= 2)
            is_name, longest_name = table.__contains__, max((len(name) for name in table), default=0)
        self._is_name = is_name
        self._longest_name = longest_name
        self._regional = dict(read_regional() if regional is None else regional)
        # longest first, so 冇得 is read before 冇
        words = sorted(self._regional, key=len, reverse=True)
        self._regional_words = re.compile("|".join(map(re.escape, words))) if words else None

    def clean(self, text: str) -> str:
        """Simplified script, half width, no decoration, canonical punctuation, lower case."""
        text = unicodedata.normalize("NFKC", text)
        text = self._t2s.convert(text)
        if self._regional_words is not None:
            text = self._regional_words.sub(
                lambda m: m.group(0) if self._in_a_name(m) else self._regional[m.group(0)], text)
        for pattern, standard in _SPOKEN_FORMS:
            text = pattern.sub(lambda m, standard=standard: m.group(0) if self._in_a_name(m) else standard, text)
        text = _STICKER.sub("", text)
        out: list[str] = []
        for ch in text:
            if ch in DONE_MARKS:
                out.append("已完成。")
            elif ch in NOT_DONE_MARKS:
                out.append("未完成。")
            elif ch in _PUNCT_MAP:
                out.append(_PUNCT_MAP[ch])
            elif ch in _OPENERS_CLOSERS:
                out.append(" ")
            elif ch.isspace():
                out.append(" ")
            else:
                category = unicodedata.category(ch)
                if category[0] in "LN":
                    out.append(ch)
                elif category[0] == "P":
                    out.append(",")
                # symbols, emoji, marks, controls, private use: decoration, dropped
        text = "".join(out).lower()
        text = _DIGIT_DOT.sub(".", text)  # 12.20 stays a date, not two sentences
        text = _SPACES.sub(",", text.strip())
        text = _REPEATED_PUNCT.sub(r"\1", text)
        return text.strip(",、:;。")

    def _in_a_name(self, match: re.Match[str]) -> bool:
        """True when the matched word lies inside one of the ledger's names said in the text."""
        longest = self._longest_name
        if not longest:
            return False
        text, start, end = match.string, match.start(), match.end()
        for first in range(max(0, end - longest), start + 1):
            for last in range(max(end, first + 2), min(len(text), first + longest) + 1):
                if self._is_name(text[first:last]):
                    return True
        return False

    def numerals(self, text: str, protected: Sequence[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
        """Counted Chinese numerals -> digits outside ``protected`` spans; returns the new text
        and the protected spans moved to their new offsets."""
        pieces: list[str] = []
        moved: list[tuple[int, int]] = []
        cursor = 0
        length = 0
        for start, end in sorted(protected):
            if start < cursor:
                continue
            converted = _convert_counted(text[cursor:start])
            pieces.append(converted)
            length += len(converted)
            pieces.append(text[start:end])
            moved.append((length, length + end - start))
            length += end - start
            cursor = end
        pieces.append(_convert_counted(text[cursor:]))
        return "".join(pieces), moved


def _convert_counted(segment: str) -> str:
    if not segment:
        return segment
    return _COUNTED_NUMERAL.sub(_numeral_to_digits, segment)


def _numeral_to_digits(match: re.Match[str]) -> str:
    value = parse_number(match.group(0))
    return match.group(0) if value is None else str(value)
