"""The README's code examples, for tests that run them as written."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_block(containing: str) -> str:
    """The README's one fenced python block that contains `containing`."""
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)
    (block,) = [block for block in blocks if containing in block]
    return block


def readme_verifier() -> Callable[[bytes, Mapping[str, str], bytes], bool]:
    """The README's webhook signature check, `verified(secret, headers, body)`, run as written."""
    namespace: dict[str, object] = {}
    exec(compile(readme_block("def verified("), str(README), "exec"), namespace)
    verified = namespace["verified"]
    assert callable(verified)
    return lambda secret, headers, body: bool(verified(secret, headers, body))
