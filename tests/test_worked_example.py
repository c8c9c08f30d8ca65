"""The worked example of docs/example.md runs as printed: its two code blocks, verbatim (issue 22)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _blocks() -> list[str]:
    text = (REPO_ROOT / "docs" / "example.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def _run(code: str) -> list[tuple]:
    printed: list[tuple] = []
    exec(compile(code, "docs/example.md", "exec"), {"print": lambda *args: printed.append(args)})  # noqa: S102
    return printed


def test_the_page_holds_two_examples_of_at_most_20_lines():
    blocks = _blocks()
    assert len(blocks) == 2
    assert all(len(b.strip().splitlines()) <= 20 for b in blocks)


def test_a_users_pytorch_classifier_under_mid_and_dp_sgd_against_four_attacks():
    pytest.importorskip("art", reason="MIFace comes from ART, the optional 'interop' extra")
    printed = _run(_blocks()[0])
    assert [p[0] for p in printed] == ["VIBClassifier", "DPSGDClassifier"]
    for name, numbers in printed:
        accuracy, ka_error, leaked, gmi, miface = map(float, numbers.split())
        assert accuracy > 0.6, name  # five digit classes: chance is 0.2
        assert 0 < ka_error < 0.5 and 0 <= leaked <= 1 and 0 <= gmi <= 1 and 0 <= miface <= 1


def test_a_users_sklearn_regressor_against_the_attribute_attacks_and_the_no_model_baseline():
    pytest.importorskip("art", reason="ART's black-box attack is the optional 'interop' extra")
    from sklearn.datasets import load_diabetes

    printed = _run(_blocks()[1])
    rows = {line[0][:30].strip(): line[0][30:].split() for line in printed}
    assert list(rows) == ["Naive MAP", "ART black box", "no model: other features + y", "no model: prior"]
    sex = load_diabetes(return_X_y=True)[0][:, 1]
    test = sex[330:]
    # the prior's mode (estimated on aux) is the guess for everyone: its accuracy is that value's share
    mode = np.unique(sex[220:330], return_counts=True)
    share = np.mean(test == mode[0][np.argmax(mode[1])])
    assert float(rows["no model: prior"][3]) == pytest.approx(round(share, 2))
    for values in rows.values():
        assert values[0] == "train" and values[2] == "test" and 0 <= float(values[1]) <= 1
