#!/usr/bin/python3
"""The PyTorch side of the `dit` case of bench/vs_pytorch.sh: Lockstep's DiT (common/model/dit.cpp; DiT's models.py
with the null class for guidance and an output of the input's channels) in PyTorch 1.13, with the same parameter count
and initialisation scheme (Xavier-uniform linear maps with zero biases, normal(0.02) time MLP and class embedding,
zero adaLN modulations and final layer, fixed 2-D sine-cosine positions). Trained as Lockstep trains it: conditional
flow matching on the linear path, stratified times, label dropout 0.1, Adam, global gradient norm, EMA; optionally
under bf16 autocast and with torch.utils.checkpoint around every block. Sampled with Euler steps under no_grad.
Data: random images in [-1, 1] (the speed does not depend on them). Prints one JSON line: train: steady-state
seconds per tick, samples/s, parameters and peak resident set (MiB); sample: seconds and images/s.

On a GPU (bench/gpu_check.sh): --device cuda, --precision fp32|bf16|fp16 (fp16: float16 autocast with torch.amp's
GradScaler, the gradient norm read after unscaling, as Lockstep's fp16_mixed), --size B for DiT-B/2,
--micro-batch M (gradient accumulation in chunks of M samples, each chunk's loss its sum over B, as
train.micro_batch), --window N (median over the last N ticks; default: all after the first fifth), --chunk (images a
sampling call). There attention is torch's fused F.scaled_dot_product_attention (Lockstep's attention on CUDA), the
data and every draw live on the GPU, and the gradient norm and EMA use the foreach kernels; the JSON line also has
device, precision and peak_device_mib (torch.cuda.max_memory_allocated). The CPU path and its output are those of
vs_pytorch.sh (explicit softmax attention, as PyTorch 1.13 has no fused one)."""
import argparse
import json
import math
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as ckpt

from peer_common import AMP, draw_batch, grad_scaler, precision_of

SIZES = {"S": (12, 384, 6), "B": (12, 768, 12), "L": (24, 1024, 16), "XL": (28, 1152, 16)}


def xavier_linear(i, o):
    l = nn.Linear(i, o)
    nn.init.xavier_uniform_(l.weight)
    nn.init.zeros_(l.bias)
    return l


def sincos_1d(dim, pos):
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))
    out = pos.double()[:, None] * omega[None, :]
    return torch.cat([out.sin(), out.cos()], 1)


def sincos_2d(width, rows, cols):
    idx = torch.arange(rows * cols)
    return torch.cat([sincos_1d(width // 2, idx % cols), sincos_1d(width // 2, idx // cols)], 1).float()


def modulate(x, shift, scale):
    return x * (1 + scale[:, None]) + shift[:, None]


class Block(nn.Module):
    fused_attention = False  # F.scaled_dot_product_attention (set on CUDA)

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.qkv, self.proj = xavier_linear(width, 3 * width), xavier_linear(width, width)
        self.fc1, self.fc2 = xavier_linear(width, 4 * width), xavier_linear(4 * width, width)
        self.modulation = nn.Linear(width, 6 * width)
        nn.init.zeros_(self.modulation.weight); nn.init.zeros_(self.modulation.bias)

    def attention(self, x):
        n, t, w = x.shape
        q, k, v = self.qkv(x).view(n, t, 3, self.heads, w // self.heads).permute(2, 0, 3, 1, 4)
        if Block.fused_attention:
            return self.proj(F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, t, w))
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(w // self.heads), -1)
        return self.proj((a @ v).transpose(1, 2).reshape(n, t, w))

    def forward(self, x, c):
        m = self.modulation(c).chunk(6, 1)
        x = x + m[2][:, None] * self.attention(modulate(F.layer_norm(x, x.shape[-1:], eps=1e-6), m[0], m[1]))
        return x + m[5][:, None] * self.fc2(F.gelu(self.fc1(modulate(F.layer_norm(x, x.shape[-1:], eps=1e-6), m[3], m[4])), approximate="tanh"))


class DiT(nn.Module):
    def __init__(self, size="S", patch=2, shape=(3, 32, 32), classes=10, checkpoint=False, depth=0):
        super().__init__()
        depth, width, heads = depth or SIZES[size][0], SIZES[size][1], SIZES[size][2]
        self.shape, self.patch, self.checkpoint = shape, patch, checkpoint
        c, h, w = shape
        self.patch_embed = xavier_linear(c * patch * patch, width)
        self.register_buffer("positions", sincos_2d(width, h // patch, w // patch))
        self.register_buffer("freqs", 1000.0 * torch.exp(-math.log(10000.0) * torch.arange(128) / 128))
        self.time1, self.time2 = nn.Linear(256, width), nn.Linear(width, width)
        for l in (self.time1, self.time2):
            nn.init.normal_(l.weight, std=0.02); nn.init.zeros_(l.bias)
        self.classes = nn.Embedding(classes + 1, width)
        nn.init.normal_(self.classes.weight, std=0.02)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(depth))
        self.final_modulation, self.final = nn.Linear(width, 2 * width), nn.Linear(width, c * patch * patch)
        for l in (self.final_modulation, self.final):
            nn.init.zeros_(l.weight); nn.init.zeros_(l.bias)

    def forward(self, x, t, y):
        n, (c, h, w), p = x.shape[0], self.shape, self.patch
        r, q = h // p, w // p
        patches = x.view(n, c, r, p, q, p).permute(0, 2, 4, 1, 3, 5).reshape(n, r * q, c * p * p)
        z = self.patch_embed(patches) + self.positions
        a = t[:, None] * self.freqs[None, :]
        cond = F.silu(self.time2(F.silu(self.time1(torch.cat([a.sin(), a.cos()], 1)))) + self.classes(y))
        for b in self.blocks:
            z = ckpt.checkpoint(b, z, cond) if self.checkpoint and torch.is_grad_enabled() else b(z, cond)
        m = self.final_modulation(cond).chunk(2, 1)
        out = self.final(modulate(F.layer_norm(z, z.shape[-1:], eps=1e-6), m[0], m[1]))
        return out.float().view(n, r, q, p, p, c).permute(0, 5, 1, 3, 2, 4).reshape(n, -1)


def setup(args):
    dev = torch.device(args.device)
    Block.fused_attention = dev.type == "cuda" and hasattr(F, "scaled_dot_product_attention")
    return dev


def train(args):
    torch.manual_seed(0)
    dev = setup(args)
    cuda = dev.type == "cuda"
    prec = precision_of(args)
    amp = AMP[prec]
    if prec == "fp16" and not cuda:
        raise SystemExit("--precision fp16 needs --device cuda (no float16 autocast on the CPU)")
    shape = (args.channels, args.image, args.image)
    net = DiT(args.size, args.patch, shape, 10, bool(args.checkpoint), args.depth).to(dev)
    d = shape[0] * shape[1] * shape[2]
    data = torch.rand(4096, d) * 2 - 1
    labels = torch.randint(0, 10, (4096,))
    data, labels = data.to(dev), labels.to(dev)
    params = list(net.parameters())
    opt = torch.optim.Adam(params, lr=1e-4)
    ema = [p.detach().clone() for p in params]
    gen = torch.Generator(device=dev).manual_seed(args.seed)
    scaler = grad_scaler() if prec == "fp16" else None
    micro = args.micro_batch if 0 < args.micro_batch < args.batch else args.batch
    times = []
    for tick in range(args.steps):
        t0 = time.perf_counter()
        x, t, y, z, eps = draw_batch(data, labels, args.batch, gen, dev)
        opt.zero_grad(set_to_none=False)
        if micro == args.batch:
            with torch.autocast(dev.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
                loss = (net(x, t, y) - (z - eps)).pow(2).sum(1).mean()
            (scaler.scale(loss) if scaler else loss).backward()
        else:  # gradient accumulation: each chunk's squared error summed, over the whole batch
            for a in range(0, args.batch, micro):
                b = slice(a, a + micro)
                with torch.autocast(dev.type, dtype=amp or torch.bfloat16, enabled=amp is not None):
                    loss = (net(x[b], t[b], y[b]) - (z[b] - eps[b])).pow(2).sum() / args.batch
                (scaler.scale(loss) if scaler else loss).backward()
        if scaler:
            scaler.unscale_(opt)
        if cuda:
            torch.linalg.vector_norm(torch.stack(torch._foreach_norm([p.grad for p in params]))).item()
        else:
            torch.norm(torch.stack([p.grad.norm() for p in params])).item()
        if scaler:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()
        dec = min(0.999, (1 + tick) / (10 + tick))
        with torch.no_grad():
            if cuda:
                torch._foreach_lerp_(ema, params, 1 - dec)
            else:
                for e, p in zip(ema, params):
                    e.lerp_(p, 1 - dec)
        if cuda:
            loss.item()
        times.append(time.perf_counter() - t0)
    steady = statistics.median(times[-args.window:] if args.window else times[max(1, len(times) // 5):])
    out = {"seconds_per_tick": steady, "samples_per_s": args.batch / steady,
           "parameters": sum(p.numel() for p in params),
           "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if cuda:
        out.update({"device": torch.cuda.get_device_name(dev), "precision": prec, "micro_batch": micro,
                    "peak_device_mib": torch.cuda.max_memory_allocated(dev) / 2**20, "ticks": args.steps})
    print(json.dumps(out))


def sample(args):
    torch.manual_seed(0)
    dev = setup(args)
    shape = (args.channels, args.image, args.image)
    net = DiT(args.size, args.patch, shape, 10, depth=args.depth).to(dev)
    with torch.no_grad():  # a trained network's numbers, not the zero field of a new one
        for p in net.parameters():
            p.normal_(0, 0.02)
    gen = torch.Generator().manual_seed(args.seed)  # the noise is drawn on the CPU, as Lockstep draws it
    t0 = time.perf_counter()
    with torch.no_grad():
        for start in range(0, args.num, args.chunk):
            n = min(args.chunk, args.num - start)
            x = torch.randn(n, shape[0] * shape[1] * shape[2], generator=gen).to(dev)
            y = torch.arange(start, start + n, device=dev) % 10
            for k in range(args.sample_steps):
                t = torch.full((n,), k / args.sample_steps, device=dev)
                x = x + net(x, t, y) / args.sample_steps
            x = x.cpu()  # the samples come back to the host (and the GPU's work is finished)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "images_per_s": args.num / seconds}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "sample"])
    ap.add_argument("--size", default="S")
    ap.add_argument("--depth", type=int, default=0, help="blocks (default: the size's)")
    ap.add_argument("--patch", type=int, default=2)
    ap.add_argument("--image", type=int, default=32)
    ap.add_argument("--channels", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--bf16", type=int, default=0, help="bf16 autocast (when --precision is not given)")
    ap.add_argument("--precision", choices=["fp32", "bf16", "fp16"], help="overrides --bf16")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--micro-batch", type=int, default=0, help="gradient accumulation in chunks of this many samples (0: none)")
    ap.add_argument("--window", type=int, default=0, help="median over the last N ticks (0: after the first fifth)")
    ap.add_argument("--chunk", type=int, default=64, help="sample: images a network call")
    ap.add_argument("--checkpoint", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--num", type=int, default=64)
    ap.add_argument("--sample-steps", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    train(a) if a.mode == "train" else sample(a)
