#!/usr/bin/python3
"""The PyTorch side of bench/vs_pytorch.sh for images: Lockstep's Fashion-MNIST U-Net (configs/fashion_mnist.textproto:
channels 32, levels 1-2-2, one residual block per level, attention at 7x7, class-conditional with a null class)
written in PyTorch, trained as Lockstep trains it (batch 128, CFM on the linear path, label dropout 0.1, bf16
autocast with group norms in float32, Adam, gradient norm, EMA), and sampled with Heun. --channels-last 1 lays the
network out NHWC (slower here: 117 against 143 samples/s in float32 on the Xeon of 2026-11-28).
Prints one JSON line: train: steady-state seconds per tick and samples/s; sample: seconds and samples/s.

On a GPU (bench/gpu_check.sh): --device cuda, --precision fp32|bf16|fp16 (fp16: autocast in float16 with
torch.amp's GradScaler, the gradient norm read after unscaling, as Lockstep's fp16_mixed), --data random (random
images of Fashion-MNIST's shape, for machines without the data set; the speed does not depend on them). There the
data set lives on the GPU and every draw comes from a CUDA generator, and the gradient norm and the EMA use the
foreach kernels (torch._foreach_norm, torch._foreach_lerp_): the tuned way to write the same tick. --graphs 1
captures the forward and backward pass in one CUDA graph (torch.cuda.graph) after three warm-up passes and
replays it every tick; the inputs are copied into its static tensors, Adam (and GradScaler's unscale, step and
update) run outside it, as Lockstep's engine.cuda_graphs does. --window N takes the median over the last N ticks
(default: all ticks after the first fifth). The JSON line then also has device, precision, graphs and
peak_device_mib (torch.cuda.max_memory_allocated). The CPU path and its output are those of vs_pytorch.sh."""
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

from peer_common import AMP, draw_batch, grad_scaler, precision_of


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


def random_images(n=8192):
    """Fashion-MNIST's shape and range, random pixels (uint8 levels, as a packed file holds them)."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 784), generator=g).float() / 127.5 - 1.0
    return x, torch.randint(0, 10, (n,), generator=g)


def median_tick(times, window):
    return statistics.median(times[-window:] if window else times[len(times) // 5:])


def train(args):
    torch.manual_seed(0)
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    prec = precision_of(args)
    amp = AMP[prec]
    if prec == "fp16" and not cuda:
        raise SystemExit("--precision fp16 needs --device cuda (no float16 autocast on the CPU)")
    if args.graphs and not cuda:
        raise SystemExit("--graphs 1 needs --device cuda")
    data, labels = images() if args.data == "fashion" else random_images()
    data, labels = data.to(dev), labels.to(dev)
    net = Unet().to(dev)
    if args.channels_last:
        net.layout = torch.channels_last
        net.to(memory_format=torch.channels_last)
    params = list(net.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    ema = [p.detach().clone() for p in params]
    gen = torch.Generator(device=dev).manual_seed(args.seed)
    scaler = grad_scaler() if prec == "fp16" else None

    def draw():
        x, t, y, z, eps = draw_batch(data, labels, args.batch, gen, dev)
        return x, t, y, z - eps

    def forward_backward(x, t, y, target):
        with torch.autocast(dev.type, dtype=amp or torch.bfloat16, enabled=amp is not None, cache_enabled=not args.graphs):
            loss = (net(x, t, y) - target).pow(2).sum(1).mean()
        (scaler.scale(loss) if scaler else loss).backward()
        return loss

    graph = None
    if args.graphs:
        static = draw()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up passes (cuDNN's choices, the scaler's state), then the capture
            for _ in range(3):
                opt.zero_grad(set_to_none=True)
                forward_backward(*static)
        torch.cuda.current_stream().wait_stream(side)
        opt.zero_grad(set_to_none=True)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):  # backward writes .grad in the graph's pool: replays overwrite it
            static_loss = forward_backward(*static)
    times = []
    for tick in range(args.steps):
        t0 = time.perf_counter()
        if graph is not None:
            for dst, src in zip(static, draw()):
                dst.copy_(src)
            graph.replay()
            loss = static_loss
        else:
            opt.zero_grad(set_to_none=False)
            loss = forward_backward(*draw())
        if scaler:
            scaler.unscale_(opt)
        if cuda:
            norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm([p.grad for p in params]))).item()
        else:
            norm = torch.norm(torch.stack([p.grad.norm() for p in params])).item()
        if scaler:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        d = min(0.999, (1 + tick) / (10 + tick))
        with torch.no_grad():
            if cuda:
                torch._foreach_lerp_(ema, params, 1 - d)
            else:
                for e, p in zip(ema, params):
                    e.lerp_(p, 1 - d)
        loss.item()
        times.append(time.perf_counter() - t0)
    tick_s = median_tick(times, args.window)
    out = {"tick_s": tick_s, "samples_per_s": args.batch / tick_s, "grad_norm": norm,
           "parameters": sum(p.numel() for p in params)}
    if cuda:
        out.update({"device": torch.cuda.get_device_name(dev), "precision": prec, "graphs": bool(args.graphs),
                    "peak_device_mib": torch.cuda.max_memory_allocated(dev) / 2**20, "ticks": args.steps})
    return out


def sample(args):
    torch.manual_seed(0)
    dev = torch.device(args.device)
    net = Unet().to(dev)
    gen = torch.Generator().manual_seed(args.seed)  # the noise is drawn on the CPU, as Lockstep draws it
    t0 = time.perf_counter()
    with torch.no_grad():
        x = torch.randn(args.num, 784, generator=gen).to(dev)
        y = torch.arange(args.num, device=dev) % 10
        h = 1.0 / args.sample_steps
        for k in range(args.sample_steps):
            tk = torch.full((args.num,), k * h, device=dev)
            k1 = net(x, tk, y)
            k2 = net(x + h * k1, tk + h, y)
            x = x + 0.5 * h * (k1 + k2)
        x = x.cpu()  # the samples come back to the host (and the GPU's work is finished)
    secs = time.perf_counter() - t0
    return {"seconds": secs, "samples_per_s": args.num / secs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "sample"])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bf16", type=int, default=1, help="bf16 autocast (when --precision is not given)")
    ap.add_argument("--precision", choices=["fp32", "bf16", "fp16"], help="overrides --bf16")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--data", choices=["fashion", "random"], default="fashion")
    ap.add_argument("--graphs", type=int, default=0, help="cuda: capture forward and backward in a CUDA graph")
    ap.add_argument("--window", type=int, default=0, help="median over the last N ticks (0: after the first fifth)")
    ap.add_argument("--channels-last", type=int, default=0)
    ap.add_argument("--num", type=int, default=256)
    ap.add_argument("--seed", type=int, default=1, help="sample: the noise seed (each process of a 2-process run its own)")
    ap.add_argument("--sample-steps", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(json.dumps(train(args) if args.mode == "train" else sample(args)))


if __name__ == "__main__":
    main()
