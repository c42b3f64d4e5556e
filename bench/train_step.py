"""CPU time of one training step and one validation batch, float32 against ``train --precision bf16``.

    .venv/bin/python bench/train_step.py       # the default's recipe: MobileNetV2, 160 px, 3 stages frozen
    .venv/bin/python bench/train_step.py --arch efficientnet_lite0 --freeze-stages 0 --rounds 6

The network is built as ``train`` builds it (random weights: the time does not depend on them), in channels-last
layout, with the stem and first ``--freeze-stages`` stages frozen (no backward pass through them), AdamW over the
rest.  A step is the forward pass and cross-entropy loss (under bfloat16 autocast for ``bf16``, as the
``CpuAutocast`` callback does), the backward pass and the optimiser step, on a random batch of ``--bs`` crops; a
validation batch is the forward pass in eval mode without gradients.  The two precisions alternate ``--rounds``
times (each round: 2 untimed steps, then the mean of ``--steps`` timed ones), so that the machine's drift falls
on both alike; the medians over rounds are printed with the load average before and after.  Data loading,
augmentation and fastai's own overhead are not timed: a training epoch gains less than the step does.

Output: a markdown table, then, as the last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PRECISIONS = ("fp32", "bf16")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", default="mobilenetv2", help="architecture (default mobilenetv2, the default's)")
    ap.add_argument("--size", type=int, default=160, help="input size in pixels (default 160)")
    ap.add_argument("--bs", type=int, default=32, help="batch size (default 32, train's)")
    ap.add_argument("--freeze-stages", type=int, default=3, help="stem + first K stages frozen (default 3)")
    ap.add_argument("--rounds", type=int, default=4, help="alternations of the two precisions (default 4)")
    ap.add_argument("--steps", type=int, default=8, help="timed steps per round (default 8)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default 2: the target is 2 CPU cores)")
    args = ap.parse_args(argv)
    if min(args.size, args.bs, args.rounds, args.steps, args.threads) < 1 or args.freeze_stages < 0:
        ap.error("--size, --bs, --rounds, --steps and --threads must be at least 1; --freeze-stages at least 0")

    import torch
    import torch.nn.functional as F

    from detector.models import registry

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    try:
        arch = registry.get(args.arch)
        net = arch.build(num_classes=2, size=args.size)
        frozen = arch.early_modules(net, args.freeze_stages)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    net = net.to(memory_format=torch.channels_last)
    for m in frozen:
        m.requires_grad_(False)
    opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=1e-4)
    x = torch.randn(args.bs, 3, args.size, args.size).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 2, (args.bs,))

    def step(bf16: bool) -> None:
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(net(x).float(), y)
        loss.backward()
        opt.step()

    def valid(bf16: bool) -> None:
        net.eval()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            net(x)
        net.train()

    def timed(fn, bf16: bool) -> float:
        t = time.perf_counter()
        for _ in range(args.steps):
            fn(bf16)
        return (time.perf_counter() - t) / args.steps * 1000

    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {f"{k}_{p}": [] for k in ("step", "valid") for p in PRECISIONS}
    for _ in range(args.rounds):
        for p in PRECISIONS:
            bf16 = p == "bf16"
            for _ in range(2):
                step(bf16)
            times[f"step_{p}"].append(timed(step, bf16))
            times[f"valid_{p}"].append(timed(valid, bf16))
    load_after = os.getloadavg()[0]
    med = {k: statistics.median(v) for k, v in times.items()}

    print(
        f"{args.arch} at {args.size} px, batch {args.bs}, stem + {args.freeze_stages} stages frozen; torch threads "
        f"{torch.get_num_threads()}, CPUs {os.cpu_count()}; load average {load_before:.2f} before, "
        f"{load_after:.2f} after; median of {args.rounds} rounds of {args.steps}\n"
    )
    print("| pass | fp32, ms a batch | bf16, ms a batch | bf16 / fp32 |")
    print("|---|---:|---:|---:|")
    for k, name in (("step", "training step"), ("valid", "validation batch")):
        a, b = med[f"{k}_fp32"], med[f"{k}_bf16"]
        print(f"| {name} | {a:.0f} | {b:.0f} | {b / a:.2f} |")
    result = {
        "arch": args.arch,
        "size": args.size,
        "bs": args.bs,
        "freeze_stages": args.freeze_stages,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_avg_1min": [round(load_before, 2), round(load_after, 2)],
        **{f"{k}_ms": round(v, 1) for k, v in med.items()},
        **{f"{k}_rounds_ms": [round(t, 1) for t in v] for k, v in times.items()},
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
