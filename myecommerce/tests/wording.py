"""Proof-reading checks for texts that shoppers read (e-mails, demo descriptions)."""

import re

from django.utils.html import strip_tags

# A sentence starts after a paragraph break or after . ! ? and a space.
_SENTENCE_START = re.compile(r"(?:\A|\n\s*\n|[.!?]\s+)\s*([^\W\d_])")
# "a eco kettle": "a" before a vowel.
_ARTICLE_BEFORE_VOWEL = re.compile(r"\b[Aa] [aeiouAEIOU]\w*")
# "a classic headphones": one of a plural noun; "a pair of … headphones" is fine.
_ONE_OF_A_PLURAL = re.compile(
    r"\b[Aa]n? (?!pair of\b)(?:[\w-]+ ){0,4}(?:headphones|earbuds|shoes|sneakers)\b"
)


def text_of_html(html: str) -> str:
    """The text of an HTML e-mail, a blank line after every paragraph."""
    body = html.split("<body", 1)[-1]
    body = re.sub(r"(?i)<br\s*/?>", "\n", re.sub(r"(?i)</p>|</tr>|</h\d>", "\n\n", body))
    return strip_tags("<body" + body)


def wording_problems(text: str) -> list[str]:
    """Sentences that start in lower case, and 'a' where English wants 'an' or no article."""
    problems = [
        f"starts in lower case: {text[m.start(1) : m.start(1) + 40]!r}"
        for m in _SENTENCE_START.finditer(text)
        if m.group(1).islower()
    ]
    problems += [f"wrong article: {m.group(0)!r}" for m in _ARTICLE_BEFORE_VOWEL.finditer(text)]
    problems += [f"'a' before a plural: {m.group(0)!r}" for m in _ONE_OF_A_PLURAL.finditer(text)]
    return problems
