"""``python -m ihos.kit.openapi_export [--check FILE]``: print the OpenAPI document the front ends'
typed client is generated from, or fail when FILE differs from it (CI: the client is stale)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def document() -> str:
    from ihos.app import create_app

    return json.dumps(create_app().openapi(), ensure_ascii=False, indent=2) + "\n"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"] and len(argv) == 2:
        if Path(argv[1]).read_text(encoding="utf-8") != document():
            print(f"{argv[1]} is stale: run `make web-api`", file=sys.stderr)
            return 1
        return 0
    sys.stdout.write(document())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
