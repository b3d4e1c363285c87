"""The schema object: every domain's Query and Mutation merged, with the security rules."""

from __future__ import annotations

from typing import Annotated

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache
from strawberry.extensions.max_aliases import MaxAliasesLimiter
from strawberry.extensions.max_tokens import MaxTokensLimiter
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

# Each domain's types register themselves (and their node loaders) on import.
from app.schema.accounts import mutations as account_mutations
from app.schema.accounts import queries as account_queries
from app.schema.audit import types as audit_types  # noqa: F401
from app.schema.audit.subscriptions import Subscription
from app.schema.context import Info
from app.schema.domains import mutations as domain_mutations
from app.schema.errors import guard
from app.schema.execution import FastLeafExecutionContext, mark_fast_fields
from app.schema.extensions import ErrorMasking, ExecutionStarted
from app.schema.invitations import mutations as invitation_mutations
from app.schema.invitations import queries as invitation_queries
from app.schema.join_requests import mutations as join_request_mutations
from app.schema.limits import LIMIT_RULES, QueryCostWithVariables
from app.schema.limits import MAX_DEPTH as MAX_DEPTH  # the contract's limit, for tests
from app.schema.members import mutations as member_mutations
from app.schema.node import Node, resolve_node
from app.schema.organizations import mutations as organization_mutations
from app.schema.organizations import queries as organization_queries
from app.schema.ownership import mutations as ownership_mutations
from app.schema.permissions import IsAuthenticated
from app.schema.projects import mutations as project_mutations
from app.schema.scalars import SCALAR_OVERRIDES
from app.schema.scim import mutations as scim_mutations
from app.schema.teams import mutations as team_mutations
from app.schema.webhooks import mutations as webhook_mutations

MAX_ALIASES = 30
MAX_TOKENS = 5000
CACHE_SIZE = 1024

# Built once at import: the validation cache is keyed by the rule classes, so a
# limiter built per request would give it a new key (and a miss) every time.
# Depth (more than MAX_DEPTH levels) and cost: app.schema.limits.
SECURITY_RULES = [
    *LIMIT_RULES,
    *MaxAliasesLimiter(max_alias_count=MAX_ALIASES).validation_rules,
]


class SecurityRules(AddValidationRules):
    def __init__(self) -> None:
        super().__init__(SECURITY_RULES)


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="Any object the viewer may see, by its global id; null for unknown or "
        "invisible ids.",
        extensions=guard(IsAuthenticated()),
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")],
    ) -> Node | None:
        return await resolve_node(info, id)


_queries: tuple[type, ...] = (
    account_queries.Query,
    organization_queries.Query,
    invitation_queries.Query,
)
_mutations: tuple[type, ...] = (
    account_mutations.Mutation,
    organization_mutations.Mutation,
    member_mutations.Mutation,
    invitation_mutations.Mutation,
    project_mutations.Mutation,
    ownership_mutations.Mutation,
    domain_mutations.Mutation,
    team_mutations.Mutation,
    scim_mutations.Mutation,
    join_request_mutations.Mutation,
    webhook_mutations.Mutation,
)
Query = merge_types("Query", (NodeQuery, *_queries))
Mutation = merge_types("Mutation", _mutations)
# merge_types takes no description; set it on the merged definitions.
Query.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Reads, for the signed-in user or API key (`Authorization: Bearer <token>`). Anonymous "
    "callers may use `invitationByToken`; other fields answer them null or UNAUTHENTICATED."
)
Mutation.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Changes. Each takes one `input` and returns a payload whose `errors` list the rule "
    "violations (nothing is written then); missing sign-in or role are top-level errors "
    "UNAUTHENTICATED and FORBIDDEN."
)


class RosterSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Client errors are the client's business; ErrorMasking logs the internal ones."""


schema = RosterSchema(
    execution_context_class=FastLeafExecutionContext,
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    scalar_overrides=SCALAR_OVERRIDES,
    extensions=[
        lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
        lambda: ParserCache(maxsize=CACHE_SIZE),
        SecurityRules,
        lambda: ValidationCache(maxsize=CACHE_SIZE),
        QueryCostWithVariables,  # after ValidationCache: it reads what validation found
        ExecutionStarted,
        ErrorMasking,
    ],
)
mark_fast_fields(schema._schema, schema.config.default_resolver)
