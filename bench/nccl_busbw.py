#!/usr/bin/env python3
"""All-reduce bus bandwidth over this machine's GPUs, as nccl-tests reports it: torch.distributed with the nccl
backend, one process per GPU (torch.multiprocessing.spawn), float32 sums of 1 MiB to 256 MiB. For each size: the
median time of --iters all-reduces after --warmup (each timed between two synchronizations, the slowest rank's time
counts), algorithm bandwidth size / time and bus bandwidth size / time * 2 (N - 1) / N, the bytes each GPU's link
carries in a ring all-reduce, comparable across GPU counts. With fewer than 2 GPUs there is no bus to measure: it
says so and exits 0. `--backend gloo --procs 2` runs the same on CPU tensors (how it is tested without a GPU).

  python3 bench/nccl_busbw.py [--sizes-mib 1,4,16,64,256] [--iters 20] [--warmup 5]

Prints a table on stderr and one JSON line on stdout: {"gpus", "backend", "rows": [{"mib", "time_us", "algbw_gbs",
"busbw_gbs"}]} or {"gpus", "note"}. Run by bench/gpu_check.sh."""
import argparse
import json
import os
import socket
import statistics
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, n, args, port, out_path):
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group(args.backend, rank=rank, world_size=n)
    cuda = args.backend == "nccl"
    dev = torch.device("cuda", rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(dev)
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    rows = []
    for mib in args.sizes_mib:
        x = torch.ones(int(mib * 2**20) // 4, dtype=torch.float32, device=dev)
        for _ in range(args.warmup):
            dist.all_reduce(x)
        times = []
        for _ in range(args.iters):
            sync()
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(x)
            sync()
            times.append(time.perf_counter() - t0)
        t = torch.tensor([statistics.median(times)], dtype=torch.float64, device=dev)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)  # the slowest rank's median
        secs = t.item()
        size = mib * 2**20
        rows.append({"mib": mib, "time_us": secs * 1e6, "algbw_gbs": size / secs / 1e9,
                     "busbw_gbs": size / secs / 1e9 * 2 * (n - 1) / n})
    if rank == 0:
        with open(out_path, "w") as f:
            json.dump(rows, f)
    dist.barrier()
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes-mib", default="1,4,16,64,256")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--backend", choices=["nccl", "gloo"], default="nccl")
    ap.add_argument("--procs", type=int, default=0, help="processes (default: every GPU LibTorch sees)")
    args = ap.parse_args()
    args.sizes_mib = [float(s) for s in args.sizes_mib.split(",")]
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    n = args.procs or gpus
    if args.backend == "nccl" and n < 2:
        note = f"bus bandwidth needs 2 or more GPUs (this machine has {gpus})"
        print(f"nccl_busbw: {note}", file=sys.stderr)
        print(json.dumps({"gpus": gpus, "backend": args.backend, "note": note}))
        return
    if args.backend == "nccl" and n > gpus:
        raise SystemExit(f"nccl_busbw: {n} processes but {gpus} GPUs")
    out_path = f"/tmp/nccl_busbw-{os.getpid()}.json"
    mp.spawn(worker, args=(n, args, free_port(), out_path), nprocs=n, join=True)
    with open(out_path) as f:
        rows = json.load(f)
    os.unlink(out_path)
    print(f"nccl_busbw: {args.backend} all-reduce, {n} processes, float32, median of {args.iters}", file=sys.stderr)
    print(f"{'MiB':>8} {'time us':>12} {'algbw GB/s':>12} {'busbw GB/s':>12}", file=sys.stderr)
    for r in rows:
        print(f"{r['mib']:8g} {r['time_us']:12.1f} {r['algbw_gbs']:12.2f} {r['busbw_gbs']:12.2f}", file=sys.stderr)
    print(json.dumps({"gpus": gpus, "backend": args.backend, "procs": n, "rows": rows}))


if __name__ == "__main__":
    main()
