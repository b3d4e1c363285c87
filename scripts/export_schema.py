"""Write schema.graphql from the code (`make schema`); `--check` fails when it is stale."""

import sys
from pathlib import Path

from app.schema import schema

TARGET = Path(__file__).resolve().parent.parent / "schema.graphql"


def main() -> int:
    text = schema.as_str() + "\n"
    if "--check" in sys.argv:
        if not TARGET.exists() or TARGET.read_text() != text:
            print("schema.graphql is stale: run `make schema`", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
