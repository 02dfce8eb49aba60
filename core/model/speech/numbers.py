"""Transcript text as it was said."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?!\w|\.\d)")


def spoken_form(transcript: str) -> str:
    """The transcript as it was said: numbers Whisper wrote as digits are spelled out ("8." →
    "eight.", "42" → "forty-two"), so a recording matches notes and queries that use words. A
    general normalisation for every number, the reverse of what ASR scoring normalisers do."""
    try:
        from num2words import num2words
    except ImportError:
        return transcript

    def words(match: re.Match) -> str:
        number = match.group(1)
        try:
            return num2words(float(number) if "." in number else int(number))
        except (ValueError, OverflowError, NotImplementedError):
            return number

    return _NUMBER.sub(words, transcript)
