"""Every part of the schema carries a description, so GraphiQL's explorer documents the API."""

from __future__ import annotations

from graphql import get_introspection_query

from tests.support.api import ok

# The spec's own scalars; their meaning is the spec's to document.
BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


def undocumented(types: list[dict]) -> list[str]:
    """Paths of every type, field, argument, input field and enum value lacking a description."""
    missing = []
    for kind in types:
        name = kind["name"]
        if name.startswith("__") or name in BUILT_IN_SCALARS:
            continue
        if not (kind["description"] or "").strip():
            missing.append(name)
        for field in kind["fields"] or []:
            if not (field["description"] or "").strip():
                missing.append(f"{name}.{field['name']}")
            for arg in field["args"]:
                if not (arg["description"] or "").strip():
                    missing.append(f"{name}.{field['name']}({arg['name']})")
        for field in kind["inputFields"] or []:
            if not (field["description"] or "").strip():
                missing.append(f"{name}.{field['name']}")
        for value in kind["enumValues"] or []:
            if not (value["description"] or "").strip():
                missing.append(f"{name}.{value['name']}")
    return missing


def test_the_check_sees_a_missing_description():
    types = [
        {
            "name": "Thing",
            "description": None,
            "fields": [
                {"name": "a", "description": "", "args": [{"name": "x", "description": None}]}
            ],
            "inputFields": None,
            "enumValues": [{"name": "ON", "description": None}],
        },
        {
            "name": "__Schema",
            "description": None,
            "fields": [],
            "inputFields": None,
            "enumValues": None,
        },
        {
            "name": "String",
            "description": None,
            "fields": None,
            "inputFields": None,
            "enumValues": None,
        },
    ]
    assert undocumented(types) == ["Thing", "Thing.a", "Thing.a(x)", "Thing.ON"]


async def test_every_part_of_the_schema_is_described(client):
    data = await ok(client, get_introspection_query(descriptions=True))
    types = data["__schema"]["types"]
    assert len(types) > 50  # the real schema, not an empty answer
    missing = undocumented(types)
    assert not missing, "undescribed in the schema:\n  " + "\n  ".join(missing)
