"""Compiled completion of plain selection sets (graphql-jit's idea, for graphql-core).

graphql-core completes every field of every object on its generic path: a
`GraphQLResolveInfo`, a resolver call, an awaitable check and a walk of the value's
type per field, and a re-collection of the selection set per object (memoized, but
looked up each time). For a list page of 50 members that is ~1,100 fields.

Most of those fields need none of it: they are attributes of a dataclass (Strawberry's
fields without a resolver, "plain"), values a list resolver filled in bulk (fields
declared with `metadata={PRELOADED: attribute}`, see app.schema.execution) or values
computed from the object alone (a synchronous resolver taking only `self`, "computed",
such as a cursor: a pure function, which a plan that gives up may have called once
before graphql-core calls it again). This module compiles the selection set below an
object or list field, once per (document, operation, field) and cached beside the parsed
document, into a tree of completers that build the response dicts in one pass. The
completer of an object type is generated Python (as graphql-jit generates JavaScript):
one straight-line function per selection, an attribute read and a scalar coercion per
leaf, the response dict built by one display.

Exactness comes from falling back, not from re-implementing graphql-core:

- Only a subtree made of nothing but plain, preloaded and computed fields, leaves, lists,
  object types and `__typename` compiles. Anything else (a resolver, arguments, a permission
  extension, an interface or union, `@defer`/`@stream`, a field the type lacks) makes
  the subtree's plan None, and graphql-core completes it; the subtrees below it get
  their own chance when graphql-core reaches them.
- Fields are collected by graphql-core's own `collect_subfields` (fragments, aliases,
  merging, `@include`/`@skip`). A plan whose directives read variables is compiled for
  the request only, never cached.
- Running a plan has no side effects (attribute reads, pure computed fields and scalar
  coercion). Whenever the
  value is not what the plan handles — a null in a non-null position, an attribute a
  resolver would have to fill, a scalar that does not coerce, an exception as a value,
  a non-list for a list, `is_type_of` false, more list items than the query may return —
  the plan gives up (`Bail`) and graphql-core completes the same subtree from the start,
  producing exactly its data, errors and null propagation.

`tests/api/test_compiled_execution.py` runs queries through both paths and compares the
whole responses.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from enum import Enum
from keyword import iskeyword
from typing import Any, cast

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    SelectionSetNode,
    Undefined,
    ValueNode,
    VariableNode,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FragmentDetails,
    collect_subfields,
)
from strawberry.types.cast import get_strawberry_type_cast

# field.extensions keys set by app.schema.execution.mark_fast_fields.
PLAIN_ATTRIBUTE = "roster-plain-attribute"
PRELOADED_ATTRIBUTE = "roster-preloaded-attribute"
# A synchronous resolver that takes only `self` and has no extension: a pure function of
# the object (a value computed on demand, such as a cursor), called as `function(value)`.
COMPUTED_FUNCTION = "roster-computed-function"

# How many compiled subtrees are kept across requests (each holds its document's nodes).
CACHE_SIZE = 4096
# Off: graphql-core completes everything (the equivalence tests compare both paths).
ENABLED = True

# A completer turns a field's value into its response value; the list is a one-item
# tally of the list items of objects it completed (for ListItemCounter).
Completer = Callable[[Any, list[int]], Any]
FieldDetailsList = list[FieldDetails]


class Bail(Exception):
    """The plan does not handle this value: graphql-core completes the subtree."""


# Step kinds of an object plan (leaves first: `kind <= _LEAF` is a leaf).
_COMPUTED_LEAF = -1
_LEAF = 0
_PLAIN = 1
_PRELOADED = 2
_TYPENAME = 3
_COMPUTED = 4


def _bail() -> Bail:
    return Bail()


class _NoPassThrough:
    """A type no value has: the leaf always goes through its coercion."""


def _pass_through(leaf_type: GraphQLScalarType | GraphQLEnumType) -> type:
    """The one type whose values graphql-core's coercion of this leaf returns unchanged:
    `str` for String and ID, `bool` for Boolean (the values are then used as they are)."""
    if leaf_type is GraphQLString or leaf_type is GraphQLID:
        return str
    if leaf_type is GraphQLBoolean:
        return bool
    return _NoPassThrough


def _coercion(leaf_type: GraphQLScalarType | GraphQLEnumType) -> Callable[[Any], Any]:
    """The leaf's output coercion; for enums remembered per Enum member (a pure function of
    the member: Strawberry's looks the name up by a scan of the values)."""
    coerce = leaf_type.coerce_output_value
    if not isinstance(leaf_type, GraphQLEnumType):
        return coerce
    # Keyed by class too: members of two StrEnums with one value are equal.
    names: dict[tuple[type, Any], Any] = {}

    def coerce_enum(value: Any) -> Any:
        if not isinstance(value, Enum):
            return coerce(value)
        key = (type(value), value)
        name = names.get(key)
        if name is None:
            name = coerce(value)
            if len(names) < 1000:
                names[key] = name
        return name

    return coerce_enum


def _leaf(leaf_type: GraphQLScalarType | GraphQLEnumType, non_null: bool) -> Completer:
    coerce = _coercion(leaf_type)

    def complete_leaf(value: Any, tally: list[int]) -> Any:
        if value is None or value is Undefined:
            if non_null:
                raise _bail()
            return None
        if isinstance(value, Exception):
            raise _bail()
        result = coerce(value)
        if result is None or result is Undefined:
            raise _bail()
        return result

    return complete_leaf


def _list(item: Completer, counted: bool, non_null: bool) -> Completer:
    def complete_list(value: Any, tally: list[int]) -> Any:
        if value is None or value is Undefined:
            if non_null:
                raise _bail()
            return None
        kind = type(value)
        if kind is not list and kind is not tuple:
            raise _bail()  # iterables, async iterables, exceptions: graphql-core's path
        if counted:
            tally[0] += len(value)
        return [item(entry, tally) for entry in value]

    return complete_list


Step = tuple[str, int, Any, Any, bool, type]


def _object(
    object_type: GraphQLObjectType, steps: list[Step], known_null: object, non_null: bool
) -> Completer:
    """The object's completer, generated as Python (graphql-jit's approach): the steps
    unrolled into straight-line code, each value in a local, the response dict built by
    one display. Nothing from the document is written into the source: response keys,
    attributes that are not plain identifiers and every helper are constants of the
    function's namespace, named by the step's index."""
    names: dict[str, Any] = {
        "Bail": Bail,
        "Undefined": Undefined,
        "is_type_of": object_type.is_type_of,
        "cast_of": get_strawberry_type_cast,
        "known_null": known_null,
        # The last class whose instance passed the checks below, when passing them
        # depends on the class alone: its next instances skip them.
        "checked": [None],
    }
    code = ["def complete_object(value, tally):"]
    by_class = object_type.is_type_of is None or _type_level(object_type)
    if object_type.is_type_of is None:
        code.append("    if type(value) is not checked[0]:")
    elif by_class:
        code.append("    if type(value) is not checked[0] or cast_of(value) is not None:")
    else:
        code.append("    if True:")
    code += [
        "        if value is None or value is Undefined:",
        "            raise Bail()" if non_null else "            return None",
        "        if isinstance(value, Exception):",
        "            raise Bail()",
    ]
    if object_type.is_type_of is not None:
        # Strawberry's is_type_of reads no info; one that does fails here and bails.
        code += ["        if is_type_of(value, None) is not True:", "            raise Bail()"]
    if by_class:
        code.append("        checked[0] = type(value)")
    for i, (key, kind, attribute, sub, field_non_null, unchanged) in enumerate(steps):
        names[f"k{i}"] = key
        if kind == _TYPENAME:
            names[f"t{i}"] = attribute
            code.append(f"    v{i} = t{i}")
            continue
        names[f"a{i}"] = attribute
        names[f"s{i}"] = sub
        if kind in (_COMPUTED_LEAF, _COMPUTED):
            read = f"a{i}(value)"
        elif attribute.isidentifier() and not iskeyword(attribute):
            read = f"value.{attribute}"
        else:
            read = f"getattr(value, a{i})"
        code.append(f"    v{i} = {read}")
        if kind <= _LEAF:
            names[f"u{i}"] = unchanged
            code += [
                f"    if type(v{i}) is not u{i}:",
                f"        if v{i} is None:",
                "            raise Bail()" if field_non_null else "            pass",
                f"        elif v{i} is Undefined or isinstance(v{i}, Exception):",
                "            raise Bail()",
                "        else:",
                f"            v{i} = s{i}(v{i})",
                f"            if v{i} is None or v{i} is Undefined:",
                "                raise Bail()",
            ]
        elif kind == _PRELOADED:
            code += [
                f"    if v{i} is None:",
                "        raise Bail()",  # not preloaded: the resolver has to run
                f"    if v{i} is known_null:",
                f"        v{i} = None",
                f"    v{i} = s{i}(v{i}, tally)",
            ]
        else:  # plain or computed object or list
            code.append(f"    v{i} = s{i}(v{i}, tally)")
    entries = ", ".join(f"k{i}: v{i}" for i in range(len(steps)))
    code.append(f"    return {{{entries}}}")
    exec("\n".join(code), names)  # our own code: no text of the document is in it
    return cast("Completer", names["complete_object"])


def _type_level(object_type: GraphQLObjectType) -> bool:
    """Whether the type's `is_type_of` is Strawberry's own, whose answer depends on the
    value's class alone unless the value was cast (`strawberry.cast`)."""
    definition = (object_type.extensions or {}).get("strawberry-definition")
    return definition is not None and getattr(definition, "is_type_of", True) is None


def _variable_in(value: ValueNode) -> bool:
    if isinstance(value, VariableNode):
        return True
    return any(
        _variable_in(child)
        for child in (
            *getattr(value, "values", ()),
            *(field.value for field in getattr(value, "fields", ())),
        )
    )


def _directives_read_variables(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDetails],
    seen: set[str],
) -> bool:
    """Whether collecting this selection set (this level, through fragments) evaluates a
    directive argument that is a variable: then the fields it yields depend on the
    request, and its plan is not cached."""
    if selection_set is None:
        return False
    for selection in selection_set.selections:
        for directive in selection.directives or ():
            if any(_variable_in(argument.value) for argument in directive.arguments or ()):
                return True
        if isinstance(selection, InlineFragmentNode):
            if _directives_read_variables(selection.selection_set, fragments, seen):
                return True
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in seen:
                continue
            seen.add(name)
            details = fragments.get(name)
            if details is None or details.variable_signatures:
                return True  # fragment arguments: never cached
            if _directives_read_variables(details.definition.selection_set, fragments, seen):
                return True
    return False


class _Lru:
    """Plans shared by all requests: key → (the field nodes, plan). Holding the nodes keeps
    their ids (part of the key) from being reused by another document."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[tuple[Any, ...], tuple[Any, Completer | None]] = OrderedDict()

    def get(self, key: tuple[Any, ...]) -> tuple[Any, Completer | None] | None:
        entry = self.entries.get(key)
        if entry is not None:
            self.entries.move_to_end(key)
        return entry

    def put(self, key: tuple[Any, ...], nodes: Any, plan: Completer | None) -> None:
        self.entries[key] = (nodes, plan)
        if len(self.entries) > self.size:
            self.entries.popitem(last=False)

    def clear(self) -> None:
        self.entries.clear()


SHARED = _Lru(CACHE_SIZE)


class Compiler:
    """The plans of one execution: built from its schema, fragments and variables, taken
    from the shared cache when they do not depend on the variables."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDetails],
        variable_values: Any,
        operation: Any,
        known_null: object,
        shared: _Lru = SHARED,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variable_values = variable_values
        self.operation = operation
        self.known_null = known_null
        self.shared = shared
        self.local: dict[tuple[Any, int], tuple[FieldDetailsList, Completer | None]] = {}

    def plan(self, return_type: GraphQLOutputType, fdl: FieldDetailsList) -> Completer | None:
        """The completer of values of `return_type` selected by `fdl`; None when the
        subtree does not compile."""
        local_key = (return_type, id(fdl))
        found = self.local.get(local_key)
        if found is not None:
            return found[1]
        shareable = all(d.defer_usage is None and d.fragment_variable_values is None for d in fdl)
        shared_key = (return_type, *(id(d.node) for d in fdl))
        if shareable:
            entry = self.shared.get(shared_key)
            if entry is not None:
                self.local[local_key] = (fdl, entry[1])
                return entry[1]
        try:
            plan, cacheable = self._build(return_type, fdl)
        except RecursionError:
            plan, cacheable = None, False
        self.local[local_key] = (fdl, plan)
        if shareable and cacheable:
            self.shared.put(shared_key, tuple(d.node for d in fdl), plan)
        return plan

    def _build(
        self, return_type: GraphQLOutputType, fdl: FieldDetailsList, non_null: bool = False
    ) -> tuple[Completer | None, bool]:
        if isinstance(return_type, GraphQLNonNull):
            return self._build(return_type.of_type, fdl, non_null=True)
        if isinstance(return_type, GraphQLScalarType | GraphQLEnumType):
            return _leaf(return_type, non_null), True
        if isinstance(return_type, GraphQLList):
            if any(_has_directive(d.node, "stream") for d in fdl):
                return None, True
            item_type = return_type.of_type
            named = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
            if isinstance(named, GraphQLList):
                return None, True  # nested lists: rare, left to graphql-core
            item, cacheable = self._build(item_type, fdl)
            if item is None:
                return None, cacheable
            counted = isinstance(named, GraphQLObjectType)
            return _list(item, counted, non_null), cacheable
        if isinstance(return_type, GraphQLObjectType):
            return self._build_object(return_type, fdl, non_null)
        return None, True  # interfaces and unions: graphql-core resolves the type

    def _build_object(
        self, object_type: GraphQLObjectType, fdl: FieldDetailsList, non_null: bool
    ) -> tuple[Completer | None, bool]:
        cacheable = not any(
            _directives_read_variables(d.node.selection_set, self.fragments, set()) for d in fdl
        )
        grouped, defers, forbidden = collect_subfields(
            self.schema,
            self.fragments,
            self.variable_values,
            self.operation,
            object_type,
            fdl,
        )
        if defers or forbidden:
            return None, cacheable
        steps: list[Step] = []
        for key, sub_fdl in grouped.items():
            node: FieldNode = sub_fdl[0].node
            name = node.name.value
            if name == "__typename":
                steps.append((key, _TYPENAME, object_type.name, None, True, _NoPassThrough))
                continue
            field = object_type.fields.get(name)
            if field is None or field.args or any(d.node.arguments for d in sub_fdl):
                return None, cacheable
            extensions = field.extensions or {}
            preloaded = extensions.get(PRELOADED_ATTRIBUTE)
            plain = extensions.get(PLAIN_ATTRIBUTE)
            computed = extensions.get(COMPUTED_FUNCTION)
            field_type = field.type
            required = isinstance(field_type, GraphQLNonNull)
            named = field_type.of_type if required else field_type
            if isinstance(named, GraphQLScalarType | GraphQLEnumType) and (
                plain is not None or computed is not None
            ):
                kind, read = (_LEAF, plain) if plain is not None else (_COMPUTED_LEAF, computed)
                leaf = (key, kind, read, _coercion(named), required, _pass_through(named))
                steps.append(leaf)
                continue
            if plain is None and preloaded is None and computed is None:
                return None, cacheable
            sub, sub_cacheable = self._build(field_type, sub_fdl)
            cacheable = cacheable and sub_cacheable
            if sub is None:
                return None, cacheable
            if computed is not None:
                steps.append((key, _COMPUTED, computed, sub, required, _NoPassThrough))
                continue
            kind = _PRELOADED if preloaded is not None else _PLAIN
            steps.append((key, kind, preloaded or plain, sub, required, _NoPassThrough))
        return _object(object_type, steps, self.known_null, non_null), cacheable


def _has_directive(node: FieldNode, name: str) -> bool:
    return any(directive.name.value == name for directive in node.directives or ())


def run(plan: Completer, value: Any) -> tuple[Any, int] | None:
    """The completed value and how many list items of objects it holds, or None when the
    plan gave up (nothing happened: graphql-core completes the value instead)."""
    tally = [0]
    try:
        return plan(value, tally), tally[0]
    except Exception:  # Bail, or whatever graphql-core would report as a field error
        return None
