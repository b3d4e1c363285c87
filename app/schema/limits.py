"""How much a query may ask for: depth, static cost, and list items completed.

Three limits, from cheapest to last resort:

- **Depth** (validation): more than `MAX_DEPTH` levels of fields is refused. Levels are
  counted as the contract says: `{ me { id } }` is 2 levels deep. Introspection fields
  (`__schema`, `__type`, `__typename`) and what is below them do not count.
- **Cost** (validation, and again once the variables are known): GitHub's node-limit
  method. Each connection field (`members`, `invitations`, …) yields its page size,
  `first` or `last` (20 when neither is given, or the argument's default); every list
  that is not paged (`assignments`, `projectAssignments`, `domains`, …) counts at
  `LIST_SIZE`, its largest plausible size. A field's objects are multiplied by those of
  every list above it, and the cost is the sum over all object fields: how many objects
  the query may make the server build. Above `MAX_COST` the request is refused before
  anything runs, with `QUERY_TOO_COMPLEX` and `extensions.cost`, `extensions.maxCost`.
  Introspection is free. Counts stop at `COST_CEILING` (10**15).

  Validation is cached per document (`ValidationCache`), so the validation rule cannot
  see variables: there a `first`/`last` given by a variable counts as 0, a lower bound,
  and only what the document alone fixes can refuse it. `QueryCostWithVariables` (an
  extension placed after `ValidationCache`) counts again with the request's variable
  values (a variable not sent counts as its default in the operation, else as the
  field's default page) before execution, for documents whose validation passed and
  that declare variables. A refusal looks the same on both paths.
- **List items** (execution): `LimitedExecution` counts the items of every list of
  objects it completes; past `MAX_LIST_ITEMS` in one query the answer is `data: null`
  with one `QUERY_TOO_COMPLEX` error (`extensions.maxItems`), and nothing below runs.
  The cost is an estimate, this is the real count: a list that is longer than
  `LIST_SIZE` cannot make the server build more than this.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    ValidationRule,
    ValueNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    is_composite_type,
    is_introspection_type,
    is_leaf_type,
)
from graphql.language import SKIP, VisitorAction
from strawberry.extensions import SchemaExtension

from app.resolvers.paging import DEFAULT_PAGE, MAX_PAGE

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
MAX_DEPTH = 15
# Objects one query may make the server build, by the static count.
MAX_COST = 50_000
# What an unpaged list counts for in the static count.
LIST_SIZE = MAX_PAGE
# Counts stop here: a number any JSON client reads exactly (below 2**53).
COST_CEILING = 10**15
# Items of lists of objects one query may complete, counted while it runs.
MAX_LIST_ITEMS = 10_000
# A field declared with `metadata={LIST_SIZE_HINT: n}` counts its unpaged list at n rather
# than LIST_SIZE: for lists whose plausible size is far smaller (an effective role's
# sources); MAX_LIST_ITEMS still bounds what actually runs.
LIST_SIZE_HINT = "roster-list-size"
# The paging arguments that set a connection's page size.
PAGE_ARGUMENTS = ("first", "last")


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def _unwrap(type_: GraphQLOutputType) -> tuple[int, GraphQLNamedType]:
    """How many lists a type nests, and its named type."""
    lists = 0
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            lists += 1
        type_ = type_.of_type
    return lists, type_


def is_connection(type_: GraphQLNamedType) -> bool:
    """A Relay connection: an object with `edges` and `pageInfo`."""
    return (
        isinstance(type_, GraphQLObjectType)
        and "edges" in type_.fields
        and "pageInfo" in type_.fields
    )


def _int(text: str) -> int:
    """An integer literal, kept within 0..MAX_PAGE (the resolver refuses the rest before it
    fetches anything; a 4,000-digit literal must not cost a conversion)."""
    if len(text.lstrip("-")) > 4:
        return 0 if text.startswith("-") else MAX_PAGE
    return min(max(int(text), 0), MAX_PAGE)


class _Walk:
    """One count over one document, with fragments memoized: the count is linear in the
    multiplier, so a fragment spread a thousand times is counted once per page size."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any] | None,
        defaults: Mapping[str, ValueNode | None],
    ):
        self.schema = schema
        self.fragments = fragments
        # None: not known (validation); a `first`/`last` variable then counts as 0.
        self.variables = variables
        self.defaults = defaults
        self.costs: dict[tuple[str, int | None], int] = {}
        self.depths: dict[str, int] = {}
        self.active: set[str] = set()

    # Cost.

    def cost(self, node: SelectionSetNode | None, parent: Any, page: int | None) -> int:
        """What the selections under `parent` cost, per object of it. `page` is set when
        `parent` is a connection: its `edges` and `nodes` hold that many."""
        if node is None:
            return 0
        total = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                total += self._field_cost(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.cost(selection.selection_set, inner, page)
            elif isinstance(selection, FragmentSpreadNode):
                total += self._fragment_cost(selection.name.value, page)
        return min(total, COST_CEILING)

    def _fragment_cost(self, name: str, page: int | None) -> int:
        key = (name, page)
        if key not in self.costs:
            fragment = self.fragments.get(name)
            if fragment is None or name in self.active:  # other rules report these
                return 0
            self.active.add(name)
            parent = self.schema.get_type(fragment.type_condition.name.value)
            self.costs[key] = self.cost(fragment.selection_set, parent, page)
            self.active.discard(name)
        return self.costs[key]

    def _field_cost(self, node: FieldNode, parent: Any, page: int | None) -> int:
        definition = _definition(parent, node)
        if definition is None:
            return 0
        lists, named = _unwrap(definition.type)
        if is_leaf_type(named) or node.selection_set is None:
            return 0
        if is_connection(named):
            # The connection object, and its page below.
            page_cost = self.cost(node.selection_set, named, self.page_size(node, definition))
            return min(1 + page_cost, COST_CEILING)
        if page is not None and node.name.value in ("edges", "nodes"):
            count = page
        else:
            count = _list_size(definition) ** lists
        return min(count * (1 + self.cost(node.selection_set, named, None)), COST_CEILING)

    def page_size(self, node: FieldNode, definition: GraphQLField) -> int:
        given = [
            size
            for argument in node.arguments or ()
            if argument.name.value in PAGE_ARGUMENTS
            and (size := self._size(argument.value)) is not None
        ]
        if given:
            return max(given)
        for name in PAGE_ARGUMENTS:
            argument = definition.args.get(name)
            default = argument.default_value if argument is not None else None
            if isinstance(default, int) and not isinstance(default, bool):
                return min(max(default, 0), MAX_PAGE)
        return DEFAULT_PAGE

    def _size(self, value: ValueNode | None) -> int | None:
        """A `first`/`last` value; None when null or not given (the default applies)."""
        if isinstance(value, IntValueNode):
            return _int(value.value)
        if isinstance(value, VariableNode):
            name = value.name.value
            if self.variables is None:
                return 0  # not known before execution: a lower bound
            if name in self.variables:
                given = self.variables[name]
                if given is None:
                    return None
                if isinstance(given, int) and not isinstance(given, bool):
                    return min(max(given, 0), MAX_PAGE)
                return 0  # not an Int: variable coercion refuses it
            return self._size(self.defaults.get(name))
        return None

    # Depth.

    def depth(self, node: SelectionSetNode | None, parent: Any) -> int:
        """Levels of fields below `parent`, introspection fields not counted."""
        if node is None:
            return 0
        deepest = 0
        for selection in node.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value.startswith("__"):
                    continue
                definition = _definition(parent, selection)
                inner = get_named_type(definition.type) if definition is not None else None
                deepest = max(deepest, 1 + self.depth(selection.selection_set, inner))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                deepest = max(deepest, self.depth(selection.selection_set, inner))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self._fragment_depth(selection.name.value))
        return deepest

    def _fragment_depth(self, name: str) -> int:
        if name not in self.depths:
            fragment = self.fragments.get(name)
            if fragment is None or name in self.active:
                return 0
            self.active.add(name)
            parent = self.schema.get_type(fragment.type_condition.name.value)
            self.depths[name] = self.depth(fragment.selection_set, parent)
            self.active.discard(name)
        return self.depths[name]


def _list_size(definition: GraphQLField) -> int:
    declared = (definition.extensions or {}).get("strawberry-definition")
    hint = (getattr(declared, "metadata", None) or {}).get(LIST_SIZE_HINT)
    return hint if isinstance(hint, int) and 0 <= hint <= LIST_SIZE else LIST_SIZE


def _definition(parent: Any, node: FieldNode) -> GraphQLField | None:
    """The field's definition; None for introspection fields and unknown fields (which
    the standard rules report)."""
    name = node.name.value
    if name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
        return None
    fields: dict[str, GraphQLField] = parent.fields
    return fields.get(name)


def _root(schema: GraphQLSchema, operation: OperationDefinitionNode) -> GraphQLObjectType | None:
    return schema.get_root_type(operation.operation)


def _defaults(operation: OperationDefinitionNode) -> dict[str, ValueNode | None]:
    return {d.variable.name.value: d.default_value for d in operation.variable_definitions or ()}


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any] | None,
) -> int:
    """The objects `operation` may make the server build; `variables` None when not known
    (a `first`/`last` variable then counts as 0)."""
    walk = _Walk(schema, _fragments(document), variables, _defaults(operation))
    return walk.cost(operation.selection_set, _root(schema, operation), None)


def operation_depth(
    schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode
) -> int:
    walk = _Walk(schema, _fragments(document), None, {})
    return walk.depth(operation.selection_set, _root(schema, operation))


def too_complex(cost: int, node: OperationDefinitionNode | None = None) -> GraphQLError:
    return GraphQLError(
        f"This query may return about {cost} objects; at most {MAX_COST} are allowed. Ask "
        "for smaller pages (`first`/`last`) or fewer nested lists.",
        node,
        extensions={"code": QUERY_TOO_COMPLEX, "cost": cost, "maxCost": MAX_COST},
    )


class DepthLimit(ValidationRule):
    """Refuses an operation more than MAX_DEPTH levels of fields deep."""

    def enter_document(self, node: DocumentNode, *_args: Any) -> VisitorAction:
        schema = self.context.schema
        for definition in node.definitions:
            if isinstance(definition, OperationDefinitionNode):
                depth = operation_depth(schema, node, definition)
                if depth > MAX_DEPTH:
                    self.report_error(
                        GraphQLError(
                            f"The query's depth is {depth} levels; at most {MAX_DEPTH} are "
                            "allowed.",
                            definition,
                            extensions={
                                "code": QUERY_TOO_COMPLEX,
                                "depth": depth,
                                "maxDepth": MAX_DEPTH,
                            },
                        )
                    )
        return SKIP


class CostLimit(ValidationRule):
    """Refuses an operation whose static cost is over MAX_COST (variables unknown)."""

    def enter_document(self, node: DocumentNode, *_args: Any) -> VisitorAction:
        schema = self.context.schema
        for definition in node.definitions:
            if isinstance(definition, OperationDefinitionNode):
                cost = operation_cost(schema, node, definition, None)
                if cost > MAX_COST:
                    self.report_error(too_complex(cost, definition))
        return SKIP


# Built once at import: the validation cache is keyed by the rule classes.
LIMIT_RULES: list[type[ValidationRule]] = [DepthLimit, CostLimit]


def _as_the_walk_sees(value: Any) -> object:
    """What a variable's value means to the cost (`_Walk._page_size`): null, a page size
    (clamped), or not an Int."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, 0), MAX_PAGE)
    return "not an Int"


# Costs with variables, per (document, operation, variables as the walk sees them): a
# document is sent again and again with the same page size. Each entry holds its document
# so that the document's id (part of the key) is not reused by another.
_COSTS: OrderedDict[tuple[Any, ...], tuple[DocumentNode, int]] = OrderedDict()
_COSTS_SIZE = 1024
_COSTS_VARIABLES = 32


def cost_with_variables(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
) -> int:
    """`operation_cost` with the request's variables, remembered (see _COSTS)."""
    if len(variables) > _COSTS_VARIABLES:
        return operation_cost(schema, document, operation, variables)
    seen = sorted((name, repr(_as_the_walk_sees(value))) for name, value in variables.items())
    key = (id(schema), id(document), id(operation), *seen)
    found = _COSTS.get(key)
    if found is not None:
        _COSTS.move_to_end(key)
        return found[1]
    cost = operation_cost(schema, document, operation, variables)
    _COSTS[key] = (document, cost)
    if len(_COSTS) > _COSTS_SIZE:
        _COSTS.popitem(last=False)
    return cost


class QueryCostWithVariables(SchemaExtension):
    """The cost counted again with the request's variables, before execution. Place it
    after `ValidationCache` in the schema's extensions: it reads what validation found."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # An empty list: validation ran (cached or not) and passed.
        if document is not None and context.pre_execution_errors == []:
            operation = get_operation_ast(document, context.operation_name)
            if operation is not None and operation.variable_definitions:
                schema = context.schema._schema
                cost = cost_with_variables(schema, document, operation, context.variables or {})
                if cost > MAX_COST:
                    # A new list: the cached one is shared by every request of the document.
                    context.pre_execution_errors = [too_complex(cost, operation)]
        yield

    def on_execute(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if not isinstance(result, ExecutionResult) or not result.errors:
            return
        for error in result.errors:
            if (error.extensions or {}).get("maxItems") is not None:
                # One error instead of one per list left uncompleted; no partial data
                # (the lists it cut short would read as empty or null).
                result.data = None
                result.errors = [error]
                return


class ListItemCounter:
    """Counts the items of lists of objects a query completes (see LimitedExecution)."""

    def __init__(self, operation: OperationDefinitionNode) -> None:
        self.enabled = operation.operation == OperationType.QUERY
        self.items = 0

    def take(self, items: int) -> bool:
        """Count `items` a compiled plan completed; False (nothing counted) when that
        passes the limit: graphql-core then completes them and reports where."""
        if not self.enabled or not items:
            return True
        if self.items + items > MAX_LIST_ITEMS:
            return False
        self.items += items
        return True

    def add(self, item_type: GraphQLOutputType, result: Any) -> None:
        if not self.enabled or not isinstance(result, list | tuple):
            return
        named = get_named_type(item_type)
        if not is_composite_type(named) or is_introspection_type(named):
            return
        self.items += len(result)
        if self.items > MAX_LIST_ITEMS:
            raise GraphQLError(
                f"This query returns more than {MAX_LIST_ITEMS} list items; ask for smaller "
                "pages (`first`/`last`) or fewer nested lists.",
                extensions={"code": QUERY_TOO_COMPLEX, "maxItems": MAX_LIST_ITEMS},
            )
