"""A small GraphQL document parser (queries, mutations, variables, fragments, directives).

Why not a regex on the root field: the app's queries select nested fields, aliases, inline
fragments (``... on DiscountCodeBasic``) and pass variables; answering only what was selected,
and rejecting fields Shopify does not have, is what makes the stand-in catch real query bugs.
Type-system definitions and subscriptions are out of scope.
"""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from typing import Any


class GraphQLSyntaxError(Exception):
    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Variable:
    name: str


@dataclass(frozen=True)
class EnumValue:
    name: str


@dataclass
class Directive:
    name: str
    args: dict[str, Any]


@dataclass
class Field:
    name: str
    alias: str | None
    args: dict[str, Any]
    directives: list[Directive]
    selections: list[Selection]
    line: int
    column: int

    @property
    def response_key(self) -> str:
        return self.alias or self.name


@dataclass
class InlineFragment:
    type_condition: str | None
    directives: list[Directive]
    selections: list[Selection]
    line: int
    column: int


@dataclass
class FragmentSpread:
    name: str
    directives: list[Directive]
    line: int
    column: int


Selection = Field | InlineFragment | FragmentSpread


@dataclass
class VariableDefinition:
    name: str
    type: str  # rendered, e.g. "[String!]!"
    default: Any = None
    has_default: bool = False


@dataclass
class Operation:
    kind: str  # "query" | "mutation" | "subscription"
    name: str | None
    variables: list[VariableDefinition]
    selections: list[Selection]


@dataclass
class FragmentDefinition:
    name: str
    type_condition: str
    selections: list[Selection]


@dataclass
class Document:
    operations: list[Operation] = field(default_factory=list)
    fragments: dict[str, FragmentDefinition] = field(default_factory=dict)


_TOKEN_RE = re.compile(
    r"""
    (?P<ignored>[\s,\ufeff]+|\#[^\n\r]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$&():=@\[\]{|}])
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<number>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)
  | (?P<block>\"\"\"(?:\\\"\"\"|[^"]|"(?!""))*\"\"\")
  | (?P<string>"(?:\\.|[^"\\\n\r])*")
    """,
    re.VERBOSE,
)


@dataclass
class _Token:
    kind: str
    value: str
    pos: int


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN_RE.match(source, pos)
        if match is None:
            line, col = _position(source, pos)
            raise GraphQLSyntaxError(
                f'Parse error on "{source[pos]}" (error) at [{line}, {col}]', line, col
            )
        kind = match.lastgroup or ""
        if kind != "ignored":
            tokens.append(_Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(_Token("eof", "", len(source)))
    return tokens


def _position(source: str, pos: int) -> tuple[int, int]:
    line = source.count("\n", 0, pos) + 1
    column = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return line, column


def _block_string(raw: str) -> str:
    body = raw[3:-3].replace('\\"""', '"""')
    lines = body.split("\n")
    first, rest = lines[0], textwrap.dedent("\n".join(lines[1:]))
    return "\n".join([first, *rest.split("\n")] if len(lines) > 1 else [first]).strip("\n")


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.index = 0

    # -- token helpers ---------------------------------------------------------------------
    @property
    def tok(self) -> _Token:
        return self.tokens[self.index]

    def loc(self, token: _Token | None = None) -> tuple[int, int]:
        return _position(self.source, (token or self.tok).pos)

    def error(self, token: _Token | None = None) -> GraphQLSyntaxError:
        token = token or self.tok
        line, col = self.loc(token)
        if token.kind == "eof":
            return GraphQLSyntaxError(f"Unexpected end of document at [{line}, {col}]", line, col)
        kinds = {"name": "IDENTIFIER", "punct": "PUNCTUATOR", "string": "STRING"}
        label = kinds.get(token.kind, token.kind.upper())
        return GraphQLSyntaxError(
            f'Parse error on "{token.value}" ({label}) at [{line}, {col}]', line, col
        )

    def peek(self, value: str) -> bool:
        return self.tok.kind in ("punct", "spread") and self.tok.value == value

    def expect(self, value: str) -> _Token:
        if not self.peek(value):
            raise self.error()
        token = self.tok
        self.index += 1
        return token

    def name(self) -> str:
        if self.tok.kind != "name":
            raise self.error()
        value = self.tok.value
        self.index += 1
        return value

    # -- grammar -----------------------------------------------------------------------------
    def document(self) -> Document:
        doc = Document()
        while self.tok.kind != "eof":
            if self.peek("{"):
                doc.operations.append(Operation("query", None, [], self.selection_set()))
            elif self.tok.kind == "name" and self.tok.value == "fragment":
                frag = self.fragment_definition()
                doc.fragments[frag.name] = frag
            elif self.tok.kind == "name" and self.tok.value in (
                "query",
                "mutation",
                "subscription",
            ):
                doc.operations.append(self.operation())
            else:
                raise self.error()
        if not doc.operations and not doc.fragments:
            raise self.error()
        return doc

    def operation(self) -> Operation:
        kind = self.name()
        name = self.name() if self.tok.kind == "name" else None
        variables = self.variable_definitions() if self.peek("(") else []
        self.directives()
        return Operation(kind, name, variables, self.selection_set())

    def fragment_definition(self) -> FragmentDefinition:
        self.name()  # "fragment"
        name = self.name()
        if name == "on":
            raise self.error(self.tokens[self.index - 1])
        if self.name() != "on":
            raise self.error(self.tokens[self.index - 1])
        type_condition = self.name()
        self.directives()
        return FragmentDefinition(name, type_condition, self.selection_set())

    def variable_definitions(self) -> list[VariableDefinition]:
        self.expect("(")
        out = []
        while not self.peek(")"):
            self.expect("$")
            name = self.name()
            self.expect(":")
            type_ = self.type_ref()
            definition = VariableDefinition(name, type_)
            if self.peek("="):
                self.index += 1
                definition.default = self.value(const=True)
                definition.has_default = True
            self.directives()
            out.append(definition)
        self.expect(")")
        if not out:
            raise self.error(self.tokens[self.index - 1])
        return out

    def type_ref(self) -> str:
        if self.peek("["):
            self.index += 1
            inner = self.type_ref()
            self.expect("]")
            rendered = f"[{inner}]"
        else:
            rendered = self.name()
        if self.peek("!"):
            self.index += 1
            rendered += "!"
        return rendered

    def directives(self) -> list[Directive]:
        out = []
        while self.peek("@"):
            self.index += 1
            name = self.name()
            out.append(Directive(name, self.arguments() if self.peek("(") else {}))
        return out

    def selection_set(self) -> list[Selection]:
        self.expect("{")
        out: list[Selection] = []
        while not self.peek("}"):
            out.append(self.selection())
        self.expect("}")
        if not out:
            raise self.error(self.tokens[self.index - 1])
        return out

    def selection(self) -> Selection:
        line, col = self.loc()
        if self.peek("..."):
            self.index += 1
            if self.tok.kind == "name" and self.tok.value == "on":
                self.index += 1
                cond = self.name()
                directives = self.directives()
                return InlineFragment(cond, directives, self.selection_set(), line, col)
            if self.tok.kind == "name":
                name = self.name()
                return FragmentSpread(name, self.directives(), line, col)
            directives = self.directives()
            return InlineFragment(None, directives, self.selection_set(), line, col)
        alias = None
        name = self.name()
        if self.peek(":"):
            self.index += 1
            alias, name = name, self.name()
        args = self.arguments() if self.peek("(") else {}
        directives = self.directives()
        selections = self.selection_set() if self.peek("{") else []
        return Field(name, alias, args, directives, selections, line, col)

    def arguments(self) -> dict[str, Any]:
        self.expect("(")
        out: dict[str, Any] = {}
        while not self.peek(")"):
            name = self.name()
            self.expect(":")
            out[name] = self.value(const=False)
        self.expect(")")
        if not out:
            raise self.error(self.tokens[self.index - 1])
        return out

    def value(self, *, const: bool) -> Any:
        token = self.tok
        if self.peek("$"):
            if const:
                raise self.error()
            self.index += 1
            return Variable(self.name())
        if self.peek("["):
            self.index += 1
            items = []
            while not self.peek("]"):
                items.append(self.value(const=const))
            self.index += 1
            return items
        if self.peek("{"):
            self.index += 1
            obj: dict[str, Any] = {}
            while not self.peek("}"):
                key = self.name()
                self.expect(":")
                obj[key] = self.value(const=const)
            self.index += 1
            return obj
        self.index += 1
        if token.kind == "number":
            is_float = any(c in token.value for c in ".eE")
            return float(token.value) if is_float else int(token.value)
        if token.kind == "string":
            return json.loads(token.value)
        if token.kind == "block":
            return _block_string(token.value)
        if token.kind == "name":
            return {"true": True, "false": False, "null": None}.get(
                token.value, EnumValue(token.value)
            )
        self.index -= 1
        raise self.error()


def parse(source: str) -> Document:
    """Parse a GraphQL executable document, raising :class:`GraphQLSyntaxError`."""
    return _Parser(source).document()
