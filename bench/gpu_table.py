#!/usr/bin/env python3
"""Writes bench/gpu_check.sh's report: a markdown page with the machine, the build, the tests, one table of Lockstep
against PyTorch (case, Lockstep, PyTorch, Lockstep / PyTorch, peak GPU memory, notes) and the NCCL bus bandwidth.
Standard library only (it runs under whichever python3 the GPU machine has).

  python3 bench/gpu_table.py ROWS.jsonl OUT.md [--meta KEY=VALUE]... [--nccl NCCL.json]

ROWS.jsonl: one JSON object per row, in table order: {"case", "lockstep", "pytorch", "unit", "ls_mib", "pt_mib",
"note"}; a missing or null number prints as "-" (a side that failed or was skipped, the note says which). The ratio
is Lockstep / PyTorch of the two numbers, both rates (higher is better). Meta keys, printed in this order when
given: gpu, driver, torch, date, host, budget, deps, configure, build, tests, protobuf_symbols, method, skipped."""
import argparse
import json
import os


def num(v):
    if v is None:
        return "-"
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"


LABELS = [("gpu", "GPU"), ("driver", "driver"), ("torch", "PyTorch"), ("date", "date"), ("host", "host"),
          ("budget", "time"), ("deps", "build dependencies"), ("configure", "configure"), ("build", "build"),
          ("tests", "tests `[cuda],[nccl]`"), ("invariance", "1 against 2 GPUs"),
          ("protobuf_symbols", "LibTorch's protobuf symbols"), ("method", "method"), ("skipped", "skipped")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("rows")
    ap.add_argument("out")
    ap.add_argument("--meta", action="append", default=[])
    ap.add_argument("--nccl")
    a = ap.parse_args()
    meta = dict(m.split("=", 1) for m in a.meta)
    rows = []
    if os.path.exists(a.rows):
        with open(a.rows) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    out = ["# Lockstep on a GPU against PyTorch (bench/gpu_check.sh)", ""]
    for key, label in LABELS:
        if meta.get(key):
            out.append(f"- **{label}**: {meta[key]}")
    out += ["", "| case | Lockstep | PyTorch | Lockstep / PyTorch | peak GPU MiB, Lockstep / PyTorch | notes |",
            "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        ls, pt = r.get("lockstep"), r.get("pytorch")
        ratio = f"{ls / pt:.2f}" if ls and pt else "-"
        mib = f"{num(r.get('ls_mib'))} / {num(r.get('pt_mib'))}" if r.get("ls_mib") or r.get("pt_mib") else ""
        label = r["case"] + (f" ({r['unit']})" if r.get("unit") else "")
        out.append(f"| {label} | {num(ls)} | {num(pt)} | {ratio} | {mib} | {r.get('note', '')} |")
    if not rows:
        out.append("| (no benchmark ran) | | | | | |")
    if a.nccl and os.path.exists(a.nccl):
        out += ["", "## NCCL all-reduce bus bandwidth (bench/nccl_busbw.py)", ""]
        try:
            with open(a.nccl) as f:
                n = json.loads(f.read().strip().splitlines()[-1])
        except (ValueError, IndexError) as e:
            n = {"note": f"no result ({e})"}
        if n.get("rows"):
            out += [f"{n['procs']} GPUs, float32 sums, torch.distributed over NCCL, median time, the slowest rank's.", "",
                    "| MiB | time µs | algbw GB/s | busbw GB/s |", "| --- | --- | --- | --- |"]
            for r in n["rows"]:
                out.append(f"| {r['mib']:g} | {r['time_us']:.1f} | {r['algbw_gbs']:.1f} | {r['busbw_gbs']:.1f} |")
        else:
            out.append(n.get("note", "no result"))
    text = "\n".join(out) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text, end="")


if __name__ == "__main__":
    main()
