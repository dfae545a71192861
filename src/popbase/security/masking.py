"""Masks for personal identifiers, as shown to people who may not see them whole.

The forms follow Chinese government practice (and GB/T 35273's de-identification
examples): an ID number keeps its first four and last four characters, a mobile number
its first three and last four digits, a name its surname (and, from three characters,
its last character). A mask has the length of what it hides, so a masked value shows its
kind at a glance and never its content.
"""

from __future__ import annotations

import re

# What a log line or a response may contain of an ID number or a mobile number.
MASKED_ID = re.compile(r"^\d{4}\*{10}[\dX*]{4}$|^\d{4}\*{7}[\d*]{4}$")
MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")
# A whole (unmasked) ID number or mobile number inside any text: a run of digits on its
# own (not part of a longer word, such as a hexadecimal pseudonym).
RAW_ID_IN_TEXT = re.compile(
    r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])|(?<![\dA-Za-z])\d{15}(?![\dA-Za-z])"
)
RAW_PHONE_IN_TEXT = re.compile(r"(?<![\dA-Za-z])1[3-9]\d{9}(?![\dA-Za-z])")


def mask_id_number(value: str | None) -> str | None:
    """Keep the first four and last four characters of an ID number.

    Examples
    --------
    >>> mask_id_number("310112199001011234")
    '3101**********1234'
    >>> mask_id_number("310112900101123")
    '3101*******1123'
    >>> mask_id_number("31011") is None, mask_id_number(None) is None
    (True, True)
    """
    if not value:
        return None
    text = value.strip().upper()
    if len(text) not in (15, 18):
        return None  # not an ID number: show nothing rather than a guess
    return text[:4] + "*" * (len(text) - 8) + text[-4:]


def mask_phone(value: str | None) -> str | None:
    """Keep the first three and last four digits of a mobile number.

    Examples
    --------
    >>> mask_phone("13812345678"), mask_phone("+86 138-1234-5678")
    ('138****5678', '138****5678')
    >>> mask_phone("021-5432") is None
    True
    """
    if not value:
        return None
    digits = re.sub(r"\D", "", value)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) != 11 or not digits.startswith("1"):
        return None
    return digits[:3] + "****" + digits[-4:]


def mask_name(value: str | None) -> str | None:
    """Keep the surname, and from three characters the last character.

    Examples
    --------
    >>> mask_name("张三"), mask_name("王小明"), mask_name("欧阳娜娜"), mask_name("李")
    ('张*', '王*明', '欧**娜', '李')
    """
    if not value:
        return None
    name = value.strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_birth_date(value: str | None) -> str | None:
    """Keep the year of a birth date (YYYY-MM-DD).

    Examples
    --------
    >>> mask_birth_date("1990-05-17")
    '1990-**-**'
    """
    if not value:
        return None
    return str(value)[:4] + "-**-**"


def mask_text(text: str) -> str:
    """Mask every whole ID number and mobile number inside free text (for logs).

    Examples
    --------
    >>> mask_text("q=310112199001011234&phone=13812345678")
    'q=3101**********1234&phone=138****5678'
    """
    text = RAW_ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)) or "****", text)
    return RAW_PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)) or "****", text)
