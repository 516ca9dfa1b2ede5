"""The README's set-up commands are one line each, and its "Use" snippet runs as written."""
import os
import pathlib
import re

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _blocks(lang):
    return re.findall(rf"```{lang}\n(.*?)```", README, re.S)


def test_the_two_setup_commands_are_one_line_each():
    bash = _blocks("bash")
    assert bash[0] == "pip install -e . && python -m minitorch_optim train\n"
    assert bash[1] == "pip install -e '.[test]' && pytest\n"
    # CI runs these two blocks as read from the README (first leg, in a fresh venv), not a copy of them
    ci = (ROOT / ".ci" / "run").read_text()
    assert bash[0].strip() not in ci and bash[1].strip() not in ci
    assert "README.md" in ci and "readme1.sh" in ci and "readme2.sh" in ci and "-m venv" in ci


def test_use_snippet_runs(tmp_path, monkeypatch):
    use = README.split("## Use", 1)[1]
    code = re.search(r"```python\n(.*?)```", use, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(compile(code, "README.md", "exec"), ns)     # noqa: S102 - the project's own README
    assert os.path.isfile(tmp_path / "checkpoint.pt")
    assert ns["opt"].state_dict()["state"], "the snippet trained nothing"


def test_no_pointer_outside_the_repository():
    assert "../" not in README and "shared/design" not in README


def test_second_derivative_snippet_gives_the_closed_form():
    use = README.split("## Use", 1)[1].split("\n## ", 1)[0]
    code = next(c for c in re.findall(r"```python\n(.*?)```", use, re.S) if "create_graph" in c)
    ns = {}
    exec(compile("import autograd as ag\n" + code, "README.md", "exec"), ns)  # noqa: S102
    # d2/dx2 of exp(x) sin(x) is 2 exp(x) cos(x); the Hessian is diagonal
    np.testing.assert_allclose(ns["hv"].numpy(), [2 * np.exp(0.5) * np.cos(0.5), 0.0], rtol=1e-12)
