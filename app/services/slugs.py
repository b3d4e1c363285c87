"""Slugs made from names, and made unique where they must be."""

from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Any

from tortoise.models import Model


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:48].strip("-") or "org"


async def free_slug(model: type[Model], base: str, **scope: Any) -> str:
    """`base`, or `base` with a random suffix while a `model` row within `scope`
    (e.g. the organization of a project) has it."""
    slug = base
    while await model.exists(slug=slug, **scope):
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug
