"""docs/simulators.md lists every scenario with the tier its labels carry."""

from pathlib import Path

from simulators import SCENARIOS

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulators.md"


def test_every_scenario_is_documented_with_its_tier() -> None:
    lines = DOC.read_text(encoding="utf-8").splitlines()
    for name, scenario in SCENARIOS.items():
        row = next((line for line in lines if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"{name} missing from docs/simulators.md"
        assert f"| {scenario.tier} |" in row, name
