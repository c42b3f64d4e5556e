"""CPU time of one training step (forward, backward, optimiser step) of an architecture, with the image batch as
fastai hands it over (a ``TensorImage``) and as a plain ``torch.Tensor`` (what the trainer's ``PlainTensors``
callback gives the network).

    .venv/bin/python bench/train_step.py                             # MobileNetV2 at 160 px, the default's recipe
    .venv/bin/python bench/train_step.py --arch efficientnet_lite0 --size 160 --rounds 5

The network is built as ``train`` builds it (the architecture registry, ``--freeze-stages`` kept frozen, two
classes; random weights: the time depends on the architecture, not on the weights), in training mode, with its
weights in channels-last as the trainer puts them.  The two kinds of batch alternate for ``--rounds`` rounds of
``--steps`` timed steps each (after ``--warmup`` untimed ones), so that a machine that slows down part-way slows
both; each round's median step is kept and the median over rounds is printed.  Batches are random (the time does
not depend on what they show); data loading is not timed.  The load average before and after is printed with the
figures: on a shared 2-core machine they are noisy.  Output: a markdown table, then, as the last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="mobilenetv2")
    p.add_argument("--size", type=int, default=160)
    p.add_argument("--freeze-stages", type=int, default=3, help="stem and first N stages frozen, as the recipe")
    p.add_argument("--bs", type=int, default=32)
    p.add_argument("--steps", type=int, default=5, help="timed steps per round and kind of batch")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    if min(args.bs, args.steps, args.rounds, args.threads) < 1 or args.warmup < 0 or args.size < 32:
        p.error("--bs, --steps, --rounds and --threads must be at least 1, --warmup at least 0, --size at least 32")

    import torch

    from detector.models import registry

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    try:
        arch = registry.get(args.arch)
        net = arch.build(num_classes=2, pretrained=None, size=args.size)
        for m in arch.early_modules(net, args.freeze_stages):
            m.requires_grad_(False)
    except (KeyError, ValueError) as e:
        p.error(str(e))
    net = net.to(memory_format=torch.channels_last).train()
    opt = torch.optim.AdamW([q for q in net.parameters() if q.requires_grad], lr=1e-4)
    x = torch.randn(args.bs, 3, args.size, args.size)
    y = torch.randint(0, 2, (args.bs,))
    from fastai.vision.all import TensorImage

    batches = {"TensorImage": TensorImage(x.clone()), "plain": x.clone()}

    def step(batch) -> float:
        t = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(net(batch), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t

    load_before = load()
    for batch in batches.values():
        for _ in range(args.warmup):
            step(batch)
    rounds: dict[str, list[float]] = {k: [] for k in batches}
    for _ in range(args.rounds):
        for k, batch in batches.items():
            rounds[k].append(statistics.median(step(batch) for _ in range(args.steps)))
    load_after = load()
    ms = {k: 1000 * statistics.median(v) for k, v in rounds.items()}
    print(f"load average before {load_before}, after {load_after}; torch threads {args.threads}")
    print(f"{args.arch} at {args.size} px, batch {args.bs}, stem and {args.freeze_stages} stages frozen\n")
    print("| batch | ms per step (median of rounds) | ms per image | each round's median |")
    print("|---|---|---|---|")
    for k, v in rounds.items():
        per_round = ", ".join(f"{1000 * r:.0f}" for r in v)
        print(f"| {k} | {ms[k]:.0f} | {ms[k] / args.bs:.1f} | {per_round} |")
    ratio = ms["plain"] / ms["TensorImage"]
    print(f"\na plain-tensor batch takes {ratio:.2f} of a TensorImage batch's time")
    print(
        json.dumps(
            {
                "arch": args.arch,
                "size": args.size,
                "bs": args.bs,
                "freeze_stages": args.freeze_stages,
                "threads": args.threads,
                "ms_per_step": {k: round(v, 1) for k, v in ms.items()},
                "ratio": round(ratio, 3),
                "load_before": load_before,
                "load_after": load_after,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
