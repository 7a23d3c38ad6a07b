#!/usr/bin/python3
"""Writes the image data of tests/test_packed_data.cpp into the folder given as the first argument.

Everything is made here, from a fixed seed: Fashion-MNIST items when Debian's dataset-fashion-mnist is installed
(random blobs otherwise), as PNG files in class folders; coloured RGB variants in PNG, JPEG and WebP; grey, RGBA,
grey+alpha, 16-bit and palette PNGs; images of two sizes; broken files; CIFAR-10 and CIFAR-100 binary batches.
Beside each source, .npy files hold what `lockstep data pack` must make of it (channels first, uint8), computed
here by the documented conversion rules (not by asking PIL, which clamps 16-bit samples instead of scaling them).
"""
import gzip
import os
import sys

import numpy as np
from PIL import Image

out = sys.argv[1]
rng = np.random.default_rng(20261203)


def items(n):
    d = "/usr/share/datasets/fashion-mnist/"
    if os.path.exists(d + "t10k-images-idx3-ubyte.gz"):
        x = np.frombuffer(gzip.open(d + "t10k-images-idx3-ubyte.gz").read()[16:], np.uint8).reshape(-1, 28, 28)
        return x[:n].copy()
    yy, xx = np.mgrid[0:28, 0:28]
    blobs = []
    for _ in range(n):
        cy, cx, r = rng.uniform(6, 22), rng.uniform(6, 22), rng.uniform(3, 9)
        blobs.append(np.clip(255 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / r ** 2), 0, 255).astype(np.uint8))
    return np.stack(blobs)


def mkdir(*parts):
    p = os.path.join(out, *parts)
    os.makedirs(p, exist_ok=True)
    return p


def grey_of(rgb):  # rgb: [..., 3] uint8 -> the documented rule (PIL's convert("L"))
    v = rgb.astype(np.uint32)
    return ((19595 * v[..., 0] + 38470 * v[..., 1] + 7471 * v[..., 2] + 0x8000) >> 16).astype(np.uint8)


# 1. Grey items in class folders, as ImageFolder reads them: classes sorted by name, files sorted by name.
names = ["boot", "sandal", "sneaker"]
x = items(48)
expected, labels = [], []
for k, name in enumerate(names):
    mkdir("grey", name)
for i in range(48):
    k = i % 3
    Image.fromarray(x[i]).save(os.path.join(out, "grey", names[k], f"{i:05d}.png"))
for k, name in enumerate(names):
    for i in range(k, 48, 3):
        expected.append(x[i])
        labels.append(k)
mkdir("grey", "empty")  # an empty class folder: ignored, named
open(os.path.join(out, "grey", "README.txt"), "w").write("not an image\n")  # beside the classes: ignored, counted
open(os.path.join(out, "grey", "sandal", "notes.csv"), "w").write("a,b\n")  # inside a class: ignored, counted
open(os.path.join(out, "grey", "boot", ".DS_Store"), "w").write("hidden: skipped, not counted\n")
np.save(os.path.join(out, "grey_items.npy"), np.stack(expected))  # [48, 28, 28]
np.save(os.path.join(out, "grey_labels.npy"), np.array(labels, np.int64))

# 2. Colour: RGB variants (PNG, JPEG, WebP), grey, RGBA, grey+alpha, 16-bit grey, palette. Expected as RGB and as L.
col = mkdir("colour", "all")
rgb_expected, grey_expected = [], []
for i in range(8):
    tint = rng.integers(0, 256, size=3)
    rgb = (x[i][..., None].astype(np.uint32) * tint[None, None, :] // 255).astype(np.uint8)
    rgb[..., 2] = np.maximum(rgb[..., 2], 255 - x[i])  # a blue background: three different planes
    Image.fromarray(rgb, "RGB").save(os.path.join(col, f"a{i}_rgb.png"))
    rgb_expected.append(rgb)
    grey_expected.append(grey_of(rgb))
g = x[8]
Image.fromarray(g, "L").save(os.path.join(col, "b_grey.png"))
rgb_expected.append(np.repeat(g[..., None], 3, axis=2))
grey_expected.append(g)
rgba = np.dstack([rgb_expected[0], rng.integers(0, 256, size=(28, 28), dtype=np.uint8)])
Image.fromarray(rgba, "RGBA").save(os.path.join(col, "c_rgba.png"))  # alpha dropped, not composited
rgb_expected.append(rgba[..., :3])
grey_expected.append(grey_of(rgba[..., :3]))
Image.fromarray(np.dstack([g, 255 - g]), "LA").save(os.path.join(col, "d_grey_alpha.png"))
rgb_expected.append(np.repeat(g[..., None], 3, axis=2))
grey_expected.append(g)
g16 = rng.integers(0, 65536, size=(28, 28), dtype=np.uint16)
Image.fromarray(g16.astype(np.int32), "I").convert("I;16").save(os.path.join(col, "e_grey16.png"))
g8 = np.floor(g16.astype(np.float64) / 257 + 0.5).astype(np.uint8)  # round(v / 257)
rgb_expected.append(np.repeat(g8[..., None], 3, axis=2))
grey_expected.append(g8)
pal = Image.fromarray(rgb_expected[1], "RGB").quantize(colors=16, dither=Image.NONE)
pal.save(os.path.join(col, "f_palette.png"))
prgb = np.asarray(pal.convert("RGB"))
rgb_expected.append(prgb)
grey_expected.append(grey_of(prgb))
Image.fromarray(rgb_expected[2], "RGB").save(os.path.join(col, "g_lossless.webp"), lossless=True)  # WebP, exact
rgb_expected.append(rgb_expected[2])
grey_expected.append(grey_of(rgb_expected[2]))
np.save(os.path.join(out, "colour_rgb.npy"), np.stack(rgb_expected).transpose(0, 3, 1, 2).copy())  # [14, 3, 28, 28]
np.save(os.path.join(out, "colour_grey.npy"), np.stack(grey_expected))  # [14, 28, 28]
# JPEG and lossy WebP: compared with PIL's decoders (libjpeg-turbo, libwebp) within a tolerance
jpg = mkdir("jpeg", "all")
jpeg_expected = []
for i in range(4):
    Image.fromarray(rgb_expected[i], "RGB").save(os.path.join(jpg, f"{i}.jpg"), quality=95)
    jpeg_expected.append(np.asarray(Image.open(os.path.join(jpg, f"{i}.jpg")).convert("RGB")))
Image.fromarray(rgb_expected[5], "RGB").save(os.path.join(jpg, "4.webp"), quality=80)  # lossy WebP: libwebp decodes it
jpeg_expected.append(np.asarray(Image.open(os.path.join(jpg, "4.webp")).convert("RGB")))
np.save(os.path.join(out, "jpeg_rgb.npy"), np.stack(jpeg_expected).transpose(0, 3, 1, 2).copy())

# 3. Two sizes: refused without --resolution; with --resolution 16 --crop center, compared with PIL's resize.
sz = mkdir("sizes", "all")
big = (rng.random((40, 52, 3)) * 255).astype(np.uint8)
big = np.asarray(Image.fromarray(big).resize((52, 40), Image.BILINEAR))
Image.fromarray(big).save(os.path.join(sz, "a_52x40.png"))
Image.fromarray(rgb_expected[2]).save(os.path.join(sz, "b_28x28.png"))
resized = []
for im in (Image.fromarray(big), Image.fromarray(rgb_expected[2])):
    w, h = im.size
    s = min(w, h)
    left, top = (w - s) // 2, (h - s) // 2
    resized.append(np.asarray(im.crop((left, top, left + s, top + s)).resize((16, 16), Image.BILINEAR)))
np.save(os.path.join(out, "sizes_16.npy"), np.stack(resized).transpose(0, 3, 1, 2).copy())

# 4. Broken files among good ones: a truncated PNG, text named .png, a PNG with a damaged body.
bad = mkdir("bad", "all")
for i in range(4):
    Image.fromarray(x[i]).save(os.path.join(bad, f"good{i}.png"))
png = open(os.path.join(bad, "good0.png"), "rb").read()
open(os.path.join(bad, "x_truncated.png"), "wb").write(png[: len(png) // 2])
open(os.path.join(bad, "y_text.png"), "w").write("this is not a picture\n")
damaged = bytearray(png)
for j in range(60, min(len(damaged) - 16, 120)):
    damaged[j] ^= 0x5A
open(os.path.join(bad, "z_damaged.png"), "wb").write(bytes(damaged))

# 5. CIFAR-10 and CIFAR-100 binary batches: 1 (CIFAR-100: 2) label bytes, then 1024 R, 1024 G, 1024 B bytes.
c10 = mkdir("cifar-10-batches-bin")
c10_items, c10_labels = [], []
for name, n in (("data_batch_1.bin", 20), ("data_batch_2.bin", 12)):
    with open(os.path.join(c10, name), "wb") as f:
        for _ in range(n):
            y = int(rng.integers(0, 10))
            img = rng.integers(0, 256, size=(3, 32, 32), dtype=np.uint8)
            f.write(bytes([y]) + img.tobytes())
            c10_items.append(img)
            c10_labels.append(y)
cifar10_names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
open(os.path.join(c10, "batches.meta.txt"), "w").write("\n".join(cifar10_names) + "\n\n")
np.save(os.path.join(out, "cifar10_items.npy"), np.stack(c10_items))
np.save(os.path.join(out, "cifar10_labels.npy"), np.array(c10_labels, np.int64))
c100 = mkdir("cifar-100-binary")
c100_items, c100_labels = [], []
with open(os.path.join(c100, "train.bin"), "wb") as f:
    for _ in range(10):
        coarse, fine = int(rng.integers(0, 20)), int(rng.integers(0, 100))
        img = rng.integers(0, 256, size=(3, 32, 32), dtype=np.uint8)
        f.write(bytes([coarse, fine]) + img.tobytes())
        c100_items.append(img)
        c100_labels.append(fine)
open(os.path.join(c100, "fine_label_names.txt"), "w").write("\n".join(f"fine{k:02d}" for k in range(100)) + "\n")
np.save(os.path.join(out, "cifar100_items.npy"), np.stack(c100_items))
np.save(os.path.join(out, "cifar100_labels.npy"), np.array(c100_labels, np.int64))
print("made", out)
