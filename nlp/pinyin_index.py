"""Names by toneless pinyin, for homophone typos (东抬村 -> 东台村, 李照满 -> 李兆满).

Phone input errors are mostly homophones, so an exact look-up of the toneless pinyin key
finds most of them; a second, looser key folds the sounds that dialect speakers and fast
typists confuse (zh/z, ch/c, sh/s, n/l, -ng/-n, f/h).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Hashable, Iterable
from functools import cache
from types import ModuleType

_MAX_READINGS = 4  # combinations of polyphonic readings indexed per name
_READINGS_PER_CHAR = 2  # the default reading and the next one (曾: ceng, zeng)


@cache
def load_pypinyin() -> ModuleType:
    """pypinyin without its phrase dictionary: about 55 MB less in every process that reads
    pinyin. Every reading taken here is of one character (names are read character by
    character), which the phrase dictionary never changes. Everything in this project that
    reads pinyin imports it through here, so that all of it reads alike."""
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "1")
    os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "1")  # no custom readings: no private copy
    import pypinyin

    return pypinyin


def toneless(text: str) -> str:
    """``text`` read character by character, without tones: 李兆满 -> lizhaoman."""
    pypinyin = load_pypinyin()
    return "".join(pypinyin.lazy_pinyin(text, style=pypinyin.Style.NORMAL, errors=lambda c: c))


class PinyinIndex:
    """Toneless-pinyin keys -> values; per-character readings are cached on the instance."""

    def __init__(self) -> None:
        self._reading: dict[str, str] = {}
        self._readings: dict[str, tuple[str, ...]] = {}
        self._loosened: dict[str, str] = {}
        self._exact: dict[str, list[Hashable]] = {}
        self._loose: dict[str, list[Hashable]] = {}

    def add(self, name: str, value: Hashable) -> None:
        """Index ``value`` under every reading of ``name`` (the loose key: default reading only)."""
        readings = self._name_readings(name)
        for syllables in readings:
            _append_unique(self._exact, "".join(syllables), value)
        _append_unique(self._loose, self._loose_key(readings[0]), value)

    def add_all(self, items: Iterable[tuple[str, Hashable]]) -> None:
        """Index many (name, value) pairs."""
        for name, value in items:
            self.add(name, value)

    def syllables(self, text: str) -> list[str]:
        """The default toneless reading of each character (non-Chinese characters as themselves)."""
        cache = self._reading
        out = []
        for ch in text:
            reading = cache.get(ch)
            if reading is None:
                reading = cache[ch] = toneless(ch)
            out.append(reading)
        return out

    def lookup(self, text: str) -> tuple[list[Hashable], bool]:
        """Values whose key equals ``text``'s key, and whether that took the loose key."""
        syllables = self.syllables(text)
        found = self._exact.get("".join(syllables))
        if found:
            return list(found), False
        found = self._loose.get(self._loose_key(syllables))
        return (list(found), True) if found else ([], False)

    def _loose_key(self, syllables) -> str:
        cache = self._loosened
        parts = []
        for syllable in syllables:
            loose = cache.get(syllable)
            if loose is None:
                loose = cache[syllable] = loosen(syllable)
            parts.append(loose)
        return "".join(parts)

    def key(self, text: str) -> str:
        """The exact toneless key of ``text``."""
        return "".join(self.syllables(text))

    def _name_readings(self, name: str) -> list[tuple[str, ...]]:
        per_char = []
        for ch in name:
            readings = self._readings.get(ch)
            if readings is None:
                default = self.syllables(ch)[0]
                pypinyin = load_pypinyin()
                others = pypinyin.pinyin(ch, style=pypinyin.Style.NORMAL, heteronym=True, errors=lambda c: [c])[0]
                readings = tuple(dict.fromkeys([default, *others]))[:_READINGS_PER_CHAR]
                self._readings[ch] = readings
            per_char.append(readings)
        return list(itertools.islice(itertools.product(*per_char), _MAX_READINGS))


def loosen(syllable: str) -> str:
    """Fold easily confused sounds: zh/z, ch/c, sh/s, l->n, f->h, -ng -> -n."""
    if syllable.startswith(("zh", "ch", "sh")):
        syllable = syllable[0] + syllable[2:]
    elif syllable.startswith("l"):
        syllable = "n" + syllable[1:]
    elif syllable.startswith("f"):
        syllable = "h" + syllable[1:]
    if syllable.endswith("ng") and len(syllable) > 2:
        syllable = syllable[:-1]
    return syllable


def _append_unique(index: dict[str, list[Hashable]], key: str, value: Hashable) -> None:
    values = index.setdefault(key, [])
    if value not in values:
        values.append(value)
