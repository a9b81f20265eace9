"""Uplift models: who will a campaign *change*? Learned from past campaigns with a control group.

Three meta-learners over scikit-learn base learners (a thin wrapper: the algorithms are a few lines
each, and causalml/econml would add heavy dependencies for the same estimators):

``two_model`` (T-learner)
    One outcome classifier per arm; uplift = P(y | treated, x) - P(y | control, x).
``x_learner``
    The two arm classifiers impute each customer's individual effect (treated: y - mu_c(x),
    control: mu_t(x) - y); one regressor per arm learns those effects, and the two are mixed with the
    propensity (the treated share, constant in a randomized campaign) — Künzel et al. 2019.
``class_transformation``
    One classifier of z = 1 when (treated and y) or (control and not y), the arms reweighted to equal
    size; uplift = 2 P(z | x) - 1 (Jaskowski & Jaroszewicz 2012).

Base learners: ``logistic`` (LogisticRegression / Ridge on the encoded features) and ``boosting``
(HistGradientBoostingClassifier / Regressor). Features are the finder's own encoding
(:func:`lookalike.features.make_feature_pipeline`, unweighted), so the model reads the same
customer table the finder does.

Saved like the finder, without pickle: a directory with ``manifest.json`` (format version,
learner, settings, feature spec, SHA-256 of each file), the training table (``training.parquet``:
features, arm and outcomes, no customer ids) and ``check.npy`` (the fitted model's predictions on
the training rows). :meth:`UpliftModel.load` refits the deterministic learners on the stored table
and refuses a directory whose predictions differ (tampered files, another library version).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import product
from pathlib import Path

import numpy as np
import pandas as pd

from lookalike._version import __version__
from lookalike.campaigns.uplift import uplift_metrics
from lookalike.cleaning.ids import normalize_ids
from lookalike.errors import CampaignError, InputError, MissingColumnsError, ModelFormatError, ParameterError
from lookalike.features import FeatureSpec, check_feature_input, make_feature_pipeline
from lookalike.io import MANIFEST_NAME, atomic_path, read_manifest, write_manifest, write_table

LEARNERS = ("two_model", "x_learner", "class_transformation")
BASES = ("logistic", "boosting")
#: The settings tried by cross-validation for each base learner. Small on purpose: uplift signals are weak
#: and noisy, and on Hillstrom (first half, 5-fold) strongly regularized logistic models won, while deeper
#: boosting, pairwise interactions and splines overfit (bench/results/uplift/hillstrom.md).
GRIDS: dict[str, list[dict]] = {
    "logistic": [{"C": c} for c in (0.001, 0.003, 0.01, 0.03, 0.1)],
    "boosting": [{"max_iter": it, "learning_rate": 0.05, "max_depth": depth, "min_samples_leaf": leaf}
                 for it, depth, leaf in ((50, 2, 500), (50, 3, 1000), (100, 2, 1500))],
}
UPLIFT_MODEL_FORMAT = "lookalike-uplift-model"
UPLIFT_MODEL_FORMAT_VERSION = 1
_TRAINING, _CHECK = "training.parquet", "check.npy"
_MANIFEST = MANIFEST_NAME
#: Outcome columns kept with the training table (the campaign store's names); planning reads them.
OUTCOMES = ("clicks", "conversions", "revenue")


# ------------------------------------------------------------------ base learners
def _classifier(base: str, params: dict, random_state: int):
    if base == "logistic":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=params.get("C", 1.0), max_iter=2000)
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(early_stopping=False, random_state=random_state, **params)


def _regressor(base: str, params: dict, random_state: int):
    if base == "logistic":
        from sklearn.linear_model import Ridge

        # Ridge's alpha plays the part of 1/C (both penalize the same squared coefficients).
        return Ridge(alpha=1.0 / params.get("C", 1.0))
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(early_stopping=False, random_state=random_state, **params)


def _p1(model, X: np.ndarray) -> np.ndarray:
    """P(class 1); a classifier fitted on one class only answers that class's probability."""
    p = model.predict_proba(X)
    classes = list(model.classes_)
    return p[:, classes.index(1)] if 1 in classes else np.zeros(len(X))


def _binary(y: np.ndarray, learner: str) -> np.ndarray:
    if learner != "x_learner" and not np.isin(y, [0, 1]).all():
        raise ParameterError(f"the {learner} learner needs a 0/1 outcome (e.g. conversions > 0); "
                             "use x_learner for amounts")
    return y


class _MetaLearner:
    """One of the three meta-learners on an encoded feature matrix (fit / predict uplift)."""

    def __init__(self, learner: str, base: str, params: dict, random_state: int = 0):
        if learner not in LEARNERS:
            raise ParameterError(f"learner must be one of {', '.join(LEARNERS)}, got {learner!r}")
        if base not in BASES:
            raise ParameterError(f"base learner must be one of {', '.join(BASES)}, got {base!r}")
        self.learner, self.base, self.params, self.random_state = learner, base, dict(params), random_state

    def fit(self, X: np.ndarray, t: np.ndarray, y: np.ndarray) -> "_MetaLearner":
        y = _binary(np.asarray(y, dtype=float), self.learner)
        t = np.asarray(t, dtype=bool)
        clf = lambda: _classifier(self.base, self.params, self.random_state)  # noqa: E731
        if self.learner == "class_transformation":
            z = (t & (y > 0)) | (~t & (y <= 0))
            share = t.mean()
            w = np.where(t, 0.5 / share, 0.5 / (1 - share))  # as if both arms had half the customers
            self.models_ = [clf().fit(X, z.astype(int), sample_weight=w)]
            return self
        yb = (y > 0).astype(int) if self.learner == "two_model" else y
        if self.learner == "two_model":
            self.models_ = [clf().fit(X[t], yb[t]), clf().fit(X[~t], yb[~t])]
            return self
        # x_learner: outcome models per arm (classifiers for 0/1 outcomes, regressors for amounts)
        binary = np.isin(y, [0, 1]).all()
        first = clf if binary else (lambda: _regressor(self.base, self.params, self.random_state))
        mu_t, mu_c = first().fit(X[t], y[t]), first().fit(X[~t], y[~t])
        pred = (lambda m, A: _p1(m, A)) if binary else (lambda m, A: m.predict(A))
        d_t = y[t] - pred(mu_c, X[t])
        d_c = pred(mu_t, X[~t]) - y[~t]
        reg = lambda: _regressor(self.base, self.params, self.random_state)  # noqa: E731
        self.propensity_ = float(t.mean())
        self.models_ = [reg().fit(X[t], d_t), reg().fit(X[~t], d_c)]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predicted uplift (treated minus control outcome) per row."""
        if self.learner == "class_transformation":
            return 2 * _p1(self.models_[0], X) - 1
        if self.learner == "two_model":
            return _p1(self.models_[0], X) - _p1(self.models_[1], X)
        tau_t, tau_c = self.models_[0].predict(X), self.models_[1].predict(X)
        # Künzel's g(x) = propensity: the effect learned on the larger arm's imputations gets more weight.
        return self.propensity_ * tau_c + (1 - self.propensity_) * tau_t


# ------------------------------------------------------------------ cross-validation
@dataclass(frozen=True)
class Candidate:
    """A learner with its base learner and settings."""

    learner: str
    base: str
    params: dict

    @property
    def name(self) -> str:
        """Short label, e.g. ``x_learner/boosting max_iter=100 ...``."""
        return f"{self.learner}/{self.base} " + " ".join(f"{k}={v}" for k, v in self.params.items())


def candidates(learners: tuple[str, ...] = LEARNERS, bases: tuple[str, ...] = BASES) -> list[Candidate]:
    """Every learner × base learner × setting of :data:`GRIDS`."""
    return [Candidate(lr, b, p) for lr, b in product(learners, bases) for p in GRIDS[b]]


@dataclass(frozen=True)
class CrossValidation:
    """Cross-validated Qini of each candidate (``table``: one row per candidate, best first)."""

    table: pd.DataFrame
    best: Candidate
    oof: np.ndarray           # out-of-fold uplift predictions of the best candidate, per training row
    n_splits: int


def _folds(t: np.ndarray, y: np.ndarray, n_splits: int, n_repeats: int,
           random_state: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import RepeatedStratifiedKFold

    strata = np.asarray(t, dtype=int) * 2 + (np.asarray(y) > 0).astype(int)
    cv = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=random_state)
    return list(cv.split(np.zeros(len(t)), strata))


def cross_validate(X: np.ndarray, t: np.ndarray, y: np.ndarray, cands: list[Candidate] | None = None, *,
                   n_splits: int = 5, n_repeats: int = 1, random_state: int = 0) -> CrossValidation:
    """Choose a candidate by its mean Qini coefficient over ``n_splits`` folds (stratified by arm and
    outcome), the whole split repeated ``n_repeats`` times with other shuffles (a steadier choice when
    the uplift signal is weak). ``oof`` averages each row's held-out predictions over the repeats.

    Only the data given is used: pass the training customers, never the ones the result will be judged on.
    """
    cands = cands or candidates()
    t = np.asarray(t, dtype=bool)
    y = np.asarray(y, dtype=float)
    if t.all() or not t.any():
        raise InputError("uplift needs customers in both arms (treatment and control)")
    folds = _folds(t, y, n_splits, n_repeats, random_state)
    rows, oofs = [], []
    for c in cands:
        oof = np.zeros(len(y))
        scores = []
        for train, test in folds:
            m = _MetaLearner(c.learner, c.base, c.params, random_state).fit(X[train], t[train], y[train])
            pred = m.predict(X[test])
            oof[test] += pred / n_repeats
            met = uplift_metrics(y[test], pred, t[test])
            scores.append([met["qini"], met["auuc"]])
        s = np.asarray(scores)
        rows.append({"candidate": c.name, "learner": c.learner, "base": c.base, "params": json.dumps(c.params),
                     "qini_mean": s[:, 0].mean(), "qini_sd": s[:, 0].std(ddof=1), "auuc_mean": s[:, 1].mean()})
        oofs.append(oof)
    table = pd.DataFrame(rows)
    best = int(table["qini_mean"].to_numpy().argmax())
    table = table.iloc[np.argsort(-table["qini_mean"].to_numpy(), kind="stable")].reset_index(drop=True)
    return CrossValidation(table, cands[best], oofs[best], n_splits * n_repeats)


# ------------------------------------------------------------------ the model
def _input_columns(spec: FeatureSpec, customers: pd.DataFrame) -> list[str]:
    """The columns the feature pipeline reads (derived ones from their sources), as present."""
    need = set(spec.required_input())
    if "avg_ticket" in spec.columns:
        need |= {"avg_ticket", "total_spent", "total_orders"}
    return [c for c in customers.columns if c in need]


class UpliftModel:
    """Predicted incremental response per customer, learned from a campaign's treatment and control arms.

    >>> from lookalike.campaigns.simulate import simulate_uplift_customers
    >>> sim = simulate_uplift_customers(4000, random_state=1)
    >>> m = UpliftModel("two_model", "logistic", spec=sim.spec).fit(sim.customers, sim.treatment, sim.converted)
    >>> m.predict(sim.customers).shape
    (4000,)
    """

    def __init__(self, learner: str = "auto", base: str = "auto", params: dict | None = None, *,
                 spec: FeatureSpec | None = None, outcome: str = "conversions", n_splits: int = 5,
                 n_repeats: int = 1, random_state: int = 0):
        self.learner, self.base, self.params = learner, base, params
        self.spec, self.outcome, self.random_state = spec, outcome, random_state
        self.n_splits, self.n_repeats = n_splits, n_repeats

    # -------------------------------------------------------------- fitting
    def fit(self, customers: pd.DataFrame, treatment: object, y: object, *,
            outcomes: pd.DataFrame | None = None, source: dict | None = None) -> "UpliftModel":
        """Fit on one row per customer of past campaign(s): features, arm (1 treated, 0 control), outcome.

        ``learner``/``base`` ``"auto"`` choose by cross-validated Qini among :func:`candidates`; the
        table of that choice is kept in ``cv_``. ``outcomes`` (clicks, conversions, revenue per row)
        are stored for :func:`lookalike.campaigns.plan.uplift_plan`; ``source`` describes the data.
        """
        spec = self.spec or FeatureSpec.default()
        t = np.asarray(treatment)
        y = np.asarray(y, dtype=float)
        if not (len(customers) == len(t) == len(y)):
            raise InputError(f"customers, treatment and outcome must have the same length "
                             f"({len(customers)}, {len(t)}, {len(y)})")
        if not np.isin(t, [0, 1]).all():
            raise InputError("treatment must hold only 0 (control) and 1 (treated)")
        if np.isnan(y).any():
            raise InputError("the outcome has missing values; campaign outcomes count a missing row as 0")
        t = t.astype(bool)
        for arm, mask in (("treatment", t), ("control", ~t)):
            if mask.sum() < 2 * self.n_splits:
                raise InputError(f"the {arm} arm has {int(mask.sum())} customers; an uplift model needs at least "
                                 f"{2 * self.n_splits} in each arm (more than a few hundred for a useful one)")

        check_feature_input(customers, spec)
        self.columns_ = _input_columns(spec, customers)
        pipeline = make_feature_pipeline(spec)
        X = np.asarray(pipeline.fit_transform(customers[self.columns_]), dtype=np.float64)
        # Only the X-learner models amounts (revenue); the other two need a 0/1 outcome.
        auto_learners = LEARNERS if np.isin(y, [0, 1]).all() else ("x_learner",)
        cands = [Candidate(lr, b, p) for lr in ((self.learner,) if self.learner != "auto" else auto_learners)
                 for b in ((self.base,) if self.base != "auto" else BASES)
                 for p in ([self.params] if self.params is not None else GRIDS[b])]
        cv = cross_validate(X, t, y, cands, n_splits=self.n_splits, n_repeats=self.n_repeats,
                            random_state=self.random_state)
        self.cv_, self.candidate_ = cv.table, cv.best
        self.oof_ = cv.oof
        self.spec_, self.pipeline_ = spec, pipeline
        self.model_ = _MetaLearner(cv.best.learner, cv.best.base, cv.best.params, self.random_state).fit(X, t, y)
        keep = self.columns_
        extra = outcomes.reset_index(drop=True) if outcomes is not None else pd.DataFrame(index=range(len(y)))
        self.training_ = pd.concat([customers[keep].reset_index(drop=True),
                                    pd.DataFrame({"_treatment": t.astype(np.int8), "_y": y, "_oof": cv.oof}),
                                    extra[[c for c in OUTCOMES if c in extra.columns]].add_prefix("_")], axis=1)
        self.source_ = dict(source or {})
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise ParameterError("this UpliftModel is not fitted; call fit() or UpliftModel.load() first")

    def predict(self, customers: pd.DataFrame) -> np.ndarray:
        """Predicted uplift per customer: expected outcome if contacted minus if not (in outcome units)."""
        self._check_fitted()
        check_feature_input(customers, self.spec_)
        missing = [c for c in self.columns_ if c not in customers.columns]
        if missing:
            raise MissingColumnsError(missing, customers.columns, where="the customer table (for the uplift model)")
        return self.model_.predict(np.asarray(self.pipeline_.transform(customers[self.columns_]), dtype=np.float64))

    # -------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save to a directory (manifest.json + training.parquet + check.npy; no pickle)."""
        self._check_fitted()

        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        write_table(self.training_, root / _TRAINING)
        check = self.model_.predict(self._training_X())
        with atomic_path(root / _CHECK) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, check, allow_pickle=False)
        manifest = {
            "format": UPLIFT_MODEL_FORMAT, "format_version": UPLIFT_MODEL_FORMAT_VERSION,
            "lookalike_version": __version__, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "learner": self.candidate_.learner, "base": self.candidate_.base, "params": self.candidate_.params,
            "outcome": self.outcome, "random_state": self.random_state, "n_splits": self.n_splits,
            "n_repeats": self.n_repeats,
            "spec": self.spec_.to_dict(),
            "n_treatment": int(self.training_["_treatment"].sum()),
            "n_control": int((self.training_["_treatment"] == 0).sum()),
            "source": self.source_, "cross_validation": self.cv_.to_dict("records"),
        }
        write_manifest(root, manifest, (_TRAINING, _CHECK))
        return root

    def _training_X(self) -> np.ndarray:
        return np.asarray(self.pipeline_.transform(self.training_[self.columns_]), dtype=np.float64)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "UpliftModel":
        """Load a model saved by :meth:`save`: checks format, checksums, then refits and compares predictions."""
        root = Path(path)
        mpath = root / _MANIFEST
        refit = "; fit it again with lookalike uplift fit"
        m = read_manifest(root, fmt=UPLIFT_MODEL_FORMAT, version=UPLIFT_MODEL_FORMAT_VERSION, files=(_TRAINING, _CHECK),
                          what="an uplift model", fix="fit it again with lookalike uplift fit")
        try:
            spec = FeatureSpec.from_dict(m["spec"])
            model = cls(m["learner"], m["base"], dict(m["params"]), spec=spec, outcome=m["outcome"],
                        n_splits=int(m["n_splits"]), n_repeats=int(m["n_repeats"]),
                        random_state=int(m["random_state"]))
            meta = _MetaLearner(m["learner"], m["base"], dict(m["params"]), int(m["random_state"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFormatError(f"{mpath} has invalid settings ({exc}){refit}") from None
        training = pd.read_parquet(root / _TRAINING, engine="pyarrow")
        with open(root / _CHECK, "rb") as fh:
            check = np.load(fh, allow_pickle=False)
        model.spec_, model.pipeline_ = spec, make_feature_pipeline(spec)
        model.columns_ = [c for c in training.columns if not c.startswith("_")]
        try:
            X = np.asarray(model.pipeline_.fit_transform(training[model.columns_]), dtype=np.float64)
            t, y = training["_treatment"].to_numpy(), training["_y"].to_numpy()
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelFormatError(f"{root / _TRAINING} does not fit the model's feature spec ({exc}){refit}") from None
        model.model_ = meta.fit(X, t, y)
        # The learners are deterministic: refitting must give back the saved predictions exactly.
        if check.shape != (len(training),) or not np.allclose(model.model_.predict(X), check, atol=1e-6):
            raise ModelFormatError(f"{root}: refitting on the stored training table does not reproduce the saved "
                                   f"predictions (another scikit-learn version, or modified files){refit}")
        model.candidate_ = Candidate(m["learner"], m["base"], dict(m["params"]))
        model.cv_ = pd.DataFrame(m.get("cross_validation") or [])
        model.training_, model.oof_, model.source_ = training, training["_oof"].to_numpy(), dict(m.get("source") or {})
        return model

    def describe(self) -> dict:
        """Learner, settings, arms and the cross-validated Qini of the chosen candidate (JSON-ready)."""
        self._check_fitted()
        best = self.cv_.iloc[0].to_dict() if len(self.cv_) else {}
        return {"learner": self.candidate_.learner, "base": self.candidate_.base, "params": self.candidate_.params,
                "outcome": self.outcome, "n_treatment": int(self.training_["_treatment"].sum()),
                "n_control": int((self.training_["_treatment"] == 0).sum()),
                "cv_qini_mean": best.get("qini_mean"), "cv_qini_sd": best.get("qini_sd"), "source": self.source_}



# ------------------------------------------------------------------ training data from the campaign store
@dataclass(frozen=True)
class TrainingData:
    """Past campaigns' customers joined to their features: what :meth:`UpliftModel.fit` takes."""

    customers: pd.DataFrame      # feature columns, one row per (campaign, customer)
    treatment: np.ndarray        # 1 treated, 0 control
    outcomes: pd.DataFrame       # clicks, conversions, revenue (0 for customers without an outcome row)
    campaigns: list[str]
    not_found: int               # assigned customers missing from the customer table (left out)

    def outcome(self, name: str) -> np.ndarray:
        """The outcome to model: ``conversions`` or ``clicks`` as 0/1 (did the customer ...), ``revenue`` as amounts."""
        if name not in OUTCOMES:
            raise ParameterError(f"outcome must be one of {', '.join(OUTCOMES)}, got {name!r}")
        v = self.outcomes[name].to_numpy(dtype=float)
        return v if name == "revenue" else (v > 0).astype(float)


def campaign_training_data(engine, campaigns: list[int | str], customers: pd.DataFrame) -> TrainingData:
    """Treatment and control customers of stored campaigns with their outcomes and features.

    Every campaign must have imported outcomes (customers without a row count as zero, as in the
    report). A customer in several campaigns gives one row per campaign.
    """
    from lookalike.campaigns.store import campaign_frame, get_campaign

    if not campaigns:
        raise ParameterError("name at least one campaign with a control group and imported outcomes")
    frames, names = [], []
    for ref in campaigns:
        camp = get_campaign(engine, ref)
        f = campaign_frame(engine, camp.id)
        if not f["has_outcome"].any():
            raise CampaignError(f"campaign {camp.name!r} has no outcomes yet; import them with "
                                f"lookalike campaign outcomes {camp.name} FILE")
        if not (f["arm"] == "control").any():
            raise CampaignError(f"campaign {camp.name!r} has no control group; uplift needs one")
        frames.append(f)
        names.append(camp.name)
    rows = pd.concat(frames, ignore_index=True)
    if "customer_id" not in customers.columns:
        raise MissingColumnsError(["customer_id"], customers.columns, where="the customer table")
    table = customers.assign(customer_id=normalize_ids(customers["customer_id"])).drop_duplicates("customer_id")
    joined = rows[["customer_id", "arm", *OUTCOMES]].merge(table, on="customer_id", how="inner")
    if joined.empty:
        raise InputError(f"none of the {len(rows):,} customers of {', '.join(names)} is in the customer table; "
                         "pass the data the campaigns' audiences were built from")
    return TrainingData(joined.drop(columns=["arm", *OUTCOMES]), (joined["arm"] == "treatment").to_numpy(dtype=int),
                        joined[list(OUTCOMES)].reset_index(drop=True), names, int(len(rows) - len(joined)))
