"""One exception hierarchy: each class says its exit code and HTTP status; warnings carry codes."""

from __future__ import annotations

import ast
import copy
import inspect
import json
import pickle
from pathlib import Path

import pytest

import lookalike
from lookalike import errors
from lookalike.errors import (
    AccessDenied,
    CampaignError,
    DatabaseBusyError,
    DatabaseError,
    EmptyDataError,
    InputError,
    InputTooLarge,
    LookalikeError,
    MissingColumnsError,
    ModelFormatError,
    NotFound,
    ParameterError,
    QuarantinedCustomerError,
    RecallFloorError,
    ResultWarning,
    UnknownCustomerError,
    UnsupportedFormatError,
    UploadTooLarge,
)

SRC = Path(lookalike.__file__).parent

EXPECTED = {  # class: (exit code, HTTP status) — the table in the errors.py docstring
    LookalikeError: (2, 400), InputError: (3, 400), EmptyDataError: (3, 400), MissingColumnsError: (3, 400),
    UnsupportedFormatError: (3, 400), InputTooLarge: (3, 413), UploadTooLarge: (3, 413), ParameterError: (2, 400),
    RecallFloorError: (2, 400), NotFound: (2, 404), UnknownCustomerError: (2, 404), QuarantinedCustomerError: (2, 404),
    ModelFormatError: (3, 400), AccessDenied: (2, 403), CampaignError: (2, 400), DatabaseError: (4, 503),
    DatabaseBusyError: (4, 503),
}


def test_every_error_class_declares_its_exit_code_and_http_status():
    classes = {c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, LookalikeError)}
    assert classes == set(EXPECTED)
    for cls, (code, status) in EXPECTED.items():
        assert (cls.exit_code, cls.http_status) == (code, status), cls.__name__
        assert cls.__name__ in errors.__doc__  # drawn in the hierarchy


def test_a_busy_database_is_a_campaign_error_that_says_unavailable():
    exc = DatabaseBusyError("busy")
    assert isinstance(exc, CampaignError) and isinstance(exc, DatabaseError)
    assert (exc.exit_code, exc.http_status) == (4, 503)


def test_no_lookalike_error_is_defined_outside_errors_py():
    """Every class deriving from a Lookalike error lives in errors.py (found by reading the source)."""
    names = {c.__name__ for c in EXPECTED}
    outside = []
    for path in SRC.rglob("*.py"):
        if path.name == "errors.py" and path.parent == SRC:
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                if bases & names:
                    outside.append(f"{path.relative_to(SRC)}:{node.name}")
    assert outside == []


def test_result_warning_is_its_message_with_a_code():
    w = ResultWarning("too_few_candidates", "only 3 customers qualify", candidates=3)
    assert str(w) == w == w.message == "only 3 customers qualify" and type(str(w)) is str
    assert w.code == "too_few_candidates" and w.params == {"candidates": 3}
    assert json.dumps({"warnings": [w]}) == '{"warnings": ["only 3 customers qualify"]}'
    for clone in (pickle.loads(pickle.dumps(w)), copy.deepcopy(w)):
        assert (clone, clone.code, clone.params) == (w, w.code, w.params)
    assert repr(w) == "ResultWarning('too_few_candidates', 'only 3 customers qualify')"


@pytest.mark.parametrize("cls", [NotFound, UnknownCustomerError])
def test_not_found_errors_answer_404(cls):
    exc = cls(["X"], 10) if cls is UnknownCustomerError else cls("no dataset 'x'")
    assert exc.http_status == 404 and exc.exit_code == 2
