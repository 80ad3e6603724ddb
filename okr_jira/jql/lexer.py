"""Turn JQL text into tokens, with Jira's messages for what cannot be tokenised."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from okr_jira.jql.errors import syntax_error

TokenKind = Literal["word", "string", "op", "lparen", "rparen", "comma", "end"]


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str  # the value: unescaped for strings, as written otherwise
    pos: int  # 0-based offset in the query
    quoted: bool = False


# Unquoted words: letters (any script), digits and the few separators dates, keys and versions
# need. Any other character outside quotes is one Jira reserves.
WORD_RE = re.compile(r"cf\[\d+\]|[\w.\-/:]+", re.IGNORECASE)
OPERATORS = ("!=", "!~", ">=", "<=", "&&", "||", "=", "~", ">", "<", "!", "&", "|")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", " ": " "}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in "\"'":
            value, end = _read_string(text, i)
            tokens.append(Token("string", value, i, quoted=True))
            i = end
            continue
        if ch == "(":
            tokens.append(Token("lparen", ch, i))
            i += 1
            continue
        if ch == ")":
            tokens.append(Token("rparen", ch, i))
            i += 1
            continue
        if ch == ",":
            tokens.append(Token("comma", ch, i))
            i += 1
            continue
        op = next((o for o in OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token("op", op, i))
            i += len(op)
            continue
        match = WORD_RE.match(text, i)
        if match is None:
            code = f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else "\\u????"
            raise syntax_error(
                f"The character '{ch}' is a reserved JQL character. You must enclose it in a "
                f"string or use the escape '{code}' instead.",
                i,
            )
        tokens.append(Token("word", match.group(0), i))
        i = match.end()
    tokens.append(Token("end", "", n))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                break
            nxt = text[i + 1]
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            if nxt not in ESCAPES:
                raise syntax_error(f"The escape sequence '\\{nxt}' in the string is illegal.", i)
            out.append(ESCAPES[nxt])
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise syntax_error(f"The quoted string '{text[start + 1 :]}' has not been completed.", start)


__all__ = ["Token", "tokenize"]
