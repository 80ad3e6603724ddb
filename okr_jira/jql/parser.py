"""parse_jql: JQL text -> JqlQuery, or JqlError with the messages Jira gives."""

from __future__ import annotations

from okr_jira.jql import dates
from okr_jira.jql.errors import JqlError, syntax_error
from okr_jira.jql.fields import RESERVED_WORDS, VALID_OPERATORS, FieldDef, lookup_field
from okr_jira.jql.lexer import Token, tokenize
from okr_jira.jql.query import (
    BoolOp,
    Clause,
    Empty,
    Function,
    JqlQuery,
    Node,
    Not,
    Operand,
    Value,
    split_key,
)

_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "order", "by", "empty", "null"})
_SYMBOL_OPS = {"=", "!=", "~", "!~", ">", ">=", "<", "<="}
_HISTORY_OPS = {"was", "changed"}
_USER_FUNCTIONS = frozenset({"currentuser"})
_TYPE_FUNCTIONS = frozenset({"standardissuetypes", "subtaskissuetypes"})


def parse_jql(text: str) -> JqlQuery:
    """Parse a JQL query; raise JqlError (syntax first, then all validation problems)."""
    parser = _Parser(text)
    return parser.parse()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.problems: list[str] = []  # validation messages, reported after a clean parse

    # --- token helpers ---
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def at_word(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.text.casefold() in words

    def at_and(self) -> bool:
        return self.at_word("and") or (self.tok.kind == "op" and self.tok.text in ("&&", "&"))

    def at_or(self) -> bool:
        return self.at_word("or") or (self.tok.kind == "op" and self.tok.text in ("||", "|"))

    def at_not(self) -> bool:
        return self.at_word("not") or (self.tok.kind == "op" and self.tok.text == "!")

    # --- grammar ---
    def parse(self) -> JqlQuery:
        where: Node | None = None
        if self.tok.kind != "end" and not self.at_word("order"):
            where = self.parse_or()
        order_by = self.parse_order_by() if self.at_word("order") else []
        if self.tok.kind != "end":
            tok = self.tok
            if tok.kind == "rparen":
                raise syntax_error("Expecting either 'OR' or 'AND' but got ')'.", tok.pos)
            raise syntax_error(f"Expecting either 'OR' or 'AND' but got '{tok.text}'.", tok.pos)
        if self.problems:
            raise JqlError(self.problems, kind="validation")
        return JqlQuery(text=self.text, where=where, order_by=order_by)

    def parse_or(self) -> Node:
        parts = [self.parse_and()]
        while self.at_or():
            self.advance()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else BoolOp("or", tuple(parts))

    def parse_and(self) -> Node:
        parts = [self.parse_not()]
        while self.at_and():
            self.advance()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else BoolOp("and", tuple(parts))

    def parse_not(self) -> Node:
        if self.at_not():
            self.advance()
            return Not(self.parse_not())
        if self.tok.kind == "lparen":
            self.advance()
            inner = self.parse_or()
            self.expect_rparen()
            return inner
        return self.parse_clause()

    def expect_rparen(self) -> None:
        tok = self.tok
        if tok.kind == "rparen":
            self.advance()
            return
        if tok.kind == "end":
            raise syntax_error("Expecting ')' before the end of the query.")
        raise syntax_error(f"Expecting ')' but got '{tok.text}'.", tok.pos)

    def parse_field_name(self) -> Token:
        tok = self.tok
        if tok.kind == "end":
            raise syntax_error("Expecting a field name before the end of the query.")
        if tok.kind not in ("word", "string"):
            raise syntax_error(f"Expecting a field name but got '{tok.text}'.", tok.pos)
        if tok.kind == "word" and tok.text.casefold() in RESERVED_WORDS:
            raise syntax_error(
                f"'{tok.text}' is a reserved JQL word. You must surround it in quotation marks "
                "to use it in a query.",
                tok.pos,
            )
        return self.advance()

    def parse_clause(self) -> Clause:
        name_tok = self.parse_field_name()
        op = self.parse_operator()
        operands, is_list = self.parse_operand(op)
        fdef = lookup_field(name_tok.text)
        if fdef is None:
            self.problems.append(
                f"Field '{name_tok.text}' does not exist or you do not have permission to view it."
            )
            fdef = FieldDef(name_tok.text, "value", frozenset())
        else:
            self.validate(fdef, name_tok.text, op, operands)
        return Clause(fdef, name_tok.text, op, operands, is_list)

    def parse_operator(self) -> str:
        tok = self.tok
        if tok.kind == "end":
            raise syntax_error(f"Expecting operator before the end of the query. {VALID_OPERATORS}")
        if tok.kind == "op" and tok.text in _SYMBOL_OPS:
            self.advance()
            return tok.text
        if tok.kind == "word":
            word = tok.text.casefold()
            if word in ("in", "is", *_HISTORY_OPS):
                self.advance()
                if self.at_word("not") and word != "in":
                    self.advance()
                    return f"{word} not"
                return word
            if word == "not" and self.tokens[self.i + 1].text.casefold() == "in":
                self.advance()
                self.advance()
                return "not in"
        raise syntax_error(f"Expecting operator but got '{tok.text}'. {VALID_OPERATORS}", tok.pos)

    def parse_operand(self, op: str) -> tuple[tuple[Operand, ...], bool]:
        if self.tok.kind == "lparen":
            start = self.advance()
            items = [self.parse_single()]
            while self.tok.kind == "comma":
                self.advance()
                items.append(self.parse_single())
            self.expect_rparen()
            if op not in ("in", "not in"):
                raise syntax_error(
                    f"The operator '{op.upper()}' does not support multiple values.", start.pos
                )
            return tuple(items), True
        single = self.parse_single()
        if op in ("in", "not in") and not isinstance(single, Function):
            raise syntax_error(
                f"The operator '{op.upper()}' requires a list of values, but got "
                f"'{self.text_of(single)}'.",
                self.tokens[self.i - 1].pos,
            )
        if op in ("is", "is not") and not isinstance(single, Empty):
            raise syntax_error(
                f"The operator '{op.upper()}' only supports the values EMPTY and NULL.",
                self.tokens[self.i - 1].pos,
            )
        return (single,), False

    def parse_single(self) -> Operand:
        tok = self.tok
        if tok.kind == "end":
            raise syntax_error(
                "Expecting either a value, list or function before the end of the query."
            )
        if tok.kind == "string":
            self.advance()
            return Value(tok.text, quoted=True)
        if tok.kind != "word":
            raise syntax_error(
                f"Expecting either a value, list or function but got '{tok.text}'. You must "
                f"surround '{tok.text}' in quotation marks to use it as a value.",
                tok.pos,
            )
        word = tok.text.casefold()
        if word in ("empty", "null"):
            self.advance()
            return Empty()
        if self.tokens[self.i + 1].kind == "lparen":
            return self.parse_function()
        if word in _KEYWORDS or word in RESERVED_WORDS:
            raise syntax_error(
                f"Expecting either a value, list or function but got '{tok.text}'. You must "
                f"surround '{tok.text}' in quotation marks to use it as a value.",
                tok.pos,
            )
        self.advance()
        return Value(tok.text)

    def parse_function(self) -> Function:
        name = self.advance().text
        self.advance()  # (
        args: list[str] = []
        if self.tok.kind != "rparen":
            while True:
                tok = self.tok
                if tok.kind not in ("word", "string"):
                    if tok.kind == "end":
                        raise syntax_error("Expecting ')' before the end of the query.")
                    raise syntax_error(f"Expecting ')' but got '{tok.text}'.", tok.pos)
                args.append(self.advance().text)
                if self.tok.kind != "comma":
                    break
                self.advance()
        self.expect_rparen()
        return Function(name, tuple(args))

    def parse_order_by(self) -> list[tuple[str, bool]]:
        self.advance()  # order
        if not self.at_word("by"):
            tok = self.tok
            if tok.kind == "end":
                raise syntax_error("Expecting 'BY' before the end of the query.")
            raise syntax_error(f"Expecting 'BY' but got '{tok.text}'.", tok.pos)
        self.advance()
        result: list[tuple[str, bool]] = []
        while True:
            name_tok = self.parse_field_name()
            asc = True
            if self.at_word("asc", "desc"):
                asc = self.advance().text.casefold() == "asc"
            fdef = lookup_field(name_tok.text)
            if fdef is None:
                self.problems.append(
                    f"Field '{name_tok.text}' does not exist or you do not have permission "
                    "to view it."
                )
            elif not fdef.sortable:
                self.problems.append(f"Field '{name_tok.text}' does not support sorting.")
            else:
                result.append((fdef.name, asc))
            if self.tok.kind != "comma":
                return result
            self.advance()

    # --- validation (collected, raised after the whole query parsed) ---
    def validate(
        self, fdef: FieldDef, written: str, op: str, operands: tuple[Operand, ...]
    ) -> None:
        if op not in fdef.operators:
            self.problems.append(f"The operator '{op}' is not supported by the '{written}' field.")
            return
        for operand in operands:
            if isinstance(operand, Function):
                self.validate_function(fdef, written, operand)
            elif isinstance(operand, Empty):
                if op in ("~", "!~") or (fdef.type == "key" and fdef.name == "key"):
                    self.problems.append(
                        f"The field '{written}' does not support searching for EMPTY values."
                    )
            elif fdef.type == "date" and not dates.is_date_value(operand.text):
                self.problems.append(dates.invalid_date_message(operand.text, written))
            elif (
                fdef.type == "key"
                and split_key(operand.text) is None
                and not operand.text.strip().isdigit()
            ):
                self.problems.append(
                    f"The issue key '{operand.text}' for field '{written}' is invalid."
                )

    def validate_function(self, fdef: FieldDef, written: str, fn: Function) -> None:
        name = fn.name.casefold()
        known = dates.DATE_FUNCTIONS | _USER_FUNCTIONS | _TYPE_FUNCTIONS
        if name not in known:
            self.problems.append(f"Unable to find JQL function '{fn.name}({', '.join(fn.args)})'.")
            return
        fits = (
            (name in dates.DATE_FUNCTIONS and fdef.type == "date")
            or (name in _USER_FUNCTIONS and fdef.type == "user")
            or (name in _TYPE_FUNCTIONS and fdef.name == "issuetype")
        )
        if not fits:
            self.problems.append(
                f"A value provided by the function '{fn.name}' is invalid for the field "
                f"'{written}'."
            )
        elif name in dates.DATE_FUNCTIONS and (
            (name == "now" and fn.args)
            or len(fn.args) > 1
            or any(not dates.valid_increment(a) for a in fn.args)
        ):
            self.problems.append(
                f"Function '{fn.name}' expects at most one increment argument like '-1d'."
            )

    def text_of(self, operand: Operand) -> str:
        if isinstance(operand, Value):
            return operand.text
        return "EMPTY" if isinstance(operand, Empty) else f"{operand.name}()"
