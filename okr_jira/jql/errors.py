"""The one error the JQL package raises, carrying Jira's own message texts."""

from __future__ import annotations

from typing import Literal

JqlErrorKind = Literal["syntax", "validation"]


class JqlError(ValueError):
    """A query Jira would refuse with 400.

    `messages` are the strings Jira puts in `errorMessages`. `kind` tells which body Jira uses:
    syntax errors come with `"errors": {}`, validation errors (unknown field, value or function)
    with `"warningMessages": []`.
    """

    def __init__(
        self, messages: list[str], *, kind: JqlErrorKind = "syntax", position: int | None = None
    ) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages
        self.kind: JqlErrorKind = kind
        # 0-based offset of a syntax error in the query; None: at its end (or not one place).
        self.position = position
        self.reason = messages[0] if messages else ""

    def response_body(self) -> dict[str, object]:
        if self.kind == "syntax":
            return {"errorMessages": list(self.messages), "errors": {}}
        return {"errorMessages": list(self.messages), "warningMessages": []}


def syntax_error(text: str, position: int | None = None) -> JqlError:
    """Build Jira's `Error in the JQL Query: ...` message; position is 0-based into the query."""
    where = "" if position is None else f" (line 1, character {position + 1})"
    error = JqlError([f"Error in the JQL Query: {text}{where}"], position=position)
    error.reason = text  # the message without Jira's prefix and position, for our own errors
    return error
