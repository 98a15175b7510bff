"""What may be shown where: one place for the rules of disclosure.

- A private chat with a person whose scope covers the place: everything of that place.
- A group: counts, village-level items with their category and status; never a household's
  name or details; free text a person typed (descriptions, reopen reasons, notes) only through
  :func:`redact`, which removes the names of household members and every ID, phone and bank
  card number. Every reply the engine sends to a group passes through :func:`redact`.
- Logs: :class:`RedactingFilter` runs the same redactor on every log line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

NUMBER_MARK = "［号码］"
NAME_MARK = "某某"
# Seven digits or more, possibly split by spaces or dashes, with an ID's final X: ID numbers
# (15/18), mobile (11) and landline (7-8 after an area code) phones, bank cards (16-19).
_LONG_NUMBER = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?\d(?:[\s-]?\d){6,}(?:[\s-]?[xX])?(?!\d)")
# A person named after a family or household word: 村民王大妈, 其妻张桂兰, 户主李兆满.
_AFTER_ROLE = re.compile(
    r"(村民|农户|户主|老人|其妻|其夫|妻子|丈夫|儿子|女儿|孙子|孙女|父亲|母亲|老伴|家属|贫困户|脱贫户|监测户|低保户)"
    r"[:：]?[\u4e00-\u9fff]{2,3}?(?=[,，、。(（\s家的说讲称和与在反]|$|本人|大妈|大爷|大娘|老汉|奶奶|爷爷)"
)
# 王大妈, 李大爷: a surname and a kinship address.
_ADDRESS = re.compile(r"[\u4e00-\u9fff](?:大妈|大爷|大娘|老汉|奶奶|爷爷|阿姨|大婶|大叔|老太|老头)")


def redact(text: str, names: Iterable[str] = ()) -> str:
    """``text`` without ID, phone and bank card numbers and without people's names (``names``:
    the ledger's household heads, longest first, as nlp.parser.Parser.person_names gives them;
    plus names said after 村民/其妻/户主…)."""
    if not text:
        return text
    text = _LONG_NUMBER.sub(NUMBER_MARK, text)
    for name in names:
        if len(name) >= 2 and name in text:
            text = text.replace(name, NAME_MARK)
    text = _AFTER_ROLE.sub(lambda m: m.group(1) + NAME_MARK, text)
    return _ADDRESS.sub(NAME_MARK, text)


class RedactingFilter(logging.Filter):
    """Removes numbers and names (those it was given) from every log record's message."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        super().__init__()
        self.names = tuple(sorted(set(names), key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.names)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True


def install_log_redaction(names: Iterable[str] = ()) -> None:
    """Put the redactor on every handler of the root logger (call after logging is set up)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(names))
