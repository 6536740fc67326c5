"""docs/wire.md documents every field the contract knows, with its unit."""

from pathlib import Path

from careloop.wire import TABLES

DOC = Path(__file__).resolve().parents[2] / "docs" / "wire.md"


def test_every_measure_is_documented_with_its_unit():
    text = DOC.read_text()
    for table in TABLES.values():
        for m in table:
            row = next(
                (line for line in text.splitlines() if line.startswith(f"| `{m.name}` |")), None
            )
            assert row is not None, f"{m.name} missing from docs/wire.md"
            assert m.unit in row
