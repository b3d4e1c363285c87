"""A faster path through graphql-core for plain leaf fields.

Most fields of a list page are attributes read off an object (`name`,
`role`, `joinedAt`). graphql-core builds a `GraphQLResolveInfo`, calls
Strawberry's default resolver and completes the value through its generic
path for every one of them: most of a large page's cost. For a field with no
resolver, no arguments and a scalar or enum type, reading the attribute and
serializing it is all that path does, so this execution context does just
that, and the same for a computed leaf (a synchronous resolver of `self` alone, called
with the object); everything else (objects, lists, resolvers, nulls in non-null fields,
errors) goes the usual way.

Below that, whole subtrees made only of plain, preloaded and computed fields are
completed by compiled plans (app.schema.compiled), which fall back to graphql-core for
anything else.

It also counts the items of the lists of objects a query completes and stops past
app.schema.limits.MAX_LIST_ITEMS (see that module).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.schema import compiled
from app.schema.compiled import (
    COMPUTED_FUNCTION,
    PLAIN_ATTRIBUTE,
    PRELOADED_ATTRIBUTE,
    Compiler,
    run,
)
from app.schema.limits import ListItemCounter

_FAST = "roster-fast-leaf"


PRELOADED = "preloaded"
# A preloaded answer that is null (None means "not preloaded").
KNOWN_NULL = object()
_NOT_COMPILED = object()


def _preloaded_first(attribute: str, resolve: Any) -> Any:
    def resolve_preloaded(source: Any, info: Any, **kwargs: Any) -> Any:
        value = getattr(source, attribute, None)
        if value is None:
            return resolve(source, info, **kwargs)
        return None if value is KNOWN_NULL else value

    return resolve_preloaded


def _computed(definition: Any, field: GraphQLField) -> bool:
    """A synchronous resolver of `self` alone, with no extension or permission, that
    Strawberry calls through its plain resolver wrapper (no exception handler)."""
    resolver = definition.base_resolver
    if resolver is None or resolver.is_async or resolver.arguments or field.args:
        return False
    if definition.extensions or definition.permission_classes:
        return False
    if getattr(field.resolve, "__name__", "") != "_resolver":
        return False
    wanted = {parameter.name for parameter in resolver.reserved_parameters.values() if parameter}
    return wanted == {"self"}


def mark_fast_fields(schema: GraphQLSchema, default_resolver: Any = getattr) -> int:
    """Tag every plain or computed leaf field with (how to read it, leaf type), and let
    fields declared with `metadata={"preloaded": attribute}` return that attribute when a
    list resolver filled it, without Strawberry's resolver machinery. Also tags, for
    compiled plans, every field Strawberry resolves by reading an attribute
    (PLAIN_ATTRIBUTE), every preloaded one (PRELOADED_ATTRIBUTE) and every computed one
    (COMPUTED_FUNCTION). Returns how many leaves."""
    count = 0
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        for field in graphql_type.fields.values():
            definition = (field.extensions or {}).get("strawberry-definition")
            attribute = definition is not None and (definition.metadata or {}).get(PRELOADED)
            if attribute:
                field.resolve = _preloaded_first(attribute, field.resolve)
                field.extensions = {**field.extensions, PRELOADED_ATTRIBUTE: attribute}
                continue
            leaf = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
            is_leaf = isinstance(leaf, GraphQLScalarType | GraphQLEnumType)
            if definition is not None and _computed(definition, field):
                function = definition.base_resolver.wrapped_func
                field.extensions = {**field.extensions, COMPUTED_FUNCTION: function}
                if is_leaf:
                    field.extensions[_FAST] = (function, leaf)
                    count += 1
                continue
            if (
                definition is not None
                and definition.is_basic_field
                and not definition.extensions
                and not field.args
                and default_resolver is getattr
                and getattr(field.resolve, "__name__", "") == "_get_basic_result"
            ):
                name = definition.python_name
                field.extensions = {**field.extensions, PLAIN_ATTRIBUTE: name}
                if is_leaf:
                    field.extensions[_FAST] = (attrgetter(name), leaf)
                    count += 1
    return count


class FastLeafExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.list_items = ListItemCounter(self.operation)
        # Schema extensions with a `resolve` hook wrap every resolver: plans would skip it.
        middleware = self.middleware_manager
        self.compiler = (
            None
            if not compiled.ENABLED or (middleware is not None and middleware.middlewares)
            else Compiler(
                self.schema, self.fragments, self.variable_values, self.operation, KNOWN_NULL
            )
        )

    def _compiled(self, return_type: Any, field_details_list: Any, result: Any) -> Any:
        """The value completed by the subtree's compiled plan, or _NOT_COMPILED."""
        if self.compiler is None:
            return _NOT_COMPILED
        plan = self.compiler.plan(return_type, field_details_list)
        if plan is None:
            return _NOT_COMPILED
        done = run(plan, result)
        if done is None or not self.list_items.take(done[1]):
            return _NOT_COMPILED
        return done[0]

    def complete_object_value(
        self,
        return_type: GraphQLObjectType,
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Any,
        result: Any,
        position_context: Any = None,
    ) -> Any:
        completed = self._compiled(return_type, field_details_list, result)
        if completed is not _NOT_COMPILED:
            return completed
        return super().complete_object_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_details_list: Any,
        info: GraphQLResolveInfo[Any],
        path: Any,
        result: Any,
        position_context: Any = None,
    ) -> Any:
        completed = self._compiled(return_type, field_details_list, result)
        if completed is not _NOT_COMPILED:
            return completed
        self.list_items.add(return_type.of_type, result)
        return super().complete_list_value(
            return_type, field_details_list, info, path, result, position_context
        )

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any = None,
    ) -> Any:
        node = field_details_list[0].node
        field = parent_type.fields.get(node.name.value)
        fast = field.extensions.get(_FAST) if field is not None and field.extensions else None
        if fast is not None and not node.arguments:
            try:
                value = fast[0](source)
                serialized = None if value is None else fast[1].serialize(value)
            except Exception:  # graphql-core's path reports it
                serialized = None
            if serialized is not None:
                return serialized
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )
