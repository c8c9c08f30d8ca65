"""ART against our models (docs/attacks.md): the tree export, the regressor view, the neural wrappers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from art.attacks.inference.attribute_inference import AttributeInferenceWhiteBoxDecisionTree

from defenses.datasets import load_steak_survey
from defenses.interop._ordinal import ordinal_tree
from defenses.interop.art import (
    ARTBlackBoxAttack,
    ARTTrueLabelBaseline,
    ARTWhiteBoxTreeAttack,
    to_art_regressor,
    to_art_tree,
)
from defenses.tree import DPID3Classifier, ID3Classifier, MAPWithCountsAttack, PriorityID3Classifier, estimate_prior

SENSITIVE = "cheated"


@pytest.fixture(scope="module")
def steak(data_home):
    return load_steak_survey(data_home)


@pytest.fixture(scope="module")
def steak3(data_home):
    """The survey with unanswered questions as their own category: "cheated" has three values."""
    return load_steak_survey(data_home, complete_cases=False)


def _with_unseen(df: pd.DataFrame) -> pd.DataFrame:
    out = df.astype(object).copy()
    out.iloc[::5, 11] = "Atlantis"
    out.iloc[1::6, 9] = "$1,000,000+"
    out.iloc[2::9, 6] = None
    out.iloc[3::7, 8] = None
    return out


def _split(n: int, seed: int = 0):
    perm = np.random.default_rng(seed).permutation(n)
    k = round(0.2 * n)
    return np.sort(perm[k:]), np.sort(perm[:k])


TREES = {
    "id3": lambda: ID3Classifier(max_depth=5),
    "id3-full": lambda: ID3Classifier(),
    "mid": lambda: ID3Classifier(mid_lambda=10.0, max_depth=5),
    "priority": lambda: PriorityID3Classifier(SENSITIVE, 2, max_depth=5),
    "dp": lambda: DPID3Classifier(epsilon=300.0, max_depth=4, random_state=3),
}


def test_importing_without_art_fails_with_one_line_naming_the_extra():
    code = ("import sys; sys.modules['art'] = None\n"
            "try:\n    import defenses.interop.art\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().count("\n") == 0 and "mid-toolkit[interop]" in out


@pytest.mark.filterwarnings("ignore::defenses.tree.MissingValueWarning")  # rows with missing values on purpose
@pytest.mark.parametrize("name", sorted(TREES))
def test_ordinal_export_predicts_exactly_as_our_tree(steak, steak3, name):
    for d in (steak, steak3):
        m = TREES[name]().fit(d.data, d.target)
        sk = ordinal_tree(m)
        for X in (d.data, _with_unseen(d.data)):
            Z = m.encode(X)
            assert (Z == -1).any() or X is d.data
            assert (sk.predict(Z) == m.predict(X)).all()
            assert np.allclose(sk.predict_proba(Z), m.predict_proba(X))
        # every leaf of ours sits at a leaf of the export with its training count
        leaves = sk.apply(m.encode(d.data))
        ours = m.apply(d.data)
        assert np.array_equal(sk.tree_.weighted_n_node_samples[leaves], m.tree_.n_samples[ours])


def test_art_estimator_paths_are_scikit_learns(steak):
    from art.estimators.classification.scikitlearn import ScikitlearnDecisionTreeClassifier

    m = ID3Classifier().fit(steak.data, steak.target)
    view = to_art_tree(m, SENSITIVE)
    reference = ScikitlearnDecisionTreeClassifier(view.classifier.model)
    X = view.transform(_with_unseen(steak.data))
    for row in X:
        assert np.array_equal(view.classifier.get_decision_path([row]), reference.get_decision_path([row]))
    assert np.array_equal(view.classifier.get_decision_path(X[:3]), reference.get_decision_path(X[:3]))


def test_ordinal_export_on_random_trees_with_many_valued_features():
    rng = np.random.default_rng(11)
    for _ in range(20):
        k = rng.integers(1, 7, size=4)
        X = np.column_stack([rng.integers(0, kj, size=80) for kj in k]).astype(object)
        y = rng.integers(0, 3, size=80)
        m = ID3Classifier(max_depth=int(rng.integers(1, 5))).fit(X, y)
        probe = np.column_stack([rng.integers(-1, kj + 2, size=200) for kj in k]).astype(object)
        assert (ordinal_tree(m).predict(m.encode(probe)) == m.predict(probe)).all()


def _substitute(codes: np.ndarray, s: int, v: int) -> np.ndarray:
    out = codes.copy()
    out[:, s] = v
    return out


def _art_reference(model, s, X, y_idx, prior, lifestyle):
    """ART's two white-box rules evaluated directly on OUR tree (its leaves, labels and counts): the leaf a
    row reaches with value v holds n(x_K, v) training records (0 where a known value is unseen)."""
    t = model.tree_
    codes = model.encode(X)
    n_rows, n_values = len(codes), len(model.categories_[s])
    count = np.empty((n_rows, n_values))
    label = np.empty((n_rows, n_values), np.int64)
    node = np.empty((n_rows, n_values), np.int64)
    for v in range(n_values):
        node[:, v] = t.apply(_substitute(codes, s, v))
        count[:, v] = np.where(t.feature[node[:, v]] >= 0, 0.0, np.round(t.n_samples[node[:, v]]))
        label[:, v] = t.label[node[:, v]]
    prob = count / n_rows * prior
    if lifestyle:
        phi = np.array([sum(count[np.flatnonzero(node[:, v] == u)[0], v] for u in np.unique(node[:, v])) / n_rows
                        for v in range(n_values)])
        return np.argmax(prob / phi, axis=1)
    match = label == y_idx[:, None]
    return np.where(match.sum(axis=1) == 1, np.argmax(match, axis=1), np.argmax(prob, axis=1))


@pytest.mark.parametrize("name, values", [("id3", 3), ("mid", 2), ("priority", 2), ("dp", 3)])
def test_art_white_box_attacks_follow_their_definitions_row_by_row(steak, steak3, name, values):
    d = steak if values == 2 else steak3
    tr, te = _split(len(d.data))
    m = TREES[name]().fit(d.data.iloc[tr], d.target.iloc[tr])
    prior = estimate_prior(d.data[SENSITIVE].iloc[tr])
    s = list(d.data.columns).index(SENSITIVE)
    assert len(m.categories_[s]) == values
    p = prior.reindex(m.categories_[s]).to_numpy()
    batches = ((d.data.iloc[tr[:80]], d.target.iloc[tr[:80]]), (d.data.iloc[te], d.target.iloc[te]),
               (_with_unseen(d.data).iloc[:60], d.target.iloc[:60]))
    for lifestyle in (False, True):
        attack = ARTWhiteBoxTreeAttack(SENSITIVE, prior, lifestyle=lifestyle).fit(m)
        for X, y in batches:
            res = attack.infer(X, y)
            ref = _art_reference(m, s, X, pd.Index(m.classes_).get_indexer(y), p, lifestyle)
            assert np.array_equal(res.guesses, m.categories_[s][ref])
            assert np.array_equal(res.scores.argmax(axis=1), ref)
    # the attacker may leave the sensitive column out
    X, y = batches[1]
    assert np.array_equal(attack.infer(X.drop(columns=SENSITIVE), y).guesses, attack.infer(X, y).guesses)


@pytest.mark.parametrize("name", ["id3", "id3-full", "mid", "priority"])
def test_art_white_box_with_phi_priors_gives_our_map_with_counts(steak, name):
    """With priors p(v)/Φ(v) and values in decreasing-prior order, ART's rule is MAP with counts on a binary
    sensitive feature — except on a row where exactly one value reproduces y and its leaf is EMPTY: ART
    takes that value; MAP with counts scores every value 0 there and falls back to p(v)·n/Φ(v)."""
    n_special = 0
    for seed in range(2):
        tr, te = _split(len(steak.data), seed)
        m = TREES[name]().fit(steak.data.iloc[tr], steak.target.iloc[tr])
        prior = estimate_prior(steak.data[SENSITIVE].iloc[tr])
        view = to_art_tree(m, SENSITIVE)
        t, s = m.tree_, view.attack_feature
        path, n_leaf = t.path[t.leaves], t.n_samples[t.leaves]
        p = np.array(view.priors(prior))
        phi = np.array([n_leaf[(path[:, s] < 0) | (path[:, s] == v)].sum() for v in range(len(p))])
        order = np.argsort(-p, kind="stable")
        art = AttributeInferenceWhiteBoxDecisionTree(view.classifier, s)
        for idx in (tr, te):
            X, y = steak.data.iloc[idx], steak.target.iloc[idx]
            ours = MAPWithCountsAttack(SENSITIVE, prior).fit(m).infer(X, y).guesses
            codes = art.infer(view.known(X), view.labels(y), values=[view.values[i] for i in order],
                              priors=list((p / phi)[order]))
            guesses = view.decode(codes)
            nodes = np.column_stack([t.apply(_substitute(m.encode(X), s, v)) for v in range(len(p))])
            reproduces = t.label[nodes] == view.labels(y)[:, None]
            single = reproduces.sum(axis=1) == 1
            special = single & (t.n_samples[nodes][np.arange(len(X)), reproduces.argmax(axis=1)] == 0)
            assert np.array_equal(guesses[~special], ours[~special])
            assert (guesses[special] == view.sensitive_values[reproduces.argmax(axis=1)[special]]).all()
            n_special += int(special.sum())
    assert n_special <= 10


def test_one_hot_export_misleads_arts_attack(steak):
    """Why the ordinal export exists: on to_sklearn()'s one-hot columns ART substitutes 0/1 into ONE column
    of the sensitive block and answers for other records."""
    from art.estimators.classification.scikitlearn import ScikitlearnDecisionTreeClassifier

    m = ID3Classifier().fit(steak.data, steak.target)
    prior = estimate_prior(steak.data[SENSITIVE])
    right = ARTWhiteBoxTreeAttack(SENSITIVE, prior).fit(m).infer(steak.data, steak.target).guesses
    enc, sk = m.to_sklearn()
    Z = enc.transform(steak.data)
    col = int(np.flatnonzero([n.startswith(SENSITIVE) for n in enc.get_feature_names_out()])[1])  # "cheated_Yes"
    art = AttributeInferenceWhiteBoxDecisionTree(ScikitlearnDecisionTreeClassifier(sk), col)
    codes = art.infer(np.delete(Z, col, axis=1), pd.Index(m.classes_).get_indexer(steak.target), values=[0.0, 1.0],
                      priors=[prior["No"], prior["Yes"]])
    wrong = np.where(codes == 1.0, "Yes", "No")
    assert (wrong != right).any()


def test_tree_attack_bad_input(steak):
    m = ID3Classifier(max_depth=3).fit(steak.data, steak.target)
    with pytest.raises(ValueError, match="y"):
        ARTWhiteBoxTreeAttack(SENSITIVE, estimate_prior(steak.data[SENSITIVE])).fit(m).infer(steak.data)
    with pytest.raises(ValueError, match="outside"):
        ARTWhiteBoxTreeAttack(SENSITIVE, {"Maybe": 1.0}).fit(m)
    with pytest.raises(ValueError, match="not a column"):
        to_art_tree(m, "favourite colour")
    with pytest.raises(ValueError, match="ID3Classifier"):
        to_art_tree(object(), SENSITIVE)


# ------------------------------------------------------------------------------------------- linear
@pytest.fixture(scope="module")
def iwpc(data_home):
    from validation.linear import IWPCProblem

    p = IWPCProblem(data_home)
    perm = np.random.default_rng(0).permutation(len(p.y))
    return p, np.sort(perm[:1200]), np.sort(perm[1200:2000]), np.sort(perm[2000:2500])  # train, aux, test


def _linear_models(p, tr):
    from defenses.linear import AdaSSPRegression, MIDLinearRegression

    return {"MID": MIDLinearRegression(mid_lambda=1.0).fit(p.X[tr], p.y[tr]),
            "AdaSSP": AdaSSPRegression(epsilon=1.0, x_bound=p.x_bound, y_bound=p.y_bound,
                                       random_state=0).fit(p.X[tr], p.y[tr])}


def test_regressor_view_predicts_as_the_model_with_one_sensitive_column(iwpc):
    p, tr, _, te = iwpc
    for model in _linear_models(p, tr).values():
        view = to_art_regressor(model, p.sensitive_columns, p.encoding)
        x = view.transform(p.X[te])
        assert x.shape == (len(te), p.X.shape[1] - 1) and view.attack_feature == p.sensitive_columns[0]
        assert np.array_equal(view.decode(x[:, view.attack_feature]), p.genotype[te])
        assert np.allclose(view.estimator.predict(x), model.predict(p.X[te]))
        # every substituted code gives the model's prediction with that genotype's one-hot columns
        for code, value in enumerate(p.values):
            x[:, view.attack_feature] = code
            Xv = p.X[te].copy()
            Xv[:, p.sensitive_columns] = p.encoding[value]
            assert np.allclose(view.estimator.predict(x), model.predict(Xv))
        assert np.array_equal(view.transform(p.X[te], p.genotype[te]), view.transform(p.X[te]))
        with pytest.raises(ValueError, match="codes"):
            x[0, view.attack_feature] = 3
            view.estimator.predict(x)


def test_art_black_box_and_true_label_baseline_run_on_iwpc(iwpc):
    from defenses.linear import NoModelBaseline

    p, tr, aux, te = iwpc
    truth = p.genotype[te]
    ideal = NoModelBaseline(p.sensitive_columns, p.values, use_target=True).fit(p.X[aux], p.y[aux], p.genotype[aux])
    ideal_acc = ideal.infer(p.X[te], p.y[te]).accuracy(truth)
    base = ARTTrueLabelBaseline(p.sensitive_columns, p.encoding, attack_model_type="lr", random_state=0)
    base_acc = base.fit(p.X[aux], p.y[aux], p.genotype[aux]).infer(p.X[te], p.y[te]).accuracy(truth)
    assert abs(base_acc - ideal_acc) < 0.05  # ART's no-model adversary is our "ideal" one
    for name, model in _linear_models(p, tr).items():
        attack = ARTBlackBoxAttack(p.sensitive_columns, p.encoding, attack_model_type="lr", random_state=0)
        guesses = attack.fit(model, p.X[aux], p.y[aux], p.genotype[aux]).infer(p.X[te], p.y[te]).guesses
        # ART's attacker sees f(x_K, v) on the target's own record: for a linear model whose genotype
        # coefficients differ, that output minus the known part is the genotype
        assert np.mean(guesses == truth) > 0.95, name
        rf = ARTBlackBoxAttack(p.sensitive_columns, p.encoding, attack_model_type="rf", random_state=3)
        g1 = rf.fit(model, p.X[aux], p.y[aux], p.genotype[aux]).infer(p.X[te], p.y[te]).guesses
        g2 = rf.fit(model, p.X[aux], p.y[aux], p.genotype[aux]).infer(p.X[te], p.y[te]).guesses
        assert np.array_equal(g1, g2)  # seeded
    # a model that ignores the genotype releases nothing about it: the black box falls to the no-model level
    from sklearn.linear_model import LinearRegression

    blind = LinearRegression().fit(np.delete(p.X[tr], p.sensitive_columns, axis=1), p.y[tr])
    blind.coef_ = np.insert(blind.coef_, [p.sensitive_columns[0]] * 2, 0.0)
    blind.n_features_in_ = p.X.shape[1]
    attack = ARTBlackBoxAttack(p.sensitive_columns, p.encoding, attack_model_type="lr", random_state=0)
    acc = attack.fit(blind, p.X[aux], p.y[aux], p.genotype[aux]).infer(p.X[te], p.y[te]).accuracy(truth)
    assert abs(acc - ideal_acc) < 0.05


def test_art_nn_attack_model_is_seeded_without_touching_torch_global_state(iwpc):
    import torch

    p, tr, aux, te = iwpc
    model = _linear_models(p, tr)["MID"]
    state = torch.random.get_rng_state()

    def run():
        a = ARTBlackBoxAttack(p.sensitive_columns, p.encoding, use_target=False, random_state=5,
                              art_params={"nn_model_epochs": 2})
        return a.fit(model, p.X[aux[:300]], p.y[aux[:300]], p.genotype[aux[:300]]).infer(p.X[te], p.y[te]).guesses

    assert np.array_equal(run(), run())
    assert torch.equal(state, torch.random.get_rng_state())


def test_linear_attack_bad_input(iwpc):
    p, tr, aux, te = iwpc
    model = _linear_models(p, tr)["MID"]
    from sklearn.exceptions import NotFittedError

    with pytest.raises(ValueError, match="attack_model_type"):
        ARTBlackBoxAttack(p.sensitive_columns, p.encoding, attack_model_type="xgb")
    with pytest.raises(NotFittedError):
        ARTBlackBoxAttack(p.sensitive_columns, p.encoding).infer(p.X[te], p.y[te])
    with pytest.raises(ValueError, match="sensitive value"):
        to_art_regressor(model, p.sensitive_columns, p.encoding).transform(p.X[:2], ["G/G", "C/C"])
    with pytest.raises(ValueError, match="match no value"):
        bad = p.X[:2].copy()
        bad[0, p.sensitive_columns] = 1.0
        to_art_regressor(model, p.sensitive_columns, p.encoding).transform(bad)
    with pytest.raises(ValueError, match="sensitive_columns"):
        to_art_regressor(model, [99], {"a": [0.0], "b": [1.0]})


# ------------------------------------------------------------------------------------------- neural
N_ID = 8


@pytest.fixture(scope="module")
def faces_models(data_home):
    """Tiny real face models (8 identities, faces 4×4-averaged to 16×16): undefended, VIB, DP-SGD."""
    from defenses.datasets import load_faces
    from defenses.datasets.faces import split_faces
    from defenses.neural import CNNClassifier, DPSGDClassifier, VIBClassifier

    d = load_faces(data_home)
    keep = d.target < N_ID
    X, y = d.data[keep].reshape(-1, 16, 4, 16, 4).mean(axis=(2, 4)), d.target[keep]
    s = split_faces(y, 6, 0, 0, random_state=0)
    arch = {"channels": (4, 8), "kernel_size": 3, "pool": "max", "feature_dim": 32}
    kw = {"architecture": arch, "batch_size": 8, "lr": 5e-3, "early_stopping": False, "progress": False,
          "random_state": 0, "device": "cpu"}
    models = {"cnn": CNNClassifier(epochs=15, **kw).fit(X[s.train], y[s.train]),
              "vib": VIBClassifier(beta=1e-3, epochs=15, **kw).fit(X[s.train], y[s.train]),
              "dp": DPSGDClassifier(noise_multiplier=0.5, classes=np.unique(y), epochs=3, delta=1e-3, **kw).fit(
                  X[s.train], y[s.train])}
    return X[s.train], y[s.train], models


def test_to_art_releases_the_models_outputs_and_logit_gradients(faces_models):
    import torch
    from art.estimators.classification import BlackBoxClassifier, PyTorchClassifier

    from defenses.interop.art import to_art

    X, y, models = faces_models
    x = X[:, None].astype(np.float32)
    for name in ("cnn", "dp"):
        model = models[name]
        clf = to_art(model)
        assert isinstance(clf, PyTorchClassifier) and clf.clip_values.tolist() == [0.0, 1.0]
        assert clf.nb_classes == N_ID and clf.input_shape == (1, 16, 16)
        assert np.allclose(clf.predict(x), model.predict_proba(X), atol=1e-6)
        labels = y[:5]
        xt = torch.from_numpy(x[:5]).requires_grad_(True)
        model.module_(xt)[np.arange(5), labels].sum().backward()
        assert np.allclose(clf.class_gradient(x[:5], labels)[:, 0], xt.grad.numpy(), atol=1e-6)
        box = to_art(model, access="probabilities")
        assert isinstance(box, BlackBoxClassifier) and np.allclose(box.predict(x), model.predict_proba(X), atol=1e-6)


def test_to_art_keeps_the_vib_sampling_seeded(faces_models):
    from defenses.interop.art import to_art

    X, _, models = faces_models
    vib = models["vib"]
    x = X[:, None].astype(np.float32)
    clf = to_art(vib, random_state=3)
    first, second = clf.predict(x), clf.predict(x)
    assert not np.allclose(first, second)  # one latent draw per pass, as the VIB releases
    assert np.allclose(first, vib.predict_proba(X, random_state=3), atol=1e-6)  # the same draw as the estimator's
    assert np.allclose(to_art(vib, random_state=3).predict(x), first)
    det = to_art(vib.set_params(deterministic_eval=True))
    assert np.allclose(det.predict(x), det.predict(x))
    vib.set_params(deterministic_eval=False)
    box = to_art(vib, access="probabilities", random_state=1)
    assert np.allclose(box.predict(x), to_art(vib, access="probabilities", random_state=1).predict(x))


def test_to_art_releases_perturbed_outputs_but_unperturbed_gradients(faces_models):
    from defenses import output
    from defenses.interop.art import to_art
    from defenses.neural import as_target

    X, y, models = faces_models
    x = X[:, None].astype(np.float32)
    cnn = models["cnn"]
    rounded = output.round_confidences(0.1).wrap(cnn)
    assert np.allclose(to_art(rounded, access="probabilities").predict(x), rounded.predict_proba(X), atol=1e-6)
    white = to_art(rounded)
    assert np.allclose(white.predict(x), rounded.predict_proba(X), atol=1e-6)
    assert np.allclose(white.class_gradient(x[:3], y[:3]), to_art(cnn).class_gradient(x[:3], y[:3]))
    with pytest.raises(ValueError, match="CNNClassifier"):
        to_art(object())
    with pytest.raises(ValueError, match="input_shape"):
        to_art(as_target(cnn.module_, cnn.classes_))
    with pytest.raises(ValueError, match="access"):
        to_art(cnn, access="weights")


def test_miface_runs_end_to_end_and_raises_the_target_class_score(faces_models):
    from defenses.interop.art import MIFaceAttack, to_art

    X, _y, models = faces_models
    targets = np.arange(N_ID)
    for name, model in models.items():
        attack = MIFaceAttack(max_iter=30, learning_rate=0.1, random_state=0).fit(model)
        recon = attack.invert(targets).images
        assert recon.shape == (N_ID, 1, 16, 16) and recon.min() >= 0 and recon.max() <= 1
        score = to_art(model, random_state=0).predict(recon)[targets, targets]
        start = to_art(model, random_state=0).predict(np.zeros_like(recon))[targets, targets]
        assert score.mean() > start.mean(), name
    cnn = models["cnn"]
    attack = MIFaceAttack(max_iter=5, init="random", random_state=4).fit(cnn)
    a = attack.invert([0, 1])
    assert np.array_equal(a.images, attack.invert([0, 1]).images)  # every call starts from random_state
    assert list(a.identities) == [0, 1]
    mean_face = X.mean(axis=0)
    assert MIFaceAttack(max_iter=2, init=mean_face).fit(cnn).invert([0, 1, 2]).images.shape == (3, 1, 16, 16)
    with pytest.raises(ValueError, match="target label"):
        MIFaceAttack(max_iter=1).fit(cnn).invert([N_ID + 3])
    with pytest.raises(ValueError, match="init"):
        MIFaceAttack(max_iter=1, init="noise")
    with pytest.warns(DeprecationWarning):  # the old call shape, one release
        assert np.array_equal(MIFaceAttack(max_iter=5, init="random", random_state=4).invert(cnn, [0, 1]), a.images)
