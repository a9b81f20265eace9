"""Entry point for ``spark-submit``: ``spark-submit .../lookalike/distributed/__main__.py DATA -o OUT``."""

import typer

from lookalike.distributed.cli import spark_expand_cmd

if __name__ == "__main__":
    typer.run(spark_expand_cmd)
