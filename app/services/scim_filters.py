"""SCIM filters (RFC 7644 §3.4.2.2) parsed by scim2-filter-parser and translated into
Tortoise queries; and the value filters of PATCH paths (`members[value eq "…"]`),
evaluated against the items of a multi-valued attribute.

Only the filters the service provider documents are translated (docs/guides/scim.md); any
other parses but answers 400 invalidFilter, never a full scan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scim2_filter_parser import ast
from scim2_filter_parser.lexer import SCIMLexer
from scim2_filter_parser.parser import SCIMParser, SCIMParserError
from scim2_models import InvalidFilterException, InvalidPathException
from tortoise.expressions import Q

from app.ids import pk_of

MAX_FILTER = 1000
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:user"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:group"


def parse(text: str) -> ast.Filter:
    """The parsed filter, or 400 invalidFilter."""
    if len(text) > MAX_FILTER:
        raise InvalidFilterException(detail=f"Filters are at most {MAX_FILTER} characters.")
    try:
        tree = SCIMParser().parse(SCIMLexer().tokenize(text))
    except (SCIMParserError, ValueError, IndexError, AttributeError) as exc:
        raise InvalidFilterException(detail=f"The filter does not parse: {exc}") from None
    if not isinstance(tree, ast.Filter):
        raise InvalidFilterException(detail="The filter does not parse.")
    return tree


def _unsupported(what: str) -> InvalidFilterException:
    return InvalidFilterException(detail=f"Unsupported filter: {what}.")


def _attribute(path: ast.AttrPath, urn: str) -> str:
    """`name` or `name.sub`, lower-cased, with the core schema's URN prefix allowed."""
    if path.uri is not None and path.uri.lower() != urn:
        raise _unsupported(f"attributes of {path.uri}")
    if not isinstance(path.attr_name, str):
        raise _unsupported("this value filter")
    name = path.attr_name.lower()
    if path.sub_attr is not None:
        name = f"{name}.{path.sub_attr.value.lower()}"
    return name


def _value(expr: ast.AttrExpr) -> str:
    if expr.comp_value is None or not isinstance(expr.comp_value.value, str):
        raise _unsupported(f"'{expr.value}' without a string value")
    return expr.comp_value.value


def _work_email(path: ast.AttrPath) -> bool:
    """`emails[type eq "work"].value`."""
    inner = path.attr_name
    if not isinstance(inner, ast.Filter) or inner.negated:
        return False
    namespace = inner.namespace
    if not isinstance(namespace, ast.AttrPath) or namespace.attr_name.lower() != "emails":
        return False
    if namespace.sub_attr is None or namespace.sub_attr.value.lower() != "value":
        return False
    condition = inner.expr.expr if isinstance(inner.expr, ast.Filter) else inner.expr
    return (
        isinstance(condition, ast.AttrExpr)
        and condition.value.lower() == "eq"
        and isinstance(condition.attr_path.attr_name, str)
        and condition.attr_path.attr_name.lower() == "type"
        and condition.comp_value is not None
        and str(condition.comp_value.value).lower() == "work"
    )


Leaf = Callable[[str, str, str], Q]


def _translate(node: Any, leaf: Leaf, urn: str) -> Q:
    if isinstance(node, ast.Filter):
        if node.namespace is not None:
            raise _unsupported("value filters outside a path")
        query = _translate(node.expr, leaf, urn)
        return ~query if node.negated else query
    if isinstance(node, ast.LogExpr):
        if node.op.lower() != "and":
            raise _unsupported(f"'{node.op}'")
        return _translate(node.expr1, leaf, urn) & _translate(node.expr2, leaf, urn)
    if isinstance(node, ast.AttrExpr):
        operator = node.value.lower()
        if _work_email(node.attr_path):
            return leaf("emails.value", operator, _value(node))
        return leaf(_attribute(node.attr_path, urn), operator, _value(node))
    raise _unsupported(type(node).__name__)


def _user_leaf(attribute: str, operator: str, value: str) -> Q:
    if attribute == "username":
        lowered = value.lower()
        by_name = {"eq": "iexact", "sw": "istartswith", "co": "icontains"}.get(operator)
        if by_name is None:
            raise _unsupported(f"userName {operator}")
        return Q(**{f"scim_user_name__{by_name}": value}) | Q(
            Q(scim_user_name=None), Q(**{f"email__{by_name}": lowered})
        )
    if operator != "eq":
        raise _unsupported(f"{attribute} {operator}")
    if attribute == "externalid":
        return Q(external_id=value)
    if attribute == "emails.value" or attribute == "emails":
        return Q(email=value.lower())
    if attribute == "id":
        return Q(id=pk_of(value, "Member") or 0)
    raise _unsupported(f"{attribute} {operator}")


def _group_leaf(attribute: str, operator: str, value: str) -> Q:
    if operator != "eq":
        raise _unsupported(f"{attribute} {operator}")
    if attribute == "displayname":
        return Q(name__iexact=value)
    if attribute == "externalid":
        return Q(external_id=value)
    if attribute == "id":
        return Q(id=pk_of(value, "Team") or 0)
    raise _unsupported(f"{attribute} {operator}")


def user_query(text: str) -> Q:
    """`eq` on userName, externalId, emails.value, emails[type eq "work"].value; `sw`
    and `co` on userName; `and`."""
    return _translate(parse(text), _user_leaf, USER_URN)


def group_query(text: str) -> Q:
    """`eq` on displayName and externalId; `and`."""
    return _translate(parse(text), _group_leaf, GROUP_URN)


# PATCH paths --------------------------------------------------------------------------


@dataclass(frozen=True)
class PatchPath:
    """`attribute[.sub]` or `attribute[filter][.sub]`, names lower-cased."""

    attribute: str
    sub: str | None = None
    condition: Any = None  # the value filter's AST, if any

    def matches(self, item: Any) -> bool:
        return self.condition is None or (isinstance(item, dict) and _matches(self.condition, item))


def _matches(node: Any, item: dict[str, Any]) -> bool:
    if isinstance(node, ast.Filter):
        found = _matches(node.expr, item)
        return not found if node.negated else found
    if isinstance(node, ast.LogExpr):
        first, second = _matches(node.expr1, item), _matches(node.expr2, item)
        return first and second if node.op.lower() == "and" else first or second
    if isinstance(node, ast.AttrExpr):
        if not isinstance(node.attr_path.attr_name, str):
            raise InvalidPathException(detail="Nested value filters are not supported.")
        key = node.attr_path.attr_name.lower()
        actual = next((v for k, v in item.items() if k.lower() == key), None)
        operator = node.value.lower()
        if operator == "pr":
            return actual is not None
        expected = node.comp_value.value if node.comp_value is not None else None
        left: str | None = str(actual).lower() if actual is not None else None
        right: str | None = str(expected).lower() if expected is not None else None
        if operator == "eq":
            return left == right
        if operator == "ne":
            return left != right
        if left is None or right is None:
            return False
        if operator == "sw":
            return left.startswith(right)
        if operator == "ew":
            return left.endswith(right)
        if operator == "co":
            return right in left
        raise InvalidPathException(detail=f"Unsupported operator '{operator}' in a path.")
    raise InvalidPathException(detail="Unsupported path.")


def parse_path(path: str, urn: str) -> PatchPath:
    """A PATCH `path`: plain names are split here; value filters go through the parser."""
    path = path.strip()
    if not path or len(path) > MAX_FILTER:
        raise InvalidPathException(detail="The path is empty or too long.")
    if path.lower().startswith(urn + ":"):
        path = path[len(urn) + 1 :]
    if "[" not in path:
        head, _, sub = path.partition(".")
        if not head or (sub and "." in sub):
            raise InvalidPathException(detail=f"Unsupported path '{path}'.")
        return PatchPath(head.lower(), sub.lower() or None)
    text = path if path.endswith("]") else f"{path} pr"
    try:
        tree = parse(text)
    except InvalidFilterException:
        raise InvalidPathException(detail=f"The path '{path}' does not parse.") from None
    node = tree.expr
    if isinstance(node, ast.AttrExpr) and isinstance(node.attr_path.attr_name, ast.Filter):
        node = node.attr_path.attr_name  # `attr[filter].sub pr`
    if not isinstance(node, ast.Filter) or not isinstance(node.namespace, ast.AttrPath):
        raise InvalidPathException(detail=f"Unsupported path '{path}'.")
    namespace = node.namespace
    sub_name = namespace.sub_attr.value.lower() if namespace.sub_attr is not None else None
    return PatchPath(str(namespace.attr_name).lower(), sub_name, node.expr)
