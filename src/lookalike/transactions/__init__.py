"""Transactions in: the clean customer table built from order lines, as of any date.

Most retailers have order lines, not a one-row-per-customer export. :func:`read_transactions`
(:mod:`~lookalike.transactions.read`) reads a log of lines (customer id, order id, timestamp,
product or category, quantity, unit price) with the mapping of :class:`TransactionConfig`
(:mod:`~lookalike.transactions.config`); :func:`customers_from_transactions`
(:mod:`~lookalike.transactions.build`, which states every rule) turns it into the clean
customer table of the contract (section 2) with the line accounting of
:class:`TransactionReport` (:mod:`~lookalike.transactions.report`);
:func:`transaction_feature_spec` (:mod:`~lookalike.transactions.spec`) is the feature spec
for such a table.
"""

from __future__ import annotations

from lookalike.transactions.build import (
    DAYS_PER_MONTH,
    EXTRA_COLUMNS,
    UNKNOWN,
    WEEKDAYS,
    customers_from_transactions,
    parse_as_of,
)
from lookalike.transactions.config import TransactionConfig
from lookalike.transactions.read import read_transactions
from lookalike.transactions.report import EXCLUSION_REASONS, TransactionReport, TransactionsResult
from lookalike.transactions.spec import transaction_feature_spec

__all__ = [
    "DAYS_PER_MONTH",
    "EXCLUSION_REASONS",
    "EXTRA_COLUMNS",
    "UNKNOWN",
    "TransactionConfig",
    "TransactionReport",
    "TransactionsResult",
    "customers_from_transactions",
    "parse_as_of",
    "read_transactions",
    "transaction_feature_spec",
    "WEEKDAYS",
]
