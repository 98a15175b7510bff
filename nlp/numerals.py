"""Chinese numerals (三, 十二, 二十五, 两, 一百零五) read as integers."""

from __future__ import annotations

DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
          "六": 6, "七": 7, "八": 8, "九": 9}
UNITS = {"十": 10, "百": 100, "千": 1000}
NUMERAL_CHARS = frozenset(DIGITS) | frozenset(UNITS) | {"万"}


def parse_number(text: str) -> int | None:
    """The value of ``text`` written in Arabic digits or Chinese numerals; None if it is neither."""
    if not text:
        return None
    if text.isdecimal():  # ASCII or full-width digits (１２)
        return int(text)
    if any(ch not in NUMERAL_CHARS for ch in text):
        return None
    if "万" in text:
        high, _, low = text.partition("万")
        high_value = parse_number(high) if high else 1
        low_value = parse_number(low) if low else 0
        if high_value is None or low_value is None:
            return None
        return high_value * 10000 + low_value
    # Plain digit strings such as 二〇二六 are read digit by digit.
    if all(ch in DIGITS for ch in text):
        if len(text) == 1:
            return DIGITS[text]
        if "两" in text:  # 两三 is a range, not a number
            return None
        return int("".join(str(DIGITS[ch]) for ch in text))
    total, pending = 0, None
    last_unit = 10_000
    for ch in text:
        if ch in ("零", "〇"):
            pending = None  # 一百零五: the zero only marks a skipped place
        elif ch in DIGITS:
            if pending is not None:
                return None  # two digits in a row inside a positional number: 三五十
            pending = DIGITS[ch]
        else:
            unit = UNITS[ch]
            if unit >= last_unit:
                return None
            total += (1 if pending is None else pending) * unit
            pending, last_unit = None, unit
    return total + (pending or 0)
