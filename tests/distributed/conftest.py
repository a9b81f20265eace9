"""A session-scoped local Spark (2 cores, 4 shuffle partitions, Arrow on), workers on this interpreter."""

from __future__ import annotations

import os
import sys

import pytest


@pytest.fixture(scope="session")
def spark():
    # Spark's Python workers start the system python3 unless told otherwise (no pyarrow there)
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    from lookalike.distributed import local_session

    session = local_session("local[2]", app_name="lookalike-tests", shuffle_partitions=4,
                            **{"spark.driver.memory": "1g", "spark.sql.adaptive.enabled": "false"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
