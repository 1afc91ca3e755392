"""A small GraphQL execution engine: validation and execution against a declared schema.

Generic on purpose (no Shopify knowledge here; see ``admin_api`` for the schema and resolvers):
it validates like graphql-ruby, which Shopify runs, so the app's documents are checked the way
Shopify checks them (unknown fields and arguments, missing selections, unused or undeclared
variables), and it returns exactly the selected fields, honouring aliases, fragments and
``@skip``/``@include``.

Resolvers return plain dicts; a dict value that is callable is a field with arguments and is
called with them (``codes(first: 1)``). Abstract types (unions, interfaces) pick the concrete type
from the object's ``__typename``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .gqlparse import (
    Directive,
    Document,
    EnumValue,
    Field,
    FragmentSpread,
    GraphQLSyntaxError,
    InlineFragment,
    Operation,
    Selection,
    Variable,
    parse,
)

Resolver = Callable[[Any, dict[str, Any]], Any]


@dataclass(frozen=True)
class Schema:
    """Object types as ``{type: {field: type name}}``; leaves are any name not declared here."""

    objects: dict[str, dict[str, str]]
    unions: dict[str, frozenset[str]]
    interfaces: dict[str, tuple[dict[str, str], frozenset[str]]]
    # (type, field) -> (accepted, required) arguments; a field not listed takes no argument
    field_args: dict[tuple[str, str], tuple[frozenset[str], frozenset[str]]]
    resolvers: dict[tuple[str, str], Resolver]
    mutation_cost: int = 10
    # (type, field) -> cost added for the field's argument values (variables resolved), for
    # fields whose price depends on their input rather than on the selection
    argument_costs: dict[tuple[str, str], Callable[[dict[str, Any]], int]] = field(
        default_factory=dict
    )

    def possible_types(self, type_name: str) -> frozenset[str]:
        if type_name in self.unions:
            return self.unions[type_name]
        if type_name in self.interfaces:
            return self.interfaces[type_name][1]
        return frozenset({type_name})

    def is_abstract(self, type_name: str) -> bool:
        return type_name in self.unions or type_name in self.interfaces

    def is_composite(self, type_name: str | None) -> bool:
        return type_name is not None and (type_name in self.objects or self.is_abstract(type_name))

    def fields_of(self, type_name: str) -> dict[str, str]:
        if type_name in self.objects:
            return self.objects[type_name]
        if type_name in self.interfaces:
            return self.interfaces[type_name][0]
        return {}


class FieldError(Exception):
    """A resolver failure: reported in ``errors`` with the field's path, field becomes null."""

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions = extensions


def _error(
    message: str,
    node: Field | InlineFragment | FragmentSpread | None = None,
    path: list[Any] | None = None,
    **extensions: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {"message": message}
    if node is not None:
        out["locations"] = [{"line": node.line, "column": node.column}]
    if path is not None:
        out["path"] = path
    if extensions:
        out["extensions"] = extensions
    return out


def _cursor_position(cursor: Any) -> int:
    text = str(cursor)
    if not text.startswith("cursor") or not text[6:].isdigit():
        raise FieldError(f"Invalid cursor for current pagination sort: {text}")
    return int(text[6:])


def connection(items: list[dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """A lazily evaluated Relay connection, requiring ``first`` or ``last`` like Shopify, and
    paging with ``after``/``before`` by its own cursors."""

    def resolve(
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        if first is None and last is None:
            raise FieldError("you must provide one of first or last")
        if any(n is not None and not 0 <= int(n) <= 250 for n in (first, last)):
            raise FieldError("first and last must be between 0 and 250")
        start = _cursor_position(after) + 1 if after is not None else 0
        end = _cursor_position(before) if before is not None else len(items)
        window = items[start:end]
        if first is not None:
            offset, chosen = start, window[: int(first)]
        else:
            offset = start + max(0, len(window) - int(last or 0))
            chosen = items[offset:end]
        cursors = [f"cursor{offset + i}" for i in range(len(chosen))]
        return {
            "__typename": "Connection",
            "nodes": chosen,
            "edges": [{"node": n, "cursor": c} for n, c in zip(chosen, cursors, strict=True)],
            "pageInfo": {
                "hasNextPage": offset + len(chosen) < len(items),
                "hasPreviousPage": offset > 0,
                "startCursor": cursors[0] if cursors else None,
                "endCursor": cursors[-1] if cursors else None,
            },
        }

    return resolve


# -- execution --------------------------------------------------------------------------------
class _Execution:
    def __init__(self, schema: Schema, doc: Document, op: Operation) -> None:
        self.schema = schema
        self.doc = doc
        self.op = op
        self.variables: dict[str, Any] = {}
        self.root = "Mutation" if op.kind == "mutation" else "QueryRoot"
        self.label = f"{op.kind} {op.name}" if op.name else op.kind
        self.errors: list[dict[str, Any]] = []
        self.used_variables: set[str] = set()

    # -- static validation ----------------------------------------------------------------------
    def validate(self) -> None:
        self._validate(self.op.selections, self.root, [self.label], frozenset())
        declared = {v.name for v in self.op.variables}
        for name in sorted(self.used_variables - declared):
            self.errors.append(
                _error(
                    f"Variable ${name} is used by {self.label} but not declared",
                    path=[self.label],
                    code="variableNotDefined",
                    variableName=name,
                )
            )
        for name in sorted(declared - self.used_variables):
            self.errors.append(
                _error(
                    f"Variable ${name} is declared by {self.label} but not used",
                    path=[self.label],
                    code="variableNotUsed",
                    variableName=name,
                )
            )

    def _note_variables(self, value: Any) -> None:
        if isinstance(value, Variable):
            self.used_variables.add(value.name)
        elif isinstance(value, list):
            for item in value:
                self._note_variables(item)
        elif isinstance(value, dict):
            for item in value.values():
                self._note_variables(item)

    def _validate(
        self, selections: list[Selection], parent: str, path: list[Any], seen: frozenset[str]
    ) -> None:
        for sel in selections:
            for directive in sel.directives:
                self._note_variables(directive.args)
            if isinstance(sel, Field):
                self._validate_field(sel, parent, path, seen)
            elif isinstance(sel, InlineFragment):
                cond = sel.type_condition or parent
                if not self._fragment_ok(sel, cond, parent, path):
                    continue
                self._validate(sel.selections, cond, path, seen)
            else:
                frag = self.doc.fragments.get(sel.name)
                if frag is None:
                    self.errors.append(
                        _error(
                            f"Fragment {sel.name} was used, but not defined",
                            sel,
                            path,
                            code="useAndDefineFragment",
                            fragmentName=sel.name,
                        )
                    )
                elif sel.name in seen:
                    self.errors.append(
                        _error(
                            f"Fragment {sel.name} contains an infinite loop",
                            sel,
                            path,
                            code="infiniteLoop",
                            fragmentName=sel.name,
                        )
                    )
                elif self._fragment_ok(sel, frag.type_condition, parent, path):
                    self._validate(frag.selections, frag.type_condition, path, seen | {sel.name})

    def _fragment_ok(
        self, sel: InlineFragment | FragmentSpread, cond: str, parent: str, path: list[Any]
    ) -> bool:
        if not self.schema.is_composite(cond):
            self.errors.append(
                _error(
                    f"No such type {cond}, so it can't be a fragment condition",
                    sel,
                    path,
                    code="undefinedType",
                    typeName=cond,
                )
            )
            return False
        if not self.schema.possible_types(cond) & self.schema.possible_types(parent):
            self.errors.append(
                _error(
                    f"Fragment on {cond} can't be spread inside {parent}",
                    sel,
                    path,
                    code="cannotSpreadFragment",
                    typeName=cond,
                )
            )
            return False
        return True

    def _validate_field(
        self, sel: Field, parent: str, path: list[Any], seen: frozenset[str]
    ) -> None:
        here = [*path, sel.response_key]
        self._note_variables(sel.args)
        if sel.name == "__typename":
            if sel.selections:
                self.errors.append(
                    _error(
                        "Selections can't be made on scalars (field '__typename' returns "
                        "String! but has selections)",
                        sel,
                        here,
                        code="selectionMismatch",
                    )
                )
            return
        field_type = self.schema.fields_of(parent).get(sel.name)
        if field_type is None:
            self.errors.append(
                _error(
                    f"Field '{sel.name}' doesn't exist on type '{parent}'",
                    sel,
                    here,
                    code="undefinedField",
                    typeName=parent,
                    fieldName=sel.name,
                )
            )
            return
        accepted, required = self.schema.field_args.get(
            (parent, sel.name), (frozenset(), frozenset())
        )
        if sel.args or required:
            for arg in sel.args:
                if arg not in accepted:
                    self.errors.append(
                        _error(
                            f"Field '{sel.name}' doesn't accept argument '{arg}'",
                            sel,
                            here,
                            code="argumentNotAccepted",
                            name=sel.name,
                            typeName="Field",
                            argumentName=arg,
                        )
                    )
            missing = sorted(required - set(sel.args))
            if missing:
                self.errors.append(
                    _error(
                        f"Field '{sel.name}' is missing required arguments: {', '.join(missing)}",
                        sel,
                        here,
                        code="missingRequiredArguments",
                        className="Field",
                        name=sel.name,
                        arguments=", ".join(missing),
                    )
                )
        if self.schema.is_composite(field_type) and not sel.selections:
            self.errors.append(
                _error(
                    f"Field must have selections (field '{sel.name}' returns {field_type} but "
                    f"has no selections. Did you mean '{sel.name} {{ ... }}'?)",
                    sel,
                    here,
                    code="selectionMismatch",
                    nodeName=f"field '{sel.name}'",
                    typeName=field_type,
                )
            )
        elif not self.schema.is_composite(field_type) and sel.selections:
            names = ", ".join(s.name for s in sel.selections if isinstance(s, Field))
            self.errors.append(
                _error(
                    f"Selections can't be made on scalars (field '{sel.name}' returns "
                    f"{field_type} but has selections [{names}])",
                    sel,
                    here,
                    code="selectionMismatch",
                    nodeName=f"field '{sel.name}'",
                    typeName=field_type,
                )
            )
        elif sel.selections:
            self._validate(sel.selections, field_type, here, seen)

    # -- variables and arguments ------------------------------------------------------------------
    def coerce_variables(self, provided: dict[str, Any]) -> None:
        for definition in self.op.variables:
            if definition.name in provided:
                value = provided[definition.name]
            else:
                value = self.value(definition.default) if definition.has_default else None
            if value is None and definition.type.endswith("!"):
                self.errors.append(
                    _error(
                        f"Variable ${definition.name} of type {definition.type} was provided "
                        "invalid value",
                        code="INVALID_VARIABLE",
                        value=None,
                        problems=[{"path": [], "explanation": "Expected value to not be null"}],
                    )
                )
            self.variables[definition.name] = value

    def value(self, node: Any) -> Any:
        if isinstance(node, Variable):
            return self.variables.get(node.name)
        if isinstance(node, EnumValue):
            return node.name
        if isinstance(node, list):
            return [self.value(v) for v in node]
        if isinstance(node, dict):
            return {k: self.value(v) for k, v in node.items()}
        return node

    def included(self, directives: list[Directive]) -> bool:
        for d in directives:
            flag = bool(self.value(d.args.get("if")))
            if (d.name == "skip" and flag) or (d.name == "include" and not flag):
                return False
        return True

    # -- field collection, cost, completion ------------------------------------------------
    def collect(self, selections: list[Selection], runtime: str | None) -> list[Field]:
        """Fields that apply to an object of type ``runtime`` (None: all, for cost)."""
        out: list[Field] = []
        for sel in selections:
            if not self.included(sel.directives):
                continue
            if isinstance(sel, Field):
                out.append(sel)
                continue
            if isinstance(sel, InlineFragment):
                cond, inner = sel.type_condition, sel.selections
            else:
                frag = self.doc.fragments[sel.name]
                cond, inner = frag.type_condition, frag.selections
            if runtime is None or cond is None or runtime in self.schema.possible_types(cond):
                out.extend(self.collect(inner, runtime))
        return out

    def cost(self, selections: list[Selection], parent: str, depth: int = 0) -> int:
        total = 0
        for sel in self.collect(selections, None):
            field_type = self.schema.fields_of(parent).get(sel.name) or next(
                (
                    self.schema.fields_of(t).get(sel.name)
                    for t in self.schema.possible_types(parent)
                    if sel.name in self.schema.fields_of(t)
                ),
                None,
            )
            if field_type is None or not self.schema.is_composite(field_type) or depth > 20:
                continue
            inner = self.cost(sel.selections, field_type, depth + 1)
            by_arguments = self.schema.argument_costs.get((parent, sel.name))
            if by_arguments is not None:
                total += by_arguments({k: self.value(v) for k, v in sel.args.items()})
            if parent == "Mutation":
                total += self.schema.mutation_cost
            elif field_type.endswith("Connection"):
                size = self.value(sel.args.get("first")) or self.value(sel.args.get("last"))
                total += 2 + (size if isinstance(size, int) and size > 0 else 1) * inner
            elif isinstance(ids := self.value(sel.args.get("ids")), list):
                total += max(len(ids), 1) * (1 + inner)  # a list by ids: each object counts
            else:
                total += 1 + inner
        return total

    def complete(self, value: Any, type_name: str, sel: Field, path: list[Any]) -> Any:
        if value is None:
            return None
        if isinstance(value, list):
            return [self.complete(v, type_name, sel, [*path, i]) for i, v in enumerate(value)]
        if not self.schema.is_composite(type_name):
            return value
        runtime = type_name
        if self.schema.is_abstract(type_name):
            runtime = value.get("__typename") or type_name
        return self.project(value, runtime, sel.selections, path)

    def project(
        self, obj: dict[str, Any], runtime: str, selections: list[Selection], path: list[Any]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for sub in self.collect(selections, runtime):
            key = sub.response_key
            here = [*path, key]
            if sub.name == "__typename":
                out[key] = runtime
                continue
            field_type = self.schema.fields_of(runtime).get(sub.name, "String")
            raw = obj.get(sub.name)
            if callable(raw):
                try:
                    raw = raw(**{k: self.value(v) for k, v in sub.args.items()})
                except FieldError as exc:
                    self.errors.append(_error(exc.message, sub, here, **exc.extensions))
                    out[key] = None
                    continue
            completed = self.complete(raw, field_type, sub, here)
            if isinstance(out.get(key), dict) and isinstance(completed, dict):
                out[key] = {**out[key], **completed}
            else:
                out[key] = completed
        return out


@dataclass
class Prepared:
    """A parsed, validated operation with coerced variables, ready to run."""

    run: _Execution
    roots: list[Field]
    cost: int

    @property
    def root_names(self) -> list[str]:
        return [f.name for f in self.roots if f.name != "__typename"]

    def execute(self, ctx: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Resolve the root fields. ``ctx.root_field`` is set to each field's name first."""
        run = self.run
        data: dict[str, Any] = {}
        for sel in self.roots:
            key = sel.response_key
            if sel.name == "__typename":
                data[key] = run.root
                continue
            ctx.root_field = sel.name
            args = {k: run.value(v) for k, v in sel.args.items()}
            try:
                raw = run.schema.resolvers[(run.root, sel.name)](ctx, args)
            except FieldError as exc:
                run.errors.append(_error(exc.message, sel, [key], **exc.extensions))
                data[key] = None
                continue
            except (TypeError, ValueError, AttributeError, ArithmeticError) as exc:
                # Input of the wrong shape: Shopify rejects it while coercing arguments.
                message = f"Argument values for field '{sel.name}' are invalid: {exc}"
                run.errors.append(_error(message, sel, [key], code="argumentLiteralsIncompatible"))
                data[key] = None
                continue
            data[key] = run.complete(raw, run.schema.objects[run.root][sel.name], sel, [key])
        return data, run.errors


def prepare(
    schema: Schema, query: str, variables: Any = None, operation_name: str | None = None
) -> Prepared | list[dict[str, Any]]:
    """Parse, pick the operation, validate, coerce variables; errors come back as a list."""
    try:
        doc = parse(query)
    except GraphQLSyntaxError as exc:
        return [{"message": exc.message, "locations": [{"line": exc.line, "column": exc.column}]}]
    except RecursionError:
        return [{"message": "Query is too deeply nested"}]
    ops = doc.operations
    if operation_name:
        ops = [o for o in ops if o.name == operation_name]
        if not ops:
            return [{"message": f'No operation named "{operation_name}"'}]
    elif len(ops) > 1:
        return [{"message": "An operation name is required when sending multiple operations."}]
    if not ops:
        return [{"message": "No operations in query document"}]
    op = ops[0]
    if op.kind == "subscription":
        return [{"message": "Subscriptions are not supported"}]
    run = _Execution(schema, doc, op)
    try:
        run.validate()
        if not run.errors:
            run.coerce_variables(variables if isinstance(variables, dict) else {})
        if run.errors:
            return run.errors
        return Prepared(
            run, run.collect(op.selections, run.root), run.cost(op.selections, run.root)
        )
    except RecursionError:
        return [{"message": "Query is too deeply nested"}]
