#!/usr/bin/python3
"""All-reduce times of this machine's Open MPI (the library Lockstep's mpi backend uses), for the alpha-beta
model of bench/allreduce_model.sh. Run under mpirun; rank 0 prints one JSON line per size: bytes, median seconds
of MPI_Allreduce(SUM) on float32 buffers (20 repetitions after 3 warm-ups)."""
import json
import time

import numpy as np
from mpi4py import MPI

comm = MPI.COMM_WORLD
for exp in range(10, 27, 2):  # 1 KiB .. 64 MiB
    n = (1 << exp) // 4
    send, recv = np.ones(n, np.float32), np.empty(n, np.float32)
    times = []
    for rep in range(23):
        comm.Barrier()
        t = time.perf_counter()
        comm.Allreduce(send, recv, op=MPI.SUM)
        if rep >= 3:
            times.append(time.perf_counter() - t)
    worst = comm.reduce(float(np.median(times)), op=MPI.MAX, root=0)
    if comm.rank == 0:
        print(json.dumps({"bytes": 4 * n, "seconds": worst}), flush=True)
