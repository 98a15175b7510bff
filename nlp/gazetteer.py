"""Places and household heads of the ledger, found in text.

Names go into a jieba ``Tokenizer`` of the gazetteer's own with a high frequency, so that a
name is cut whole and the longest, most specific name wins (东光新村 over 东光村 + 新村,
小汪清村 over 汪清). Villages are known with and without 村, townships with and without
镇/乡; a bare stem that names both a township and a village (汪清, 东光) keeps both readings
and the parser asks. Names that are also common words (平安, 红旗, 高明) are accepted only
where the sentence shows they are names. Typos are found by toneless pinyin
(:mod:`nlp.pinyin_index`) and then by character similarity, in the sender's scope first.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import jieba
from rapidfuzz import fuzz, process

from nlp.lexicon import COMMON_WORDS, SPOKEN_CONNECTORS, TOKENIZER_BASE, KeywordMatcher, Lexicon
from nlp.pinyin_index import PinyinIndex
from nlp.snapshot import LedgerSnapshot
from vocab import CATEGORIES

NAME_FREQ = 100_000
COMMON_WORD_FREQ = 100  # a name that jieba's dictionary knows this well is also a common word
PUNCTUATION = frozenset(",、:;。!?-/ ")
_MAX_PLACE_WINDOWS = 40  # typo look-ups per message: keeps very long texts linear and cheap
_HOUSEHOLD_CODE = re.compile(r"\d{6}-\d{3,6}")
# 双河村老于家 / 四合村孔家 / 老营村的田家: a household by its head's surname, right after its village
# 双河村老于家 / 板康村韦大姐家: a surname, maybe with a word of kinship, then 家
_SURNAME_HOUSEHOLD = re.compile(r"(?:的)?(?:老|小)?([\u4e00-\u9fff]{1,2}?)"
                                r"(?:大姐|大哥|大爷|大娘|大叔|大婶|大嫂|二哥|二姐|老汉|阿婆|阿公|嫂子|奶奶|爷爷|嬢嬢|孃孃|阿姨|大妈|婆婆|老太|伯伯|叔叔|伯|叔|婶|嫂|姐|哥)?"
                                r"(?:家|屋里|屋家|屋下)")
# (numerals are digits by now: 梁老四家 reads 梁老4家)
_SOMEONE = re.compile(r"的?([\u4e00-\u9fff])[\u4e00-\u9fff0-9]{1,2}?(?:家(?!里的|长|属|庭|具|电|务)|屋里)")
def _part_of_name(said: str, head: str) -> bool:
    """老于家 / 韦大姐家: the head's surname; 尔布家 (马海尔布): a two-character given name."""
    return len(head) > len(said) and (head.startswith(said) or len(said) >= 2 and head.endswith(said))


# The people an ethnic township is named for (依果彝族乡, 板兰瑶族乡, 大滩回族乡)
# 黄集村姓黄那户 / 姓黄的那家: the surname said outright
_SURNAMED = re.compile(r"的?姓([\u4e00-\u9fff])的?(?:那|这)?(?:一)?(?:户|家)")
# 依莫村阿呷莫的报销: two or three characters before 的/家/户 or a pause (a part of a name?)
_GIVEN_NAME = re.compile(r"的?([\u4e00-\u9fff]{2,3}?)(?=的|家|户|屋里|[,、。 ])")
_BARE_GIVEN_NAME = re.compile(r"([\u4e00-\u9fff]{2})")  # two characters right after the village
_ETHNIC = re.compile(  # one or more peoples: 龙街苗族彝族乡 is also said 龙街
    "(?:(?:彝|藏|苗|瑶|壮|回|土家|蒙古|朝鲜|满|侗|布依|白|哈尼|傣|黎|傈僳|佤|畲|羌|纳西|土|仡佬|锡伯|达斡尔|"
    "鄂伦春|鄂温克|赫哲|怒|独龙|景颇|拉祜|水|毛南|仫佬|京|撒拉|保安|东乡|裕固|门巴|珞巴|基诺|德昂|阿昌|普米|"
    "布朗|塔吉克|乌孜别克|柯尔克孜|哈萨克|维吾尔|塔塔尔)族)+$")
_CONJUNCTIONS = frozenset("和与跟同及")
# a conjunction, negator or adverb right before 村干部 / 村医 (老师和村干部, 都没村医, 也有村医)
_BEFORE_VILLAGE_WORDS = _CONJUNCTIONS | frozenset("没不无未都也还又就才很有缺")
_VILLAGE_WORDS = ("村干部", "村民", "村医", "村里", "村委", "村组", "村支书", "村主任", "村会计", "村两委")
_DIGIT_AS_SAID = str.maketrans("0123456789", "〇一二三四五六七八九")
_ISSUE_CODE = re.compile(r"[a-z]{1,4}-?\d{2,6}")


# A stem that counts or points (一段村道, 这条村路, 那片村子) names no village.
_COUNTED_STEM = re.compile(r"[一二两三四五几这那每某半整][段条处片截块个座]$")

@dataclass(frozen=True)
class Place:
    """One reading of a mention: a township, a village or a household."""

    township: str | None
    village: str | None = None
    household: str | None = None
    household_code: str | None = None

    @property
    def level(self) -> str:
        if self.household_code:
            return "household"
        if self.village:
            return "village"
        return "township" if self.township else "county"


@dataclass
class Mention:
    """A name found in the text, with every place it may stand for."""

    start: int
    end: int
    surface: str
    options: tuple[Place, ...]
    how: str  # exact | stem | homophone | loose | fuzzy | unknown | own | code | surname
    score: float = 1.0
    issue_code: str | None = None
    negated: bool = False  # 不是A村 in a self-correction

    @property
    def level(self) -> str:
        levels = {option.level for option in self.options}
        if len(levels) == 1:
            return levels.pop()
        return "mixed"

    @property
    def exact(self) -> bool:
        return self.how in ("exact", "code", "own")


@dataclass
class ScopeFilter:
    """The sender's scope: townships, (township, village) pairs and categories."""

    townships: frozenset[str] = frozenset()
    villages: frozenset[tuple[str, str]] = frozenset()
    categories: frozenset[str] = frozenset()

    @classmethod
    def from_names(cls, names: Iterable[str]) -> ScopeFilter:
        """Parse canonical scope names (东光镇, 东光镇/东台村, 饮水)."""
        townships, villages, categories = set(), set(), set()
        for name in names:
            name = (name or "").strip()
            if not name:
                continue
            if "/" in name:
                township, village = name.split("/", 1)
                villages.add((township, village))
            elif name in CATEGORIES:
                categories.add(name)
            elif name not in ("县", "全县", "county"):
                townships.add(name)
        return cls(frozenset(townships), frozenset(villages), frozenset(categories))

    @property
    def has_places(self) -> bool:
        return bool(self.townships or self.villages)

    def covers(self, place: Place) -> bool:
        """True when the place lies inside the scope's townships or villages."""
        if place.township in self.townships:
            return True
        return place.village is not None and (place.township, place.village) in self.villages


@dataclass
class _Entry:
    places: list[Place] = field(default_factory=list)
    weak: bool = False  # also a common word: needs context
    stem: bool = False  # a place name said without its 村/镇/乡


class Gazetteer:
    """Every name of the ledger snapshot, ready to be found in a message."""

    def __init__(self, snapshot: LedgerSnapshot, lexicon: Lexicon) -> None:
        logging.getLogger("jieba").setLevel(logging.WARNING)
        # jieba's own 350,000-word dictionary takes ~0.6 s to load and is not needed to find
        # names: the tokenizer holds only the ledger's names. Which names are also common words
        # comes from a list drawn from it (nlp/lexicon/jieba_common_words.txt).
        self.tokenizer = jieba.Tokenizer(str(TOKENIZER_BASE))
        self.tokenizer.initialize()
        self._entries: dict[str, _Entry] = {}
        self._household_after = tuple(sorted(lexicon.words("household_after"), key=len, reverse=True))
        self._household_before = tuple(sorted(lexicon.words("household_before"), key=len, reverse=True))
        self._generic = KeywordMatcher({w: ("generic",) for w in lexicon.words("generic_place")})
        self._generic_words = frozenset(lexicon.words("generic_place"))
        self._thing_words = tuple(sorted({w for words in lexicon.category_words.values() for w in words
                                          if len(w) >= 2}))  # 乌云的雨露计划: a name, then a thing
        # things whose word starts with the village's 村 (村道, 村部, 村医); 村集体 names an owner, not a thing
        self._cun_words = tuple(sorted({w for category, words in lexicon.category_words.items() for w in words
                                        if w.startswith("村") and len(w) >= 2 and category != "集体经济"}))
        self.village_places: dict[str, list[Place]] = {}
        self._township_stems: dict[str, list[str]] = {}  # township -> its stems (花山 for 花山乡)
        self._households_in: dict[tuple[str, str], list[Place]] = {}  # (township, village) -> households
        # (township, village, given name) -> households: 加岭村文光 is looked up, not searched for
        self._by_given_name: dict[tuple[str, str, str], list[Place]] = {}
        self.households_by_code: dict[str, Place] = {}
        self.issue_codes: dict[str, tuple[str, Place]] = {}
        self.place_index = PinyinIndex()
        self.head_index = PinyinIndex()
        self._village_names: list[str] = []
        self._surnames: frozenset[str] = frozenset()
        self._longest = 0
        self._build(snapshot)

    # --- building ---------------------------------------------------------------------------

    def _build(self, snapshot: LedgerSnapshot) -> None:
        candidates = {*snapshot.townships, *(v.village for v in snapshot.villages),
                      *(h.head for h in snapshot.households)}
        candidates |= {name[:-1] for name in candidates if len(name) >= 3}
        known = common_words() & candidates
        common = {}
        for township in snapshot.townships:
            place = Place(township)
            self._add(township, place, known, common)
            stem = _strip_suffix(township, "镇乡") or _strip_suffix(township, "苏木")  # 赛汉塔拉苏木: 赛汉塔拉
            if stem:
                self._add(stem, place, known, common, stem=True)
                self._township_stems.setdefault(township, []).append(stem.lower())
            bare = _ETHNIC.sub("", stem or "")  # 依果彝族乡 is also said 依果
            if len(bare) >= 2 and bare != stem:
                self._add(bare, place, known, common, stem=True)
                self._township_stems.setdefault(township, []).append(bare.lower())
            self.place_index.add(township, place)
        for ref in snapshot.villages:
            place = Place(ref.township, ref.village)
            self.village_places.setdefault(ref.village, []).append(place)
            self._add(ref.village, place, known, common)
            stem = _strip_suffix(ref.village, "村")
            if stem and not stem.endswith("新"):  # 东光新村 -> 东光新 would swallow 东光新修的路
                self._add(stem, place, known, common, stem=True)
            self.place_index.add(ref.village, place)
        self._village_names = list(self.village_places)
        for ref in snapshot.households:
            place = Place(ref.township, ref.village, ref.head, ref.code)
            self.households_by_code[ref.code] = place
            self._households_in.setdefault((ref.township, ref.village), []).append(place)
            if _given_name(ref.head):
                self._by_given_name.setdefault((ref.township, ref.village, _given_name(ref.head)), []).append(place)
            self._add(ref.head, place, known, common)
            self.head_index.add(ref.head, place)
        self._surnames = frozenset(ref.head[0] for ref in snapshot.households if ref.head)
        for issue in snapshot.issues:
            place = self.households_by_code.get(issue.household_code or "") or Place(issue.township, issue.village)
            self.issue_codes[issue.code.lower()] = (issue.code, place)
        self._longest = max((len(word) for word in self._entries), default=0)
        add_word = self.tokenizer.add_word
        for word, entry in self._entries.items():
            if entry.stem and entry.weak:
                continue  # 红旗, 平安 as bare stems: ordinary words far more often than places
            add_word(word, NAME_FREQ, "ns" if entry.places[0].household_code is None else "nr")

    def is_name(self, text: str) -> bool:
        """True when ``text`` is a name of the ledger (a township, village, stem or head)."""
        return text in self._entries

    @property
    def longest_name(self) -> int:
        return self._longest

    def _add(self, word: str, place: Place, known: frozenset[str], common: dict, stem: bool = False) -> None:
        word = word.lower()
        if not word:
            return
        entry = self._entries.get(word)
        if entry is None:
            if word not in common:
                common[word] = word in known
            entry = self._entries[word] = _Entry(weak=common[word], stem=stem)
        elif not stem:
            entry.stem = False
        if place not in entry.places:
            entry.places.append(place)

    # --- exact names ------------------------------------------------------------------------

    def find_exact(self, text: str) -> list[Mention]:
        """Names of the ledger said exactly (whole jieba tokens), codes, in text order."""
        mentions: list[Mention] = []
        position = 0
        entries = self._entries
        for token in self.tokenizer.cut(text, HMM=False):
            start, position = position, position + len(token)
            entry = entries.get(token)
            if entry is None:
                if token[0].isascii() and token[0].isalnum():
                    mention = self._code_mention(text, start)
                    if mention is not None and (not mentions or mentions[-1].end <= mention.start):
                        mentions.append(mention)
                continue
            if mentions and mentions[-1].end > start:
                continue  # inside a code already taken
            if not self._accept(token, entry, text, start, position, mentions):
                continue
            mentions.append(
                Mention(start, position, token, tuple(entry.places), "stem" if entry.stem else "exact")
            )
        mentions = self._townships_before(text, mentions)
        return self._with_surnames(text, self._longer_by_sound(text, self._sharing_cun(text, mentions)))

    def _townships_before(self, text: str, mentions: list[Mention]) -> list[Mention]:
        """花山大寨村: a township's stem right before one of its villages is the township, even when
        the stem is an ordinary word jieba does not cut as a name (it settles a same-name village)."""
        found = []
        for mention in mentions:
            before = found[-1].end if found else 0
            if mention.level == "village" and mention.start > before:
                for option in mention.options:
                    stem = next((s for s in self._township_stems.get(option.township, ())
                                 if text.startswith(s, mention.start - len(s)) and mention.start - len(s) >= before), None)
                    if stem is not None:
                        found.append(Mention(mention.start - len(stem), mention.start, stem,
                                             (Place(option.township),), "stem"))
                        break
            found.append(mention)
        return found

    def _longer_by_sound(self, text: str, mentions: list[Mention]) -> list[Mention]:
        """次仁朵吉 / 泽仁拉母: a head's name (次仁) said exactly, then characters that with it sound
        like a longer head's name (次仁多吉): the longer name, read by sound (asked)."""
        found = []
        for index, mention in enumerate(mentions):
            following = mentions[index + 1].start if index + 1 < len(mentions) else len(text)
            if mention.level == "household":
                for stop in range(min(following, mention.start + self._longest), mention.end, -1):
                    values, loose = self.head_index.lookup(text[mention.start:stop])
                    longer = [v for v in values if len(v.household or "") == stop - mention.start]
                    if longer and not loose:
                        mention = Mention(mention.start, stop, text[mention.start:stop], tuple(longer), "homophone",
                                          score=0.85)
                        break
            found.append(mention)
        return found

    def _sharing_cun(self, text: str, mentions: list[Mention]) -> list[Mention]:
        """巴音嘎查村道 / 东台村部: the village's 村 is also the first character of the thing (村道, 村部),
        so the village is read without it and the thing keeps it."""
        shared = []
        for mention in mentions:
            end = mention.end
            if (mention.level == "village" and mention.surface.endswith("村") and len(mention.surface) >= 3
                    and any(text.startswith(word, end - 1) for word in self._cun_words)):
                mention = replace(mention, end=end - 1, surface=mention.surface[:-1])
            shared.append(mention)
        return shared

    def _with_surnames(self, text: str, mentions: list[Mention]) -> list[Mention]:
        """A village said with a surname and 家 right after it (双河村老于家), or with part of a
        head's name (依莫村阿呷莫的报销, for 吉克阿呷莫): the village's households whose head has that
        surname or name, as a mention read "by surname" (always asked)."""
        found = []
        for index, mention in enumerate(mentions):
            found.append(mention)
            if mention.level != "village":
                continue
            following = mentions[index + 1] if index + 1 < len(mentions) else None
            # a village name two townships share (竹林沟村黄家): the households of both are looked at
            villages = [(v.township, v.village) for v in mention.options if v.village and not v.household]
            heads: list[Place] = []
            for pattern in (_SURNAMED, _SURNAME_HOUSEHOLD, _GIVEN_NAME, _BARE_GIVEN_NAME):
                match = pattern.match(text, mention.end)
                if match is None or following is not None and following.start < match.end():
                    continue
                for township, village in villages:
                    if pattern is _BARE_GIVEN_NAME:  # 加岭村文光公益岗上了: exactly a head's given name
                        heads += self._by_given_name.get((township, village, match.group(1)), [])
                    else:
                        heads += [p for p in self._households_in.get((township, village), ())
                                  if _part_of_name(match.group(1), p.household or "")]
                if heads:
                    break
            if heads:
                start = match.start(1) - (1 if text[match.start(1) - 1] in "老小" else 0)
                found.append(Mention(start, match.end(), text[start:match.end()], tuple(heads), "surname",
                                     score=0.8))
        return found

    def strangers(self, text: str, mentions: list[Mention]) -> list[tuple[int, int, str]]:
        """Households said right after a village that the ledger does not have (板康村梁老四家):
        a county surname, one or two more characters, 家, and no name found there. A report
        about them is not about the village's item, so the parser asks."""
        found = []
        taken = {k for m in mentions for k in range(m.start, m.end)}
        for mention in mentions:
            if mention.level != "village":
                continue
            match = _SOMEONE.match(text, mention.end)
            if match is None or match.group(1) not in self._surnames or taken & set(range(match.start(1), match.end())):
                continue
            if text[match.start(1):match.end() - 1] in self._household_before:
                continue  # 农户家, 村民家: no one in particular
            said = text[match.start(1):match.end()].translate(_DIGIT_AS_SAID)  # 梁老4家 -> 梁老四家
            found.append((match.start(1), match.end(), said))
        return found

    def _code_mention(self, text: str, start: int) -> Mention | None:
        match = _HOUSEHOLD_CODE.match(text, start)
        if match and match.group(0) in self.households_by_code:
            place = self.households_by_code[match.group(0)]
            return Mention(start, match.end(), match.group(0), (place,), "code")
        match = _ISSUE_CODE.match(text, start)
        if match:
            said = match.group(0)
            found = self.issue_codes.get(said)
            if found is None and "-" not in said:
                letters = re.match(r"[a-z]+", said).group(0)
                found = self.issue_codes.get(f"{letters}-{said[len(letters):]}")
            if found is not None:
                code, place = found
                return Mention(start, match.end(), said, (place,), "code", issue_code=code)
        return None

    def _accept(self, token: str, entry: _Entry, text: str, start: int, end: int,
                before: list[Mention]) -> bool:
        is_household = entry.places[0].household_code is not None
        if not is_household:
            if entry.stem and text.startswith("村", end):
                return False  # 东台 + 村 cut apart: the full name is found as a token anyway
            if entry.stem and text.startswith(("县", "市"), end):
                return False  # 汪清县 is the county, not 汪清镇
            return not entry.weak or not entry.stem
        if self.household_context(text, start, end):
            return True
        if before and before[-1].end == start and before[-1].level == "village" and any(
                (p.township, p.village) == (h.township, h.village) for p in before[-1].options for h in entry.places):
            return True  # 王家岔村王守仁: a head right after their own village (even one jieba knows as a word)
        if entry.weak:  # 乌云 (also "dark clouds"): at a clause's start, right before a thing of the ledger
            return (start == 0 or text[start - 1] in PUNCTUATION or text.endswith(SPOKEN_CONNECTORS, 0, start)) and (
                text.startswith(self._thing_words, end) or text.startswith("的", end)
                and text.startswith(self._thing_words, end + 1))
        if len(token) >= 3:
            return True
        # Two-character heads: at the start of a clause or right after a place name.
        if start == 0 or text[start - 1] in PUNCTUATION:
            return True
        return bool(before) and before[-1].end == start and before[-1].level != "household"

    def household_context(self, text: str, start: int, end: int) -> bool:
        """True when the words around ``text[start:end]`` say it is a household head."""
        if text.startswith(self._household_after, end):
            return True
        head = text[max(0, start - 4):start]
        return head.endswith(self._household_before)

    # --- typos, homophones, unknown names -----------------------------------------------------

    def find_approximate(self, text: str, names: list[bool], covered: list[bool], scope: ScopeFilter,
                         clause_starts: frozenset[int]) -> list[Mention]:
        """Names said with a typo (homophones first, then near misses) and unknown villages.

        Place names are looked for in every run of Chinese characters outside exact names
        (a typo may land on an ordinary word: 冻台村); household heads only outside known
        words as well, so that no common word is read as a misspelt name.
        """
        found: list[Mention] = []
        budget = [_MAX_PLACE_WINDOWS]
        for start, end in _runs(text, names):
            found.extend(self._place_windows(text, start, end, scope, covered, budget))
        taken = list(covered)
        for mention in found:
            taken[mention.start:mention.end] = [True] * (mention.end - mention.start)
        # a head said right after a place (杨柳村罗广荣…): after an approximate or an exact name
        ends = {mention.end for mention in found} | {k for k in range(1, len(text)) if names[k - 1] and not names[k]}
        for start, end in _runs(text, taken):
            found.extend(self._head_windows(text, start, end, scope, clause_starts, ends))
        found.sort(key=lambda m: m.start)
        return found

    def _place_windows(self, text: str, start: int, end: int, scope: ScopeFilter,
                       covered: list[bool], budget: list[int]) -> list[Mention]:
        mentions: list[Mention] = []
        floor = start
        for k in range(start + 1, end):
            if text[k] not in "村镇乡":
                continue
            if budget[0] <= 0:
                break  # a message naming this many unknown places is asked about anyway
            budget[0] -= 1
            mention = self._place_window(text, floor, k + 1, scope, covered)
            if mention is not None:
                mentions.append(mention)
                floor = mention.end
        return mentions

    def _head_windows(self, text: str, start: int, end: int, scope: ScopeFilter,
                      clause_starts: frozenset[int], ends: set[int]) -> list[Mention]:
        mentions: list[Mention] = []
        k = start
        while k < end:
            mention = self._head_window(text, k, end, scope, clause_starts, ends)
            if mention is None:
                k += 1
                continue
            mentions.append(mention)
            ends.add(mention.end)
            k = mention.end
        return mentions

    def _place_window(self, text: str, run_start: int, suffix_end: int, scope: ScopeFilter,
                      covered: list[bool]) -> Mention | None:
        suffix = text[suffix_end - 1]
        for size in (7, 6, 5, 4, 3):  # longest first: 吾斯塘伯依村, 大蒲柴河村 before 柴河村
            begin = suffix_end - size
            if begin < run_start:
                continue
            surface = text[begin:suffix_end]
            if surface[:-1] in self._generic_words:
                continue
            values, loose = self.place_index.lookup(surface)
            values = [v for v in values if (v.village is None) == (suffix != "村")]
            if values:
                places = _scope_first(values, scope)
                return Mention(begin, suffix_end, surface, tuple(places), "loose" if loose else "homophone",
                               score=0.8 if loose else 0.9)
        if suffix != "村":
            return None
        # Near misses by characters, then an unknown village -- never over known words
        # (没有村医, 请各村, 去村里 are no village names).
        floor = max(run_start, suffix_end - 4)
        for k in range(suffix_end - 2, floor - 1, -1):
            if covered[k]:
                floor = k + 1
                break
        for size in (4, 3):
            begin = suffix_end - size
            if begin < floor:
                continue
            surface = text[begin:suffix_end]
            if not self._could_be_village(surface[:-1]):
                continue
            near = self._near_villages(surface, scope)
            if near:
                return Mention(begin, suffix_end, surface, tuple(p for p, _ in near), "fuzzy",
                               score=near[0][1])
        begin = max(floor, suffix_end - 3)
        surface = text[begin:suffix_end]
        if surface[-2:-1] in _BEFORE_VILLAGE_WORDS and text.startswith(_VILLAGE_WORDS, suffix_end - 1):
            return None  # 老师和村干部 / 到现在都没村医: 村 begins 村干部, 村医
        if len(surface) >= 3 and self._could_be_village(surface[:-1]) and not self._is_common_place_word(surface):
            return Mention(begin, suffix_end, surface, (), "unknown", score=0.0)
        return None

    def _could_be_village(self, stem: str) -> bool:
        """False for 本村, 全村, 该村, 各村 … and stems that start with a function word (的村)."""
        if stem in self._generic_words or stem[:1] in "的在到是和与去回进从给跟" or "的" in stem or _COUNTED_STEM.search(stem):
            return False
        generic = self._generic.find(stem)
        return not (generic and generic[0].start == 0 and generic[0].end == len(stem))

    def _is_common_place_word(self, word: str) -> bool:
        return word in self._generic_words or word not in self._entries and word in ("农村", "乡村", "山村", "新农村")

    def _near_villages(self, surface: str, scope: ScopeFilter) -> list[tuple[Place, float]]:
        """Villages one character away (东白村 for 东台村), scope first; best first."""
        results = process.extract(surface, self._village_names, scorer=fuzz.ratio, limit=5, score_cutoff=66)
        near: list[tuple[Place, float]] = []
        for name, score, _ in results:
            if len(name) != len(surface) or sum(a != b for a, b in zip(name, surface)) != 1:
                continue
            for place in self.village_places[name]:
                near.append((place, round(score / 100 * 0.8, 3)))
        if scope.has_places:
            inside = [item for item in near if scope.covers(item[0])]
            if inside:
                return inside
        return near

    def _head_window(self, text: str, start: int, end: int, scope: ScopeFilter,
                     clause_starts: frozenset[int], ends: set[int]) -> Mention | None:
        for size in (6, 5, 3, 4, 2):  # 麦麦提吐尔逊 (for 买买提吐尔逊), then the usual three characters
            stop = start + size
            if stop > end:
                continue
            surface = text[start:stop]
            context = self.household_context(text, start, stop)
            if size == 2 and not context:
                continue
            if not context:
                after_place = start in ends
                if start not in clause_starts and not after_place:
                    continue
            values, loose = self.head_index.lookup(surface)
            if not values or surface in self._entries:
                continue
            places = _scope_first(values, scope)
            return Mention(start, stop, surface, tuple(places), "loose" if loose else "homophone",
                           score=0.75 if loose else 0.85)
        return None


def common_words(path: Path = COMMON_WORDS) -> frozenset[str]:
    """The words jieba's dictionary knows at least COMMON_WORD_FREQ times (a shipped list, one a line)."""
    return frozenset(path.read_text(encoding="utf-8").split("\n")) - {""}


def jieba_common_words() -> list[str]:
    """The list :func:`common_words` reads, drawn afresh from jieba's dictionary (sorted).

    The list is shipped because scanning the 5 MB dictionary costs ~60 ms per build, more than
    the rest of the gazetteer for a small ledger. tests/unit/test_nlp_gazetteer.py checks that it
    matches the installed jieba; to write it again::

        python -c "from nlp.gazetteer import write_common_words; write_common_words()"
    """
    with jieba.Tokenizer().get_dict_file() as handle:
        data = handle.read().decode("utf-8")
    words = set()
    for line in data.split("\n"):
        word, _, rest = line.partition(" ")
        if int(rest.split(" ", 1)[0] or 0) >= COMMON_WORD_FREQ:
            words.add(word)
    return sorted(words)


def write_common_words(path: Path = COMMON_WORDS) -> None:
    path.write_text("\n".join(jieba_common_words()) + "\n", encoding="utf-8")


def _strip_suffix(name: str, suffixes: str) -> str | None:
    """The name without its kind: one of the characters ``suffixes`` (镇, 乡, 村), or the word 苏木."""
    if suffixes == "苏木":
        return name[:-2] if len(name) >= 4 and name.endswith("苏木") else None
    if len(name) >= 3 and name[-1] in suffixes:
        return name[:-1]
    return None


def _runs(text: str, blocked: list[bool]) -> list[tuple[int, int]]:
    """Maximal runs of Chinese characters not blocked."""
    runs = []
    i, length = 0, len(text)
    while i < length:
        if blocked[i] or not _is_cjk(text[i]):
            i += 1
            continue
        j = i
        while j < length and not blocked[j] and _is_cjk(text[j]):
            j += 1
        runs.append((i, j))
        i = j
    return runs


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def _scope_first(values: list, scope: ScopeFilter) -> list:
    if scope.has_places:
        inside = [value for value in values if scope.covers(value)]
        if inside:
            return inside
    return values


def _given_name(head: str) -> str:
    """The given name of a head of three or four characters (吉文光 -> 文光); "" otherwise."""
    return head[-2:] if len(head) in (3, 4) else ""
