"""Evaluation: proving that lookalikes beat the rules marketers write.

- :mod:`lookalike.evaluation.metrics` — pure ranking metrics (precision/recall/lift at n,
  gain curve, decile table, AUC, average precision) and bootstrap summaries over splits.
- :mod:`lookalike.evaluation.rules` — rule baselines: the best simple rule chosen on the
  seed side only, rank by past spend, and a supervised seeds-vs-base classifier.
- :mod:`lookalike.evaluation.tasks` — evaluation tasks (which customers are seeds and targets).
- :mod:`lookalike.evaluation.backtest` — the harness: hide positives, rank, compare.
"""
