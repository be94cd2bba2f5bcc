"""Documentation that is generated must not go stale."""

from pathlib import Path

from server.http.apidoc import render

ROOT = Path(__file__).resolve().parent.parent


def test_api_doc_lists_every_route_and_event_as_the_server_runs_them():
    written = (ROOT / "docs" / "api.md").read_text()
    assert written == render(), "docs/api.md is stale: python -m server.http.apidoc > docs/api.md"


def test_readme_quick_start_is_the_two_commands_ci_runs():
    readme = (ROOT / "README.md").read_text()
    assert "scripts/demo" in readme and "scripts/test" in readme
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
