"""Speed of the categorical trees against scikit-learn, and the wall time of the Figure 2(b)/4(c) sweep.

``python benchmarks/trees.py [--data-home DIR] [--splits 100] [--no-sweep]`` prints ``name: value unit``
lines. Peer: scikit-learn's ``DecisionTreeClassifier(criterion="entropy")`` fitted on the same survey
one-hot encoded (what the trees see through ``to_sklearn``'s encoder). Times are the median of repeated
runs in this process. Encode once: the work of one (model, split) of the Figure 2(b) sweep — fit on the
training rows, predict the test rows, the confusion matrix and the two MAP attacks on both parts — on
DataFrame row subsets (re-encoded by every call) against the same on row subsets of one
:class:`~defenses.tree.EncodedTable`, in the same run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.tree import DecisionTreeClassifier


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", type=Path, default=None)
    parser.add_argument("--splits", type=int, default=100, help="splits of the timed full sweep (default 100)")
    parser.add_argument("--no-sweep", action="store_true", help="skip timing the full sweep")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    if args.splits < 1 or args.repeat < 1:
        parser.exit(2, "trees.py: error: --splits and --repeat must be >= 1\n")

    from defenses.datasets import load_steak_survey
    from defenses.tree import (DPID3Classifier, ID3Classifier, MAPWithCountsAttack, NaiveMAPClassifierAttack, confusion_matrix,
                               encode_table, estimate_prior)

    try:
        d = load_steak_survey(args.data_home)
    except FileNotFoundError as exc:
        print(f"trees.py: error: {exc}", file=sys.stderr)
        return 2
    X, y = d.data, d.target
    enc = ID3Classifier().fit(X, y).to_sklearn()[0]
    Z = enc.transform(X)
    big = pd.concat([X] * 300, ignore_index=True)  # 99,300 rows for prediction throughput
    Zbig = enc.transform(big)
    print(f"rows: {len(X)} records, {X.shape[1]} categorical features ({Z.shape[1]} one-hot columns)")
    for depth in (None, 5):
        tag = "full" if depth is None else f"depth{depth}"
        ours = ID3Classifier(max_depth=depth)
        peer = DecisionTreeClassifier(criterion="entropy", max_depth=depth, random_state=0)
        t_ours = median_time(lambda: ours.fit(X, y), args.repeat)
        t_peer = median_time(lambda: peer.fit(Z, y), args.repeat)
        print(f"id3_fit_{tag}: {t_ours * 1e3:.2f} ms ({len(ours.tree_.leaves)} leaves)")
        print(f"sklearn_fit_{tag}: {t_peer * 1e3:.2f} ms ({peer.get_n_leaves()} leaves)")
        print(f"fit_ratio_{tag}: {t_ours / t_peer:.1f} x (ours / scikit-learn)")
        p_ours = median_time(lambda: ours.predict(big), max(3, args.repeat // 5))
        p_peer = median_time(lambda: peer.predict(Zbig), max(3, args.repeat // 5))
        print(f"id3_predict_{tag}: {p_ours * 1e3:.2f} ms per {len(big)} rows (DataFrame, encoding included)")
        print(f"sklearn_predict_{tag}: {p_peer * 1e3:.2f} ms per {len(big)} rows (one-hot already encoded)")
        print(f"predict_ratio_{tag}: {p_ours / p_peer:.1f} x (ours / scikit-learn)")
    codes = ours.encode(big)
    t_codes = median_time(lambda: ours.tree_.apply(codes), max(3, args.repeat // 5))
    print(f"id3_predict_codes_depth5: {t_codes * 1e3:.2f} ms per {len(big)} rows (integer codes, no encoding)")
    t_mid = median_time(lambda: ID3Classifier(mid_lambda=10.0, max_depth=5).fit(X, y), args.repeat)
    print(f"mid_id3_fit_depth5_lambda10: {t_mid * 1e3:.2f} ms")
    t_dp = median_time(lambda: DPID3Classifier(100.0, max_depth=5, random_state=0).fit(X, y), args.repeat)
    print(f"dpid3_fit_depth5_eps100: {t_dp * 1e3:.2f} ms")
    m = ID3Classifier(max_depth=5).fit(X, y)
    prior = estimate_prior(X["cheated"])
    t_att = median_time(lambda: MAPWithCountsAttack("cheated", prior).fit(m).infer(X, y), args.repeat)
    print(f"map_with_counts_infer: {t_att * 1e3:.2f} ms per {len(X)} targets")

    table, big_table = encode_table(X), encode_table(big)
    p_frame = median_time(lambda: ours.predict(big), max(3, args.repeat // 5))
    p_table = median_time(lambda: ours.predict(big_table), max(3, args.repeat // 5))
    print(f"id3_predict_table_depth5: {p_table * 1e3:.2f} ms per {len(big)} rows (EncodedTable, no encoding)")
    print(f"predict_speedup_encode_once: {p_frame / p_table:.1f} x (DataFrame / EncodedTable)")
    rng = np.random.default_rng(0)
    train = np.sort(rng.permutation(len(X))[: int(0.8 * len(X))])
    test = np.setdiff1d(np.arange(len(X)), train)

    def sweep_unit(rows):
        """One (model, split) of the sweep on ``rows(index)`` (DataFrame or table row subsets)."""
        Xtr, Xte, ytr, yte = rows(train), rows(test), y.iloc[train], y.iloc[test]
        model = ID3Classifier(mid_lambda=10.0, max_depth=5).fit(Xtr, ytr)
        model.predict(Xte)
        attacks = (NaiveMAPClassifierAttack("cheated", prior, confusion_matrix(model, Xtr, ytr)),
                   MAPWithCountsAttack("cheated", prior))
        for part, labels in ((Xtr, ytr), (Xte, yte)):
            for attack in attacks:
                attack.fit(model).infer(part, labels)

    t_unit_frame = median_time(lambda: sweep_unit(lambda idx: X.iloc[idx]), args.repeat)
    t_unit_table = median_time(lambda: sweep_unit(lambda idx: table[idx]), args.repeat)
    print(f"sweep_unit_dataframe: {t_unit_frame * 1e3:.2f} ms per (model, split)")
    print(f"sweep_unit_encoded_once: {t_unit_table * 1e3:.2f} ms per (model, split)")
    print(f"sweep_unit_speedup_encode_once: {t_unit_frame / t_unit_table:.2f} x (DataFrame / EncodedTable)")

    if not args.no_sweep:
        from validation.tree import FULL, run_tree_sweep

        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            res = run_tree_sweep(Path(tmp) / "store", data_home=args.data_home, config=FULL,
                                 n_splits=args.splits, progress=False)
            wall = time.perf_counter() - t0
        n = len(res.runs)
        print(f"sweep_wall_time: {wall:.1f} s ({len(res.settings)} settings x {args.splits} splits = {n} trees, "
              f"each attacked 3 ways on train and test)")
        print(f"sweep_per_tree: {wall / n * 1e3:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
