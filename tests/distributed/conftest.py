"""A session-scoped local Spark (2 cores, 4 shuffle partitions, Arrow on), workers on this interpreter."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest


def _java() -> str | None:
    """The java Spark will start: $JAVA_HOME/bin/java when JAVA_HOME is set, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home:
        return str(Path(home) / "bin" / "java") if (Path(home) / "bin" / "java").is_file() else None
    return shutil.which("java")


@pytest.fixture(scope="session")
def spark():
    if _java() is None:  # Spark's own failure is a bash error from spark-class; say what is missing instead
        pytest.fail("Java is not installed (or JAVA_HOME points nowhere): the Spark tests need Java 17+. Run "
                    "`make test` (it installs it: `make java`) or install openjdk-17-jre-headless", pytrace=False)
    # Spark's Python workers start the system python3 unless told otherwise (no pyarrow there)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from lookalike.distributed import local_session

    session = local_session("local[2]", app_name="lookalike-tests", shuffle_partitions=4,
                            **{"spark.driver.memory": "1g", "spark.sql.adaptive.enabled": "false"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
