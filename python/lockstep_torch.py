"""Lockstep's models in plain PyTorch: load what `lockstep export` wrote, compute the velocity, sample, fine-tune,
and save weights that Lockstep's `model.init_from` loads.

One file; it needs only torch and numpy (Debian's python3-torch). Copy it next to your code.

    import lockstep_torch as lt
    model = lt.load("model.safetensors")          # or "model.pt" (with "model.json" beside it)
    x0 = torch.randn(16, *model.item_shape)       # noise at t = 0 (scaled by beta(t_min) for VE paths: model.prior)
    x1 = model.sample(x0, steps=40, method="heun", y=torch.arange(16) % 10, guidance=2.0)
    lt.save(model, "tuned.safetensors")           # back into Lockstep: model { init_from: "tuned.safetensors" }

Conventions are Lockstep's (docs/interop.md): time runs from t = 0 (noise) to t = 1 (data); the network's output is
turned into a velocity by the path's exact conversions (VELOCITY, SCORE, EPSILON, X0 predictions); classifier-free
guidance is u(x|null) + w (u(x|y) - u(x|null)), the null class being the label num_classes; images are flat or
[N, C, H, W] tensors in [-1, 1]. Parameter names equal Lockstep's, so the state dict loads by name in both directions.
"""

import json
import math
import os
import struct
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["load", "save", "LockstepModel", "read_safetensors", "write_safetensors", "read_array", "images_from_npz",
           "build_network", "Mlp", "Unet", "Dit", "Classifier"]

# ----------------------------------------------------------------------------------------------------------------
# safetensors, read and written with the standard library and numpy


_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_CRC_KEY = "lockstep_crc32"


def _content_crc(entries, metadata, data):
    """Lockstep's CRC-32 of a safetensors file: entries (name, dtype, shape, begin, end) in offset order, the metadata
    but the CRC itself (sorted by key), then the data (common/io/safetensors.cpp)."""
    canon = bytearray()
    for name, dtype, shape, begin, end in entries:
        canon += name.encode() + b"\0" + dtype.encode() + b"\0"
        for d in shape:
            canon += str(d).encode() + b","
        canon += b"\0" + str(begin).encode() + b"," + str(end).encode() + b"\0"
    canon += b"\1"
    for k in sorted(metadata):
        if k != _CRC_KEY:
            canon += k.encode() + b"\0" + metadata[k].encode() + b"\0"
    return zlib.crc32(data, zlib.crc32(bytes(canon))) & 0xFFFFFFFF


def read_safetensors(path):
    """(tensors: dict name -> torch.Tensor, metadata: dict str -> str). Checks what Lockstep checks: the header, the
    shapes against the bytes, the tiling of the data, and Lockstep's CRC where the file has one."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > 100 << 20 or n > len(data) - 8:
        raise ValueError(f"{path}: damaged or truncated: header length {n}, file {len(data)} bytes")
    header = json.loads(data[8:8 + n].decode("utf-8"))
    metadata = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    entries = sorted(((k, v["dtype"], list(v["shape"]), *v["data_offsets"]) for k, v in header.items()), key=lambda e: (e[3], e[4]))
    at = 0
    tensors = {}
    for name, dtype, shape, begin, end in entries:
        if dtype not in _DTYPES:
            raise ValueError(f"{path}: tensor '{name}': unknown dtype {dtype}")
        np_type = np.dtype(_DTYPES[dtype])
        count = int(np.prod(shape)) if shape else 1
        if begin != at or end - begin != count * np_type.itemsize or end > len(body):
            raise ValueError(f"{path}: tensor '{name}': data_offsets [{begin}, {end}) do not fit its shape {shape} or the data")
        at = end
        arr = np.frombuffer(body, dtype=np_type, count=count, offset=begin).reshape(shape).copy()
        t = torch.from_numpy(arr)
        if dtype == "BF16":
            t = t.view(torch.int16).view(torch.bfloat16)
        tensors[name] = t
    if at != len(body):
        raise ValueError(f"{path}: {len(body) - at} bytes after the last tensor")
    if "lockstep" in metadata and _CRC_KEY not in metadata:
        raise ValueError(f"{path}: damaged: it carries a Lockstep description but not the {_CRC_KEY} written with it")
    if _CRC_KEY in metadata and metadata[_CRC_KEY] != "%08x" % _content_crc(entries, metadata, body):
        raise ValueError(f"{path}: damaged: its content does not match the CRC-32 Lockstep wrote into it")
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Writes float32 tensors (a dict name -> tensor, in its order) with string metadata and Lockstep's CRC."""
    metadata = {k: str(v) for k, v in (metadata or {}).items() if k != _CRC_KEY}
    metadata.setdefault("format", "pt")
    entries, chunks, at = [], [], 0
    for name, t in tensors.items():
        a = t.detach().to("cpu", torch.float32).contiguous().numpy()
        entries.append((name, "F32", list(a.shape), at, at + a.nbytes))
        chunks.append(a.tobytes())
        at += a.nbytes
    data = b"".join(chunks)
    metadata[_CRC_KEY] = "%08x" % _content_crc(entries, metadata, data)
    header = {"__metadata__": dict(sorted(metadata.items()))}
    for name, dtype, shape, begin, end in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)
    os.replace(tmp, path)


def read_array(path):
    """A Lockstep .npy (samples, points) as a float32 tensor, or a .npz of images as (images float [N, C, H, W] in
    [-1, 1], labels or None)."""
    if path.endswith(".npz"):
        return images_from_npz(path)
    return torch.from_numpy(np.load(path).astype(np.float32))


def images_from_npz(path):
    """`lockstep sample --format npz` output (uint8 arr_0 [N, H, W, C], labels arr_1) as float [N, C, H, W]."""
    with np.load(path) as z:
        images = torch.from_numpy(z["arr_0"].astype(np.float32)).permute(0, 3, 1, 2).contiguous()
        labels = torch.from_numpy(z["arr_1"].astype(np.int64)) if "arr_1" in z.files else None
    return (images + 0.5) / 127.5 - 1.0, labels  # the middle of each of EDM's quantisation bins


# ----------------------------------------------------------------------------------------------------------------
# the networks: parameter names equal Lockstep's (common/model/*.cpp)


def embedding_frequencies(size, max_frequency):
    half = size // 2
    return max_frequency * torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)


def sinusoidal(t, freqs):
    args = t[:, None] * freqs[None, :].to(t.dtype)
    return torch.cat([torch.sin(args), torch.cos(args)], 1)


class _FlowMapInputs(nn.Module):
    """The flow-map inputs of TVM's networks: the gap s - t and 1 / guidance, embedded (common/model/model_factory.cpp)."""

    def __init__(self, spec):
        super().__init__()
        self.enabled = bool(spec.get("enabled", False))
        self.guidance = self.enabled and bool(spec.get("guidance", False))
        self.size = int(spec.get("gap_embedding", 32))
        self.extra = (self.size * (2 if self.guidance else 1)) if self.enabled else 0
        if self.enabled:
            self.register_buffer("gap_freqs", embedding_frequencies(self.size, float(spec.get("gap_max_frequency", 1.0))), persistent=False)
        if self.guidance:
            self.register_buffer("guidance_freqs", embedding_frequencies(self.size, 1.0), persistent=False)

    def features(self, t, s, w):
        gap = sinusoidal(s - t, self.gap_freqs)
        if not self.guidance:
            return gap
        inverse = w.reciprocal() if w is not None else torch.ones_like(t)
        return torch.cat([gap, sinusoidal(inverse, self.guidance_freqs)], 1)

    def scale(self, out, w):
        return out * w.to(out.dtype).view(-1, 1) if self.guidance and w is not None else out


class _Net(nn.Module):
    def forward(self, x, t, y=None):
        if self.flow.enabled:
            return self.forward_map(x, t, t, y, None)
        return self.run(x, sinusoidal(t, self.freqs), y)

    def forward_map(self, x, t, s, y=None, w=None):
        """TVM's F(x, t, s | y, w): the mean velocity of the jump from t to s."""
        temb = torch.cat([sinusoidal(t, self.freqs), self.flow.features(t, s, w)], 1)
        return self.flow.scale(self.run(x, temb, y), w)

    def _labels(self, y, n, device):
        return y if y is not None else torch.full((n,), self.num_classes, dtype=torch.int64, device=device)


class Mlp(_Net):
    def __init__(self, cfg, dim, num_classes=0, flow_map=None):
        super().__init__()
        self.flow = _FlowMapInputs(flow_map or {})
        self.num_classes = num_classes
        self.register_buffer("freqs", embedding_frequencies(int(cfg["time_embedding"]), float(cfg["time_max_frequency"])), persistent=False)
        width = int(cfg["width"])
        d_in = dim + int(cfg["time_embedding"]) + self.flow.extra
        if num_classes > 0:
            self.classes = nn.Embedding(num_classes + 1, int(cfg["class_embedding"]))
            d_in += int(cfg["class_embedding"])
        self.depth = int(cfg["depth"])
        for i in range(self.depth):
            self.add_module(f"fc{i}", nn.Linear(d_in, width))
            d_in = width
        self.out = nn.Linear(d_in, dim)

    def run(self, x, temb, y):
        parts = [x, temb]  # [sinusoidal(t), flow-map features]
        if self.num_classes > 0:
            parts.append(self.classes(self._labels(y, x.shape[0], x.device)))
        h = torch.cat(parts, 1)
        for i in range(self.depth):
            h = F.silu(getattr(self, f"fc{i}")(h))
        return self.out(h)


class ResBlock(nn.Module):
    def __init__(self, c_in, c_out, emb, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h + self.emb(emb)[:, :, None, None])))
        return (self.skip(x) if self.skip is not None else x) + h


class Attention(nn.Module):
    def __init__(self, channels, heads, groups):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(groups, channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        n, c, h, w = x.shape
        d = c // self.heads
        qkv = self.qkv(self.norm(x)).reshape(n, 3, self.heads, d, h * w)
        q, k, v = (qkv[:, i].reshape(n * self.heads, d, h * w) for i in range(3))
        attn = torch.softmax(torch.bmm(q.transpose(1, 2), k) / math.sqrt(d), dim=-1)
        out = torch.bmm(v, attn.transpose(1, 2)).reshape(n, c, h, w)
        return x + self.proj(out)


class Unet(_Net):
    def __init__(self, cfg, item_shape, num_classes=0, flow_map=None):
        super().__init__()
        self.flow = _FlowMapInputs(flow_map or {})
        self.num_classes = num_classes
        self.shape = list(item_shape)
        ch, groups = int(cfg["channels"]), int(cfg["groups"])
        mult = [int(m) for m in cfg["channel_mult"]] or [1, 2, 2]
        emb = 4 * ch
        temb = int(cfg["time_embedding"]) or ch + ch % 2
        self.register_buffer("freqs", embedding_frequencies(temb, float(cfg["time_max_frequency"])), persistent=False)
        self.time1 = nn.Linear(temb + self.flow.extra, emb)
        self.time2 = nn.Linear(emb, emb)
        if num_classes > 0:
            self.classes = nn.Embedding(num_classes + 1, emb)
        self.add_module("in", nn.Conv2d(item_shape[0], ch, 3, padding=1))
        blocks = int(cfg["res_blocks"])
        self.levels = len(mult)
        self.blocks = blocks
        skips, cur = [ch], ch
        for i in range(self.levels):
            out = ch * mult[i]
            for b in range(blocks):
                self.add_module(f"down{i}_{b}", ResBlock(cur, out, emb, groups))
                cur = out
                skips.append(cur)
            if i + 1 < self.levels:
                self.add_module(f"downsample{i}", nn.Conv2d(cur, cur, 3, stride=2, padding=1))
                skips.append(cur)
        self.mid1 = ResBlock(cur, cur, emb, groups)
        self.attention = Attention(cur, int(cfg["attention_heads"]), groups) if cfg["attention"] else None
        self.mid2 = ResBlock(cur, cur, emb, groups)
        for i in reversed(range(self.levels)):
            out = ch * mult[i]
            for b in range(blocks + 1):
                self.add_module(f"up{i}_{b}", ResBlock(cur + skips.pop(), out, emb, groups))
                cur = out
            if i > 0:
                self.add_module(f"upsample{i}", nn.Conv2d(cur, cur, 3, padding=1))
        self.out_norm = nn.GroupNorm(groups, cur)
        self.out = nn.Conv2d(cur, item_shape[0], 3, padding=1)

    def run(self, x, temb, y):
        n = x.shape[0]
        h = x.reshape(n, *self.shape)
        e = self.time2(F.silu(self.time1(temb)))
        if self.num_classes > 0:
            e = e + self.classes(self._labels(y, n, x.device))
        e = F.silu(e)
        h = getattr(self, "in")(h)
        skips = [h]
        for i in range(self.levels):
            for b in range(self.blocks):
                h = getattr(self, f"down{i}_{b}")(h, e)
                skips.append(h)
            if i + 1 < self.levels:
                h = getattr(self, f"downsample{i}")(h)
                skips.append(h)
        h = self.mid1(h, e)
        if self.attention is not None:
            h = self.attention(h)
        h = self.mid2(h, e)
        for i in reversed(range(self.levels)):
            for b in range(self.blocks + 1):
                h = getattr(self, f"up{i}_{b}")(torch.cat([h, skips.pop()], 1), e)
            if i > 0:
                h = F.interpolate(h, size=skips[-1].shape[2:], mode="nearest")
                h = getattr(self, f"upsample{i}")(h)
        return self.out(F.silu(self.out_norm(h))).reshape(n, -1)


def _sincos_1d(dim, pos):
    omega = torch.pow(10000.0, -torch.arange(dim // 2, dtype=torch.float64) / (dim // 2))
    out = pos.to(torch.float64)[:, None] * omega[None, :]
    return torch.cat([out.sin(), out.cos()], 1)


def sincos_positions(width, rows, cols):
    """DiT's 2-D sine-cosine position embedding [rows * cols, width]."""
    idx = torch.arange(rows * cols, dtype=torch.int64)
    return torch.cat([_sincos_1d(width // 2, idx % cols), _sincos_1d(width // 2, idx // cols)], 1).to(torch.float32)


def _layer_norm(x, weight=None, bias=None):
    return F.layer_norm(x, (x.shape[-1],), weight, bias, 1e-6)


def _modulate(x, shift, scale):
    return x * (1 + scale[:, None]) + shift[:, None]


class DitBlock(nn.Module):
    def __init__(self, width, heads, mlp_hidden, qk_norm):
        super().__init__()
        self.width, self.heads = width, heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        if qk_norm:
            self.q_norm = nn.LayerNorm(width // heads, eps=1e-6)
            self.k_norm = nn.LayerNorm(width // heads, eps=1e-6)
        else:
            self.q_norm = self.k_norm = None
        self.fc1 = nn.Linear(width, mlp_hidden)
        self.fc2 = nn.Linear(mlp_hidden, width)
        self.modulation = nn.Linear(width, 6 * width)

    def attention(self, x):
        n, tokens, _ = x.shape
        d = self.width // self.heads
        qkv = self.qkv(x).view(n, tokens, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        if self.q_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        attn = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(d), dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(n, tokens, self.width))

    def forward(self, x, c):
        m = self.modulation(c).chunk(6, 1)
        h = x + m[2][:, None] * self.attention(_modulate(_layer_norm(x), m[0], m[1]))
        mlp = self.fc2(F.gelu(self.fc1(_modulate(_layer_norm(h), m[3], m[4])), approximate="tanh"))
        return h + m[5][:, None] * mlp


class Dit(_Net):
    def __init__(self, cfg, shape, item_shape, num_classes=0, flow_map=None):
        super().__init__()
        self.flow = _FlowMapInputs(flow_map or {})
        self.num_classes = num_classes
        self.shape = list(item_shape)
        self.patch = p = int(cfg["patch"])
        width = int(shape["width"])
        channels, rows, cols = item_shape[0], item_shape[1] // p, item_shape[2] // p
        self.patch_embed = nn.Linear(channels * p * p, width)
        pos = sincos_positions(width, rows, cols)
        if cfg["learned_positions"]:
            self.positions = nn.Parameter(pos)
        else:
            self.register_buffer("positions", pos, persistent=False)
        self.register_buffer("freqs", embedding_frequencies(int(cfg["time_embedding"]), float(cfg["time_max_frequency"])), persistent=False)
        self.time1 = nn.Linear(int(cfg["time_embedding"]) + self.flow.extra, width)
        self.time2 = nn.Linear(width, width)
        if num_classes > 0:
            self.classes = nn.Embedding(num_classes + 1, width)
        self.depth = int(shape["depth"])
        for b in range(self.depth):
            self.add_module(f"block{b}", DitBlock(width, int(shape["heads"]), int(shape["mlp_hidden"]), bool(cfg["qk_norm"])))
        self.final_modulation = nn.Linear(width, 2 * width)
        self.final = nn.Linear(width, channels * p * p)

    def run(self, x, temb, y):
        n, p = x.shape[0], self.patch
        c_, rows, cols = self.shape[0], self.shape[1] // p, self.shape[2] // p
        patches = x.reshape(n, c_, rows, p, cols, p).permute(0, 2, 4, 1, 3, 5).reshape(n, rows * cols, c_ * p * p)
        h = self.patch_embed(patches) + self.positions[None].to(x.dtype)
        c = self.time2(F.silu(self.time1(temb)))
        if self.num_classes > 0:
            c = c + self.classes(self._labels(y, n, x.device))
        c = F.silu(c)
        for b in range(self.depth):
            h = getattr(self, f"block{b}")(h, c)
        m = self.final_modulation(c).chunk(2, 1)
        out = self.final(_modulate(_layer_norm(h), m[0], m[1]))
        return out.view(n, rows, cols, p, p, c_).permute(0, 5, 1, 3, 2, 4).reshape(n, -1)


class Classifier(nn.Module):
    """The image classifier of `lockstep eval --classifier`: forward(x) gives logits, features(x) the feature layer."""

    def __init__(self, cfg, item_shape, num_classes):
        super().__init__()
        c, self.shape = int(cfg["channels"]), list(item_shape)
        self.conv1 = nn.Conv2d(item_shape[0], c, 3, padding=1)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)
        self.conv3 = nn.Conv2d(c, 2 * c, 3, padding=1)
        self.conv4 = nn.Conv2d(2 * c, 2 * c, 3, padding=1)
        self.fc = nn.Linear(2 * c * (item_shape[1] // 4) * (item_shape[2] // 4), int(cfg["features"]))
        self.out = nn.Linear(int(cfg["features"]), num_classes)

    def features(self, x):
        h = x.reshape(x.shape[0], *self.shape)
        h = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(h)))), 2)
        h = F.max_pool2d(F.relu(self.conv4(F.relu(self.conv3(h)))), 2)
        return F.relu(self.fc(h.flatten(1)))

    def forward(self, x, t=None, y=None):
        return self.out(self.features(x))


def build_network(info):
    """The PyTorch module described by an export's info (its parameters initialised by PyTorch, not Lockstep)."""
    m, shape, k = info["model"], [int(s) for s in info["item_shape"]], int(info["num_classes"])
    flow = info.get("flow_map", {})
    name = m["name"]
    if name == "mlp":
        return Mlp(m["mlp"], int(np.prod(shape)), k, flow)
    if name == "unet":
        return Unet(m["unet"], shape, k, flow)
    if name == "dit":
        return Dit(m["dit"], info["dit_shape"], shape, k, flow)
    if name == "classifier":
        return Classifier(m["classifier"], shape, k)
    raise ValueError(f"model '{name}' has no PyTorch module here")


# ----------------------------------------------------------------------------------------------------------------
# paths, predictions, guidance and samplers (common/path/schedule.cpp, parametrization.cpp, common/sampler/ode.cpp)


def path_point(path, t):
    """(alpha, beta, d_alpha, d_beta) of the Gaussian path at time t (a float)."""
    name = path["name"]
    if name == "linear":
        return t, 1.0 - t, 1.0, -1.0
    if name == "ve":
        smin, smax = float(path["sigma_min"]), float(path["sigma_max"])
        log_ratio = math.log(smax / smin)
        beta = smin * math.exp(log_ratio * (1.0 - t))
        return 1.0, beta, 0.0, -log_ratio * beta
    tau = 1.0 - t
    if name == "vp_linear":
        b0, b1 = float(path["beta_min"]), float(path["beta_max"])
        alpha = math.exp(-0.5 * (b0 * tau + 0.5 * (b1 - b0) * tau * tau))
        d_alpha = alpha * 0.5 * (b0 + (b1 - b0) * tau)
    elif name == "vp_cosine":
        s = float(path["cosine_s"])
        norm = math.cos(s / (1.0 + s) * math.pi / 2)
        arg = (tau + s) / (1.0 + s) * math.pi / 2
        alpha = min(math.cos(arg) / norm, 1.0)
        d_alpha = math.sin(arg) / norm * (math.pi / 2) / (1.0 + s)
    else:
        raise ValueError(f"unknown path '{name}'")
    beta = math.sqrt(max(0.0, 1.0 - alpha * alpha))
    return alpha, beta, d_alpha, (-alpha * d_alpha / beta if beta > 0 else 0.0)


def to_velocity(prediction, pred, x, path, t):
    """The velocity from a network output of `prediction` at x and times t [n]."""
    if prediction == "VELOCITY":
        return pred
    pts = [path_point(path, float(ti)) for ti in t.detach().to(torch.float64).cpu()]
    a, b, da, db = (torch.tensor([p[i] for p in pts], dtype=torch.float64).to(x.device, x.dtype)[:, None] for i in range(4))
    if prediction == "SCORE":
        eps = -b * pred
        z = (x - b * eps) / a
    elif prediction == "EPSILON":
        eps, z = pred, (x - b * pred) / a
    elif prediction == "X0":
        z, eps = pred, (x - a * pred) / b
    else:
        raise ValueError(f"unknown prediction '{prediction}'")
    return da * z + db * eps


class LockstepModel(nn.Module):
    """An exported Lockstep model: `net` (the network, Lockstep's parameter names) and `info` (its description)."""

    def __init__(self, net, info):
        super().__init__()
        self.net, self.info = net, info
        self.item_shape = [int(s) for s in info["item_shape"]]
        self.num_classes = int(info["num_classes"])
        self.path = info["path"]
        self.prediction = info["prediction"]
        self.t_min, self.t_max = float(self.path["t_min"]), float(self.path["t_max"])

    @property
    def prior(self):
        """beta(t_min): the scale of the starting noise, x0 = prior * randn."""
        return path_point(self.path, self.t_min)[1]

    def forward(self, x, t, y=None):
        return self.net(x, t, y)

    def velocity(self, x, t, y=None, guidance=1.0):
        """u(x, t | y) with classifier-free guidance w: u(x|null) + w (u(x|y) - u(x|null)). x: [n, ...]; t: a number or
        [n]; y: class labels [n] (None: unconditional, the null class). Returns x's shape."""
        n = x.shape[0]
        flat = x.reshape(n, -1)
        t = torch.full((n,), float(t), dtype=flat.dtype, device=flat.device) if not torch.is_tensor(t) or t.dim() == 0 else t.to(flat.dtype)
        if y is None or self.num_classes == 0:
            out = self.net(flat, t)
        else:
            y = y.to(flat.device, torch.int64)
            out = self.net(flat, t, y)
            if guidance != 1.0:
                uncond = self.net(flat, t, torch.full_like(y, self.num_classes))
                out = uncond + guidance * (out - uncond)
        return to_velocity(self.prediction, out, flat, self.path, t).reshape(x.shape)

    @torch.no_grad()
    def sample(self, x0, steps=None, method="euler", y=None, guidance=None, t_start=None):
        """Solves dx/dt = u from t_start (default t_min) to t_max in `steps` even steps ("euler", "heun", "midpoint"),
        starting from x0 (e.g. self.prior * torch.randn(n, *self.item_shape)). guidance: default the export's
        sample.guidance when y is given."""
        steps = int(steps or self.info["sample"]["steps"])
        if guidance is None:
            guidance = float(self.info["sample"]["guidance"]) if y is not None else 1.0
        t0 = self.t_min if t_start is None else float(t_start)
        h = (self.t_max - t0) / steps
        x = x0.clone()
        f = lambda x_, t_: self.velocity(x_, t_, y, guidance)
        for k in range(steps):
            tk = t0 + h * k
            if method == "euler":
                x = x + h * f(x, tk)
            elif method == "heun":
                k1 = f(x, tk)
                k2 = f(x + h * k1, tk + h)
                x = x + (0.5 * h) * (k1 + k2)
            elif method == "midpoint":
                k1 = f(x, tk)
                x = x + h * f(x + (0.5 * h) * k1, tk + 0.5 * h)
            else:
                raise ValueError(f"unknown method '{method}' (euler, heun, midpoint)")
        return x

    def labels(self, n, class_label=None):
        """Lockstep's labels of n samples: sample i gets class i mod K, or every sample `class_label`."""
        if self.num_classes == 0:
            return None
        return torch.full((n,), int(class_label)) if class_label is not None else torch.arange(n) % self.num_classes


def load(path, map_location="cpu"):
    """A LockstepModel from an exported .safetensors (description in its metadata) or .pt (with the .json beside)."""
    if path.endswith(".safetensors"):
        tensors, metadata = read_safetensors(path)
        if "lockstep" not in metadata:
            raise ValueError(f"{path}: has no Lockstep description (metadata 'lockstep'); `lockstep export` writes it")
        info = json.loads(metadata["lockstep"])
    else:
        tensors = torch.load(path, map_location=map_location)
        with open(os.path.splitext(path)[0] + ".json") as f:
            info = json.load(f)
    net = build_network(info)
    net.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()}, strict=True)
    return LockstepModel(net.to(map_location).eval(), info)


def save(model, path):
    """Writes a LockstepModel's (or a network's, with `model.info` set) weights for Lockstep's model.init_from:
    .safetensors (with the description) or .pt (state dict, description in the .json beside)."""
    net = model.net if isinstance(model, LockstepModel) else model
    info = getattr(model, "info", None)
    tensors = {name: p for name, p in net.named_parameters()}
    if path.endswith(".safetensors"):
        write_safetensors(path, tensors, {"lockstep": json.dumps(info)} if info else None)
    else:
        torch.save({k: v.detach().to("cpu", torch.float32).contiguous() for k, v in tensors.items()}, path)
        if info:
            with open(os.path.splitext(path)[0] + ".json", "w") as f:
                json.dump(info, f)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="Sample an exported Lockstep model in PyTorch")
    ap.add_argument("weights")
    ap.add_argument("--num", type=int, default=16)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--method", default="heun")
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--class", dest="class_label", type=int, default=None)
    ap.add_argument("--init", default=None, help=".npy of starting points (default: seeded noise)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="samples.npy")
    a = ap.parse_args()
    model = load(a.weights)
    if a.init:
        x0 = read_array(a.init)
    else:
        x0 = model.prior * torch.randn(a.num, *model.item_shape, generator=torch.Generator().manual_seed(a.seed))
    x = model.sample(x0, a.steps, a.method, model.labels(x0.shape[0], a.class_label), a.guidance)
    np.save(a.out, x.numpy())
    print(f"samples: {a.out} {list(x.shape)}")
