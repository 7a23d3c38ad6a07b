#!/usr/bin/python3
"""The PyTorch side of bench/vs_pytorch.sh: Lockstep's default training tick and Euler sampler written the way a
PyTorch user would (Debian's python3-torch 1.13), on the same model, batch, data distribution and threads.

  train:  checkerboard CFM, MLP [x, sinusoidal t-embedding (32)] -> depth x (Linear width, SiLU) -> Linear 2,
          loss sum_d (u - (z - eps))^2 averaged over the batch, torch.optim.Adam (lr warm-up and cosine decay
          set per tick as Lockstep does), grad-norm read every tick, EMA of the weights (decay 0.999 with
          warm-up) -- everything a Lockstep tick does. Several ranks: DistributedDataParallel over gloo, each
          rank batch/ranks samples.
  sample: Euler steps of the probability-flow ODE for N samples in chunks of 4096.
Prints one JSON line: steady-state seconds per tick (median of windows after the first 20%), samples/s.
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp


class Mlp(torch.nn.Module):
    def __init__(self, width, depth, emb=32, max_freq=1000.0):
        super().__init__()
        half = emb // 2
        self.register_buffer("freqs", max_freq * torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half))
        layers, d = [], 2 + emb
        for _ in range(depth):
            layers.append(torch.nn.Linear(d, width))
            d = width
        self.hidden = torch.nn.ModuleList(layers)
        self.out = torch.nn.Linear(d, 2)

    def forward(self, x, t):
        a = t[:, None] * self.freqs[None, :]
        h = torch.cat([x, torch.sin(a), torch.cos(a)], 1)
        for layer in self.hidden:
            h = torch.nn.functional.silu(layer(h))
        return self.out(h)


def checkerboard(n, gen):
    cell = torch.randint(0, 8, (n,), generator=gen)
    row, col = cell // 2, 2 * (cell % 2) + (cell // 2) % 2
    return torch.stack([col + torch.rand(n, generator=gen) - 2.0, row + torch.rand(n, generator=gen) - 2.0], 1)


def lr_at(tick, steps, lr=2e-3, warm=100, final=0.1):
    if tick < warm:
        return lr * (tick + 1) / warm
    p = (tick - warm) / max(1, steps - warm)
    return lr * (final + (1 - final) * 0.5 * (1 + math.cos(math.pi * p)))


def train(rank, world, args, result):
    torch.set_num_threads(args.threads)
    if world > 1:  # MASTER_ADDR and MASTER_PORT come from main()
        dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(0)
    net = Mlp(args.width, args.depth)
    model = torch.nn.parallel.DistributedDataParallel(net) if world > 1 else net
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    ema = [p.detach().clone() for p in net.parameters()]
    gen = torch.Generator().manual_seed(1000 + rank)
    n = args.batch // world
    times = []
    for tick in range(args.steps):
        t0 = time.perf_counter()
        z = checkerboard(n, gen)
        eps = torch.randn(n, 2, generator=gen)
        t = (torch.arange(n) + rank * n + torch.rand(n, generator=gen)) / args.batch
        x = t[:, None] * z + (1 - t[:, None]) * eps
        loss = (model(x, t) - (z - eps)).pow(2).sum(1).mean()
        opt.zero_grad(set_to_none=False)
        loss.backward()
        for g in opt.param_groups:
            g["lr"] = lr_at(tick, args.steps)
        norm = torch.norm(torch.stack([p.grad.norm() for p in net.parameters()])).item()
        opt.step()
        d = min(0.999, (1 + tick) / (10 + tick))
        with torch.no_grad():
            for e, p in zip(ema, net.parameters()):
                e.lerp_(p, 1 - d)
        loss_value = loss.item()
        times.append(time.perf_counter() - t0)
    if rank == 0:
        steady = times[len(times) // 5:]
        w = 50
        windows = [sum(steady[i:i + w]) / w for i in range(0, len(steady) - w + 1, w)]
        tick_s = statistics.median(windows)
        result.update(tick_s=tick_s, samples_per_s=args.batch / tick_s, loss=loss_value, grad_norm=norm)
    if world > 1:
        dist.destroy_process_group()


def spawned(rank, world, args, queue):
    result = {}
    train(rank, world, args, result)
    if rank == 0:
        queue.put(result)


def sample(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = Mlp(args.width, args.depth)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    with torch.no_grad():
        for b in range(0, args.num, 4096):
            x = torch.randn(min(4096, args.num - b), 2, generator=gen)
            h = 1.0 / args.sample_steps
            for k in range(args.sample_steps):
                x = x + h * net(x, torch.full((x.shape[0],), k * h))
    secs = time.perf_counter() - t0
    return {"seconds": secs, "samples_per_s": args.num / secs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "sample"])
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--num", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1, help="sample: the noise seed (each process of a 2-process run its own)")
    ap.add_argument("--sample-steps", type=int, default=100)
    args = ap.parse_args()
    args.port = 29500 + os.getpid() % 1000
    if args.mode == "sample":
        print(json.dumps(sample(args)))
    elif args.ranks == 1:
        result = {}
        train(0, 1, args, result)
        print(json.dumps(result))
    else:
        os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(args.port)
        queue = mp.get_context("spawn").SimpleQueue()
        mp.spawn(spawned, args=(args.ranks, args, queue), nprocs=args.ranks)
        print(json.dumps(queue.get()))


if __name__ == "__main__":
    main()
