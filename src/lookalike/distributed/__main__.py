"""Entry point for ``spark-submit``: ``spark-submit .../lookalike/distributed/__main__.py DATA -o OUT``.

A script, not library code: it runs the ``lookalike spark-expand`` command (kept at this path
because cluster jobs name it; the import-linter contract lists it as the one allowed upward import).
"""

import typer

from lookalike.cli.spark import spark_expand_cmd

if __name__ == "__main__":
    typer.run(spark_expand_cmd)
