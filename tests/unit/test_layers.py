"""The import contracts of `.importlinter` (layers, independence, forbidden libraries) hold, as
`lint-imports` checks them."""

from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parents[2] / ".importlinter"


def test_import_contracts_are_kept(capsys):
    cli = pytest.importorskip("importlinter.cli", reason="import-linter is not installed (pip install '.[test]')")
    code = cli.lint_imports(config_filename=str(CONFIG), no_cache=True, no_logo=True)
    assert code == 0, capsys.readouterr().out
