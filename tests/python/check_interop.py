"""The Python side of tests/test_interop.cpp: loads what `lockstep export` wrote with python/lockstep_torch.py and
compares its numbers with Lockstep's. Exit 0: agreed; 1: a difference (printed); 77: torch or numpy missing.

  check_interop.py velocity WEIGHTS X.npy T.npy Y.npy|- GUIDANCE REF.npy     u(x, t | y) to 1e-5 of max |REF|
  check_interop.py sample WEIGHTS INIT.npy STEPS METHOD GUIDANCE REF.npy      a sample from INIT to 1e-4 of max |REF|
  check_interop.py logits WEIGHTS X.npy REF.npy                              a classifier's logits to 1e-5
  check_interop.py pt FILE.pt FILE.safetensors                               torch.load: the same tensors, the .json
  check_interop.py save WEIGHTS OUT.safetensors|OUT.pt                       lockstep_torch.save of the loaded model
  check_interop.py statedict WEIGHTS OUT.pt plain|ordered                    torch.save of the net's state_dict (as a dict)
  check_interop.py refuse FILE.safetensors                                   read_safetensors refuses the file
"""

import os
import sys

try:
    import numpy as np
    import torch
except ImportError as e:
    print(f"skipped: {e}")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import lockstep_torch as lt  # noqa: E402


def npy(path):
    return torch.from_numpy(np.load(path).astype(np.float32))


def close(name, got, ref, tol):
    scale = float(ref.abs().max())
    diff = float((got - ref).abs().max())
    print(f"{name}: max |difference| {diff:.3g}, max |reference| {scale:.3g}, relative {diff / max(scale, 1e-30):.3g} (tolerance {tol})")
    if not (diff <= tol * scale) or scale == 0.0:
        print(f"{name}: DIFFERS")
        sys.exit(1)


def main(argv):
    torch.set_num_threads(1)
    cmd = argv[1]
    if cmd == "velocity":
        model = lt.load(argv[2])
        x, t = npy(argv[3]), npy(argv[4])
        y = None if argv[5] == "-" else npy(argv[5]).to(torch.int64)
        with torch.no_grad():
            v = model.velocity(x, t, y, float(argv[6]))
        close("velocity", v, npy(argv[7]), 1e-5)
    elif cmd == "sample":
        model = lt.load(argv[2])
        x0 = npy(argv[3])
        guidance = float(argv[6])
        x = model.sample(x0, int(argv[4]), argv[5], model.labels(x0.shape[0]), guidance)
        close("sample", x.reshape(x0.shape[0], -1), npy(argv[7]).reshape(x0.shape[0], -1), 1e-4)
    elif cmd == "logits":
        model = lt.load(argv[2])
        with torch.no_grad():
            logits = model.net(npy(argv[3]))
        close("logits", logits, npy(argv[4]), 1e-5)
    elif cmd == "pt":
        loaded = torch.load(argv[2])
        tensors, _ = lt.read_safetensors(argv[3])
        assert isinstance(loaded, dict), type(loaded)
        assert list(loaded) == list(tensors), (list(loaded)[:5], list(tensors)[:5])
        for k in tensors:
            assert torch.equal(loaded[k], tensors[k]), k
        assert os.path.isfile(os.path.splitext(argv[2])[0] + ".json")
        lt.load(argv[2])  # builds the module from the .json and loads strictly
        print(f"pt: {len(loaded)} tensors equal to the safetensors file's")
    elif cmd == "save":
        lt.save(lt.load(argv[2]), argv[3])
        print(f"saved {argv[3]}")
    elif cmd == "statedict":  # what PyTorch users save: the OrderedDict of state_dict(), or a plain dict of it
        sd = lt.load(argv[2]).net.state_dict()
        torch.save(dict(sd) if argv[4] == "plain" else sd, argv[3])
        print(f"saved {argv[3]} ({argv[4]})")
    elif cmd == "refuse":
        try:
            lt.read_safetensors(argv[2])
        except (ValueError, KeyError, UnicodeDecodeError, TypeError) as e:
            print(f"refused: {e}")
            return
        print("accepted a damaged file")
        sys.exit(1)
    else:
        print(f"unknown command {cmd}")
        sys.exit(2)


if __name__ == "__main__":
    main(sys.argv)
