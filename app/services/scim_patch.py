"""SCIM resources as plain state, and PATCH (RFC 7644 §3.5.2) applied to that state, in
the forms identity providers send:

- `op` compared ignoring case (Entra sends "Replace", "Add", "Remove");
- a path-less `replace`/`add` whose value holds attribute names, dotted sub-attributes
  ("name.givenName"), URN-prefixed names, or value paths (`emails[type eq "work"].value`);
- booleans as JSON booleans or the strings "True"/"False" (any case);
- paths with value filters (`members[value eq "…"]`, `emails[type eq "work"].value`),
  parsed by scim2-filter-parser (app/services/scim_filters.py).

Attribute names compare ignoring case and come out in their canonical spelling.
Attributes Roster does not keep (title, phoneNumbers, extension schemas, …) are accepted
and ignored, as providers send whatever their mappings hold. A service applies the
changed state to its rows under its lock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from scim2_filter_parser import ast
from scim2_models import InvalidPathException, InvalidValueException, NoTargetException

from app.services.scim_filters import PatchPath, parse_path

MAX_OPERATIONS = 1000
MAX_STRING = 1024


@dataclass(frozen=True)
class Shape:
    """A resource type's attributes: `simple` ones hold one value, `complex` ones hold
    sub-attributes (one object), `multi` ones a list of objects with those sub-attributes;
    `booleans` are the attributes and sub-attributes coerced to bool."""

    urn: str
    simple: tuple[str, ...]
    complex: dict[str, tuple[str, ...]]
    multi: dict[str, tuple[str, ...]]
    booleans: frozenset[str]
    required: frozenset[str]

    def canonical(self, name: str) -> str | None:
        for known in (*self.simple, *self.complex, *self.multi):
            if known.lower() == name.lower():
                return known
        return None

    def sub_canonical(self, attribute: str, name: str) -> str | None:
        subs = self.complex.get(attribute) or self.multi.get(attribute) or ()
        return next((s for s in subs if s.lower() == name.lower()), None)


def coerce_bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidValueException(detail=f"{field} must be true or false.")


def _string(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidValueException(detail=f"{field} must be a string.")
    text = str(value)
    if len(text) > MAX_STRING or "\x00" in text:
        raise InvalidValueException(detail=f"{field} is too long or holds a NUL.")
    return text


def _scalar(shape: Shape, name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in shape.booleans:
        return coerce_bool(value, name)
    return _string(value, name)


def clean_object(shape: Shape, attribute: str, value: Any) -> dict[str, Any]:
    """One complex value (or list item) with canonical, known sub-attributes."""
    if not isinstance(value, dict):
        raise InvalidValueException(detail=f"{attribute} must be an object.")
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        sub = shape.sub_canonical(attribute, str(key))
        if sub is not None:
            scalar = _scalar(shape, f"{attribute}.{sub}", item)
            if scalar is not None:
                cleaned[sub] = scalar
    return cleaned


def clean_list(shape: Shape, attribute: str, value: Any, limit: int) -> list[dict[str, Any]]:
    items = value if isinstance(value, list) else [value]
    if len(items) > limit:
        raise InvalidValueException(detail=f"At most {limit} {attribute}.")
    cleaned = [clean_object(shape, attribute, item) for item in items]
    return [item for item in cleaned if item]


def clean_value(shape: Shape, attribute: str, value: Any, limit: int) -> Any:
    if attribute in shape.multi:
        return None if value is None else clean_list(shape, attribute, value, limit)
    if attribute in shape.complex:
        return None if value is None else clean_object(shape, attribute, value) or None
    return _scalar(shape, attribute, value)


def from_body(shape: Shape, body: dict[str, Any], limit: int) -> dict[str, Any]:
    """The state a POST or PUT body describes: known attributes, canonical names."""
    state: dict[str, Any] = {}
    prefix = shape.urn.lower() + ":"
    for key, value in body.items():
        name = str(key)
        if name.lower().startswith(prefix):
            name = name[len(prefix) :]
        attribute = shape.canonical(name)
        if attribute is not None:
            state[attribute] = clean_value(shape, attribute, value, limit)
    return state


def _merge(current: Any, update: dict[str, Any]) -> dict[str, Any] | None:
    merged = {**(current or {}), **update}
    return merged or None


def _condition_pairs(path: PatchPath) -> dict[str, Any]:
    """`type eq "work"` → {"type": "work"}: what a new item gets when no item matched."""
    node = path.condition
    while isinstance(node, ast.Filter):
        node = node.expr
    if (
        isinstance(node, ast.AttrExpr)
        and node.value.lower() == "eq"
        and isinstance(node.attr_path.attr_name, str)
        and node.comp_value is not None
    ):
        return {node.attr_path.attr_name: node.comp_value.value}
    return {}


def _apply_multi(
    shape: Shape, state: dict[str, Any], op: str, path: PatchPath, value: Any, limit: int
) -> None:
    attribute = shape.canonical(path.attribute)
    assert attribute is not None
    items: list[dict[str, Any]] = list(state.get(attribute) or [])
    sub = shape.sub_canonical(attribute, path.sub) if path.sub else None
    if path.sub and sub is None:
        return  # a sub-attribute Roster does not keep
    if path.condition is None and sub is None:
        if op == "remove":
            if value is None:
                items = []
            else:  # Entra: remove with a list of the values to take out
                gone = {
                    str(item.get("value")).lower()
                    for item in clean_list(shape, attribute, value, limit)
                }
                items = [i for i in items if str(i.get("value")).lower() not in gone]
        elif op == "add":
            added = clean_list(shape, attribute, value, limit)
            known = {str(i.get("value")).lower() for i in items}
            items += [i for i in added if str(i.get("value")).lower() not in known]
        else:
            items = clean_list(shape, attribute, value, limit)
    elif path.condition is None:
        assert sub is not None
        scalar = _scalar(shape, f"{attribute}.{sub}", value)
        if op == "remove":
            for item in items:
                item.pop(sub, None)
        elif items:
            target = next((i for i in items if i.get("primary")), items[0])
            target[sub] = scalar
        else:
            items.append({sub: scalar})
    else:
        matched = [i for i in items if path.matches(i)]
        if op == "remove":
            if sub is None:
                items = [i for i in items if i not in matched]
            else:
                for item in matched:
                    item.pop(sub, None)
        elif sub is not None:
            scalar = _scalar(shape, f"{attribute}.{sub}", value)
            if not matched:
                new = clean_object(shape, attribute, _condition_pairs(path))
                items.append({**new, sub: scalar})
            for item in matched:
                item[sub] = scalar
        else:
            update = clean_object(shape, attribute, value)
            if not matched:
                raise NoTargetException(detail=f"No {attribute} matches the path's filter.")
            items = [{**i, **update} if i in matched else i for i in items]
    items = [i for i in items if i]
    if len(items) > limit:
        raise InvalidValueException(detail=f"At most {limit} {attribute}.")
    state[attribute] = items or None


def apply_one(
    shape: Shape, state: dict[str, Any], op: str, raw_path: str, value: Any, limit: int
) -> None:
    lowered = raw_path.strip().lower()
    if lowered.startswith("urn:") and not lowered.startswith(shape.urn.lower() + ":"):
        return  # an extension schema's attribute: not kept
    path = parse_path(raw_path, shape.urn.lower())
    attribute = shape.canonical(path.attribute)
    if attribute is None:
        return  # an attribute Roster does not keep
    if op == "remove" and attribute in shape.required and not path.sub:
        raise InvalidValueException(detail=f"{attribute} is required and cannot be removed.")
    if attribute in shape.multi:
        _apply_multi(shape, state, op, path, value, limit)
        return
    if path.condition is not None:
        raise InvalidPathException(detail=f"{attribute} is not multi-valued.")
    if attribute in shape.complex:
        if path.sub:
            sub = shape.sub_canonical(attribute, path.sub)
            if sub is None:
                return
            current = dict(state.get(attribute) or {})
            if op == "remove":
                current.pop(sub, None)
            else:
                current[sub] = _scalar(shape, f"{attribute}.{sub}", value)
            state[attribute] = {k: v for k, v in current.items() if v is not None} or None
        elif op == "remove":
            state[attribute] = None
        else:
            state[attribute] = _merge(state.get(attribute), clean_object(shape, attribute, value))
        return
    if path.sub:
        raise InvalidPathException(detail=f"{attribute} has no sub-attributes.")
    state[attribute] = None if op == "remove" else _scalar(shape, attribute, value)


def apply(shape: Shape, state: dict[str, Any], body: dict[str, Any], limit: int) -> dict[str, Any]:
    """The state after the PatchOp `body`, or a SCIM error (400 invalidSyntax,
    invalidPath, invalidValue, noTarget); `state` itself is left as it was."""
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list) or not operations:
        raise InvalidValueException(detail="A PatchOp needs a non-empty Operations list.")
    if len(operations) > MAX_OPERATIONS:
        raise InvalidValueException(detail=f"At most {MAX_OPERATIONS} operations.")
    new = {
        k: ([dict(i) for i in v] if isinstance(v, list) else dict(v) if isinstance(v, dict) else v)
        for k, v in state.items()
    }
    for operation in operations:
        if not isinstance(operation, dict):
            raise InvalidValueException(detail="Each operation is an object.")
        fields = {str(k).lower(): v for k, v in operation.items()}
        op = str(fields.get("op", "")).lower()
        if op not in ("add", "replace", "remove"):
            raise InvalidValueException(detail="op is add, replace or remove.")
        path = fields.get("path")
        value = fields.get("value")
        if path is not None and not isinstance(path, str):
            raise InvalidPathException(detail="path must be a string.")
        if path:
            apply_one(shape, new, op, path, value, limit)
            continue
        if op == "remove":
            raise NoTargetException(detail="remove needs a path.")
        if not isinstance(value, dict):
            raise InvalidValueException(detail="Without a path, value must be an object.")
        for key, item in value.items():
            if str(key).lower() == "schemas":
                continue
            apply_one(shape, new, op, str(key), item, limit)
    return new
