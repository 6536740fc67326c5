"""What the command line no longer offers stays gone.

``careloop alerts --http-port`` once served an unauthenticated reply and live-stream app whose
request body named any volunteer. Volunteers now answer through the API (with their token) or
over MQTT as themselves (broker ACLs); the option must be refused, not silently accepted.
"""

from __future__ import annotations

import pytest

from app.cli import main


@pytest.mark.parametrize(
    "argv", [["alerts", "--http-port=8080"], ["alerts", "run", "--http-port=0"]]
)
def test_the_alert_service_serves_no_http_app(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "unrecognized arguments: --http-port" in capsys.readouterr().err
