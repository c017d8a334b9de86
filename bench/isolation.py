"""What the reader's isolation costs on good files, in one process, same files, same run:

    python bench/isolation.py FILE...

Reads every file three ways: in this process (`read_file`, no protection, as ingest read before), then
through the isolated children (`read_isolated`) one at a time and two at a time. Prints one JSON line of
seconds. The first isolated pass includes starting the reading servers, as a run starts them once.
"""

import json
import sys
import time
from pathlib import Path

from pipeline.lib.isolation import ReaderLimits, ReadJob, read_isolated
from pipeline.lib.raw_layer import cyclic_gc_paused
from pipeline.lib.reader import read_file
from pipeline.lib.tablespecs import SOURCES


def main(paths: list[Path]) -> None:
    jobs = [ReadJob(p, p.name, p.parent.name, SOURCES[p.parent.name]) for p in paths if p.parent.name in SOURCES]
    started = time.perf_counter()
    with cyclic_gc_paused():  # as the pipeline read files in process before the isolation
        for job in jobs:
            read_file(job.path, job.relative, job.source, job.specs)
    result = {"in_process": time.perf_counter() - started}
    for processes in (1, 2):
        started = time.perf_counter()
        outcomes = list(read_isolated(jobs, ReaderLimits(4 * 1024**3, 600, processes)))
        result[f"isolated_{processes}"] = time.perf_counter() - started
        assert all(o.result.outcome != "rejected" for o in outcomes)
    print(json.dumps(result))


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]])
