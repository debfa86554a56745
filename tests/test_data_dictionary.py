"""The data dictionary and README stay true to the warehouse."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.warehouse import connect
from tests.conftest import PROJECT_ROOT


def test_every_column_is_documented(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    columns = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main'"
    ).fetchall()
    con.close()
    text = (PROJECT_ROOT / "docs" / "data-dictionary.md").read_text()
    sections = dict(re.findall(r"^## (\w+).*?\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S))
    missing = [f"{table}.{column}" for table, column in columns
               if f"| `{column}` |" not in sections.get(table, "")]  # fmt: skip
    assert missing == []


@pytest.fixture(scope="module")
def demo_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import run_cli

    root = tmp_path_factory.mktemp("readme")
    result = run_cli("demo", "--warehouse", str(root / "data" / "warehouse.duckdb"), "--exports",
                     str(root / "data" / "exports"), cwd=root)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return root


def test_readme_duckdb_examples_run_as_written(demo_warehouse: Path) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    commands = re.findall(r'^\.venv/bin/duckdb -readonly data/warehouse\.duckdb -c "(.*)"$', readme, flags=re.M)
    assert len(commands) >= 3
    duckdb_cli = Path(sys.executable).parent / "duckdb"
    for sql in commands:
        result = subprocess.run([str(duckdb_cli), "-readonly", "data/warehouse.duckdb", "-c", sql],
                                cwd=demo_warehouse, capture_output=True, text=True, check=False)  # fmt: skip
        assert result.returncode == 0 and "Error" not in result.stderr, (sql, result.stderr)
        assert result.stdout.strip(), sql


def test_readme_python_example_runs_as_written(demo_warehouse: Path) -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    result = subprocess.run([sys.executable, "-c", block], cwd=demo_warehouse, capture_output=True, text=True,
                            check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Depression and Bipolar Support Group" in result.stdout
