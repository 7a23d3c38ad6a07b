#!/usr/bin/python3
"""The PyTorch side of bench/vs_pytorch.sh for images: Lockstep's Fashion-MNIST U-Net (configs/fashion_mnist.textproto:
channels 32, levels 1-2-2, one residual block per level, attention at 7x7, class-conditional with a null class)
written in PyTorch, trained as Lockstep trains it (batch 128, CFM on the linear path, label dropout 0.1, bf16
autocast with group norms in float32, Adam, gradient norm, EMA), and sampled with Heun. --channels-last 1 lays the
network out NHWC (slower here: 117 against 143 samples/s in float32 on the Xeon of 2026-11-28).
Prints one JSON line: train: steady-state seconds per tick and samples/s; sample: seconds and samples/s."""
import argparse
import gzip
import json
import math
import statistics
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def gn32(norm, x):
    return norm(x.float())


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb, groups):
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(groups, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb, cout)
        self.norm2, self.conv2 = nn.GroupNorm(groups, cout), nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight); nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, e):
        h = self.conv1(F.silu(gn32(self.norm1, x))) + self.emb(e)[:, :, None, None]
        h = self.conv2(F.silu(gn32(self.norm2, h)))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(nn.Module):
    def __init__(self, c, heads, groups):
        super().__init__()
        self.heads, self.norm = heads, nn.GroupNorm(groups, c)
        self.qkv, self.proj = nn.Conv2d(c, 3 * c, 1), nn.Conv2d(c, c, 1)
        nn.init.zeros_(self.proj.weight); nn.init.zeros_(self.proj.bias)

    def forward(self, x):
        n, c, h, w = x.shape
        d = c // self.heads
        qkv = self.qkv(gn32(self.norm, x)).reshape(n, 3, self.heads, d, h * w)
        q, k, v = (qkv[:, i].reshape(n * self.heads, d, h * w) for i in range(3))
        a = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(d), -1)
        return x + self.proj(torch.bmm(v, a.transpose(1, 2)).reshape(n, c, h, w))


class Unet(nn.Module):
    def __init__(self, ch=32, mult=(1, 2, 2), blocks=1, heads=4, groups=8, classes=10):
        super().__init__()
        emb, temb = 4 * ch, ch
        self.register_buffer("freqs", 1000.0 * torch.exp(-math.log(10000.0) * torch.arange(temb // 2) / (temb // 2)))
        self.time1, self.time2 = nn.Linear(temb, emb), nn.Linear(emb, emb)
        self.classes, self.num_classes = nn.Embedding(classes + 1, emb), classes
        self.inp = nn.Conv2d(1, ch, 3, padding=1)
        skips, cur = [ch], ch
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        for i, m in enumerate(mult):
            level = nn.ModuleList()
            for _ in range(blocks):
                level.append(ResBlock(cur, ch * m, emb, groups)); cur = ch * m; skips.append(cur)
            self.down.append(level)
            if i + 1 < len(mult):
                self.downsample.append(nn.Conv2d(cur, cur, 3, stride=2, padding=1)); skips.append(cur)
        self.mid1, self.attn, self.mid2 = ResBlock(cur, cur, emb, groups), Attention(cur, heads, groups), ResBlock(cur, cur, emb, groups)
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(len(mult))):
            level = nn.ModuleList()
            for _ in range(blocks + 1):
                level.append(ResBlock(cur + skips.pop(), ch * mult[i], emb, groups)); cur = ch * mult[i]
            self.up.append(level)
            self.upsample.append(nn.Conv2d(cur, cur, 3, padding=1) if i > 0 else nn.Identity())
        self.out_norm, self.out = nn.GroupNorm(groups, cur), nn.Conv2d(cur, 1, 3, padding=1)
        self.layout = torch.contiguous_format
        nn.init.zeros_(self.out.weight); nn.init.zeros_(self.out.bias)

    def forward(self, x, t, y):
        a = t[:, None] * self.freqs[None, :]
        e = F.silu(self.time2(F.silu(self.time1(torch.cat([torch.sin(a), torch.cos(a)], 1)))) + self.classes(y))
        h = self.inp(x.view(-1, 1, 28, 28).contiguous(memory_format=self.layout))
        skips = [h]
        for i, level in enumerate(self.down):
            for b in level:
                h = b(h, e); skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h); skips.append(h)
        h = self.mid2(self.attn(self.mid1(h, e)), e)
        for j, level in enumerate(self.up):
            for b in level:
                h = b(torch.cat([h, skips.pop()], 1), e)
            if j + 1 < len(self.up):
                h = self.upsample[j](F.interpolate(h, size=skips[-1].shape[2:], mode="nearest"))
        return self.out(F.silu(gn32(self.out_norm, h))).float().reshape(x.shape[0], -1)


def images():
    with gzip.open("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)
    with gzip.open("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz") as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return torch.from_numpy(x.astype(np.float32) / 127.5 - 1.0), torch.from_numpy(y.astype(np.int64))


def train(args):
    torch.manual_seed(0)
    data, labels = images()
    net = Unet()
    if args.channels_last:
        net.layout = torch.channels_last
        net.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    ema = [p.detach().clone() for p in net.parameters()]
    gen = torch.Generator().manual_seed(args.seed)
    times = []
    for tick in range(args.steps):
        t0 = time.perf_counter()
        idx = torch.randint(0, data.shape[0], (args.batch,), generator=gen)
        z, y = data[idx], labels[idx].clone()
        y[torch.rand(args.batch, generator=gen) < 0.1] = 10
        eps = torch.randn(z.shape, generator=gen)
        t = (torch.arange(args.batch) + torch.rand(args.batch, generator=gen)) / args.batch
        x = t[:, None] * z + (1 - t[:, None]) * eps
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(args.bf16)):
            loss = (net(x, t, y) - (z - eps)).pow(2).sum(1).mean()
        opt.zero_grad(set_to_none=False)
        loss.backward()
        norm = torch.norm(torch.stack([p.grad.norm() for p in net.parameters()])).item()
        opt.step()
        d = min(0.999, (1 + tick) / (10 + tick))
        with torch.no_grad():
            for e, p in zip(ema, net.parameters()):
                e.lerp_(p, 1 - d)
        loss.item()
        times.append(time.perf_counter() - t0)
    tick_s = statistics.median(times[len(times) // 5:])
    return {"tick_s": tick_s, "samples_per_s": args.batch / tick_s, "grad_norm": norm,
            "parameters": sum(p.numel() for p in net.parameters())}


def sample(args):
    torch.manual_seed(0)
    net = Unet()
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.perf_counter()
    with torch.no_grad():
        x = torch.randn(args.num, 784, generator=gen)
        y = torch.arange(args.num) % 10
        h = 1.0 / args.sample_steps
        for k in range(args.sample_steps):
            tk = torch.full((args.num,), k * h)
            k1 = net(x, tk, y)
            k2 = net(x + h * k1, tk + h, y)
            x = x + 0.5 * h * (k1 + k2)
    secs = time.perf_counter() - t0
    return {"seconds": secs, "samples_per_s": args.num / secs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "sample"])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", type=int, default=1)
    ap.add_argument("--channels-last", type=int, default=0)
    ap.add_argument("--num", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1, help="sample: the noise seed (each process of a 2-process run its own)")
    ap.add_argument("--sample-steps", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps(train(args) if args.mode == "train" else sample(args)))


if __name__ == "__main__":
    main()
