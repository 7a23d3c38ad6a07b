"""What the PyTorch peers of the image benchmarks (pytorch_unet.py, pytorch_dit.py) share: the precision names, the
fp16 gradient scaler, and the draw of one training batch of the linear path (labels dropped to the null class 10 with
probability 0.1, stratified times, x_t = t z + (1 - t) eps, target z - eps). The CPU draw is the one these peers always
made; on a GPU every draw stays on the device."""
import torch

AMP = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def precision_of(args):
    return args.precision if args.precision else ("bf16" if args.bf16 else "fp32")


def grad_scaler():
    if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
        return torch.amp.GradScaler("cuda")
    return torch.cuda.amp.GradScaler()


def draw_batch(data, labels, batch, gen, dev):
    """One batch: (x, t, y, z, eps) drawn with generator gen on device dev."""
    idx = torch.randint(0, data.shape[0], (batch,), generator=gen, device=dev)
    z, y = data[idx], labels[idx].clone()
    if dev.type == "cuda":
        y = torch.where(torch.rand(batch, generator=gen, device=dev) < 0.1, torch.full_like(y, 10), y)
    else:  # the CPU path as it always was
        y[torch.rand(batch, generator=gen) < 0.1] = 10
    eps = torch.randn(z.shape, generator=gen, device=dev)
    t = (torch.arange(batch, device=dev) + torch.rand(batch, generator=gen, device=dev)) / batch
    x = t[:, None] * z + (1 - t[:, None]) * eps
    return x, t, y, z, eps
