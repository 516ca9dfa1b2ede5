"""Smoke test of ``python -m minitorch_optim bench --contrib``: it runs and prints its table (no timings asserted)."""
import io
import json

import pytest

from minitorch_optim.app import bench_contrib
from minitorch_optim.app.main import main as cli_main


def _header(out):
    return next(line for line in out.splitlines() if line.startswith("optimizer"))


def test_quick_only_lion_table_has_the_columns(capsys):
    assert cli_main(["bench", "--contrib", "--quick", "--only", "Lion", "--sizes", "2000x4", "--repeat", "1"]) == 0
    out = capsys.readouterr().out
    header = _header(out)
    for col in bench_contrib.COLUMNS:
        assert col in header
    rows = [line.split() for line in out.splitlines() if line.startswith("Lion ")]
    assert len(rows) == 1 and rows[0][1:3] == ["2,000", "4"]
    assert rows[0][4] == "20"          # Lion: p, g, exp_avg read; p, exp_avg written; 4 B each
    if _has("torch") and _has("pytorch_optimizer"):
        assert rows[0][6] != "-"       # a reference figure when the reference is installed


def _has(mod):
    import importlib.util

    return importlib.util.find_spec(mod) is not None


def test_without_torch_prints_ours_only_with_a_note(monkeypatch):
    monkeypatch.setattr(bench_contrib, "_import_torch", lambda: None)
    # (to a stream of the test's own: in 2 of 5 full-suite runs capsys read nothing here, while the JSON
    # reached pytest's own capture; the cause was not found, and this test is about the JSON, not capsys)
    out = io.StringIO()
    assert bench_contrib.main(["--only", "adan", "--sizes", "1000x2", "--repeat", "1", "--json"], out=out) == 0
    res = json.loads(out.getvalue())
    (row,) = res["rows"]
    assert row["optimizer"] == "Adan" and "reference_ms" not in row and row["bytes_per_param"] == 44
    assert any("torch is not installed" in n for n in res["notes"])


def test_unknown_name_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        bench_contrib.main(["--only", "NotAnOptimizer"])
    assert e.value.code == 2
    assert "unknown optimizers" in capsys.readouterr().err
