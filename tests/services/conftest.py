"""Service tests: the rules, called directly on the test database (the `db` fixture)."""

from __future__ import annotations

import pytest

from tests.support.services import Crew, make_crew


@pytest.fixture
async def crew(db) -> Crew:
    return await make_crew()
