"""The docs cannot drift: every GraphQL example in them is valid against the schema,
and the error table names every error code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse, validate

from app.errors import ErrorCode
from app.schema import schema

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^```graphql[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[str, str]]:
    found = []
    for path in sorted(DOCS.rglob("*.md")):
        if path.name == "API.md":  # the contract: its SDL reaches past what is built
            continue
        for number, match in enumerate(FENCE.finditer(path.read_text()), 1):
            found.append((f"{path.relative_to(DOCS)}#{number}", match.group(1)))
    return found


EXAMPLES = examples()


def test_the_docs_have_examples():
    assert len(EXAMPLES) >= 20
    assert {name.split("#")[0] for name, _ in EXAMPLES} >= {
        "quickstart.md",
        "guides/invitations.md",
        "guides/bulk-onboarding.md",
        "guides/ownership-transfer.md",
        "guides/verified-domains.md",
        "guides/api-keys.md",
        "guides/teams.md",
    }


@pytest.mark.parametrize(("name", "text"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_example_is_valid_against_the_schema(name, text):
    errors = validate(schema._schema, parse(text))
    assert not errors, [error.message for error in errors]


def test_validation_catches_a_wrong_example():
    bad = "query { organization(slug: 1) { nom } }"
    assert len(validate(schema._schema, parse(bad))) == 2


def test_error_table_names_every_code():
    text = (DOCS / "errors.md").read_text()
    codes = [
        *(code.value for code in ErrorCode),
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "INTERNAL",
        "BAD_REQUEST",
    ]
    missing = [code for code in codes if not re.search(rf"\|\s*`{code}`\s*\|", text)]
    assert not missing, f"docs/errors.md has no table row for {missing}"
