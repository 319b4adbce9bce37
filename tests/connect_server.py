"""A Spark Connect server for the tests, in a process of its own: scoping's `spark.api.mode = "connect"`.

    python tests/connect_server.py PORT TOKEN

starts the Spark engine's session as a case with `[spark] master = "local[2]"` and
`config = { "spark.api.mode" = "connect" }` does (a driver serving Spark Connect on loopback, and its client), on the
port and with the token it is given (Spark's own settings), prints one line of JSON saying what session it got, and
serves until its standard input closes. The tests are then a Spark Connect client of it, as an analyst's machine is
of a cluster. It runs apart because a Spark Connect driver cannot start in a process where a classic Spark session
runs (the one of conftest.py).
"""

from __future__ import annotations

import json
import sys

from scoping.config import SparkSettings
from scoping.spark_engine import is_connect, session


def main(port: str, token: str) -> None:
    spark = session(SparkSettings(master="local[2]", config=(
        ("spark.api.mode", "connect"), ("spark.connect.authenticate.token", token),
        ("spark.connect.grpc.binding.port", port), ("spark.default.parallelism", "2"),
        ("spark.sql.shuffle.partitions", "2"))))
    said = {"connect": is_connect(spark), "version": spark.version,
            "answer": spark.sql("SELECT 6 * 7 AS answer").toArrow().column("answer").to_pylist()}
    print(json.dumps(said), flush=True)
    sys.stdin.read()  # serve until the tests close our standard input
    spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:3])
