"""Generated files stay in step with the code."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

from aerich.utils import decompress_dict, get_models_describe
from tortoise import Tortoise

from app.db import MIGRATIONS_DIR, tortoise_config
from app.schema import schema

ROOT = Path(__file__).resolve().parent.parent


def test_schema_graphql_is_current():
    assert (ROOT / "schema.graphql").read_text() == schema.as_str() + "\n", (
        "schema.graphql is stale: run `make schema`"
    )


def test_contract_names_exist():
    """Spot-check names the contract fixes, so a rename cannot slip through."""
    sdl = schema.as_str()
    for name in (
        "interface Node",
        "enum OrganizationRole",
        "enum InvitationOrderField",
        "type MemberConnection",
        "type InvitationEdge",
        "statuses: [MemberStatus!] = [ACTIVE, BLOCKED]",
        "pendingOwnershipTransfer: OwnershipTransfer",
    ):
        assert name in sdl, name
    by_token = schema._schema.query_type.fields["invitationByToken"]
    assert str(by_token.type) == "InvitationPreview"
    assert str(by_token.args["token"].type) == "String!"


async def test_migrations_match_the_models():
    """The latest migration's recorded model state equals the models: no change without one."""
    module = importlib.import_module("app.migrations.models.0_init")
    recorded = decompress_dict("".join(module.MODELS_STATE))
    await Tortoise.init(config=tortoise_config("sqlite://:memory:"))
    try:
        # Through JSON, as the migration stores it (tuples become lists).
        current = json.loads(json.dumps(get_models_describe("models")))
    finally:
        await Tortoise.close_connections()
    assert recorded == current, "models changed: run `make migration`"
    migrations = sorted(p.name for p in (MIGRATIONS_DIR / "models").glob("[0-9]*_*.py"))
    assert migrations == ["0_init.py"]
