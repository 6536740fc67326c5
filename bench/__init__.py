"""careloop bench: throughput benchmarks that start their own servers (docs/performance.md).

Public surface::

    Options, run_ingest_bench      ingest_bench.py  (``careloop bench ingest``)
    Workload, Expected             workload.py      (seeded, contract-valid readings)
    PhaseResult                    phases.py        (one verified phase)

``python -m bench.naive_bridge`` is the reference consumer the ingest figures are compared
with.
"""

from bench.ingest_bench import Options, run_ingest_bench
from bench.phases import PhaseResult
from bench.workload import Expected, Workload

__all__ = ["Expected", "Options", "PhaseResult", "Workload", "run_ingest_bench"]
