#!/usr/bin/python3
"""PyTorch CPU reference for scripts/bench/models.bench.ts.

The same U-Net as nanodose's default (models/networks/build.ts): 4 resolution levels, 32 base
filters doubling per level, 2 convs of 3x3 + ReLU per level, 2x2 max pool down, 2x2 stride-2
transposed conv up, concatenated skips, 1x1 output conv, residual output (1 925 025 parameters for
1 channel in and out). Measures training images/s (Adam, mean squared error, batch 16 by default)
and inference images/s at 128x128 (best of --iters calls after --warmup), with the given number of
threads, and prints one JSON object.

Run with the Debian python (python3-torch): /usr/bin/python3 scripts/bench/torch_unet.py --threads 2
"""
import argparse
import json
import time

import torch
import torch.nn as nn


class UNet(nn.Module):
    def __init__(self, cin=1, cout=1, depth=4, base=32, convs=2, residual=True):
        super().__init__()
        self.depth, self.residual = depth, residual
        self.down = nn.ModuleList()
        c = cin
        for l in range(depth):
            f = base * 2 ** l
            layers = []
            for _ in range(convs):
                layers += [nn.Conv2d(c, f, 3, padding=1), nn.ReLU(inplace=True)]
                c = f
            self.down.append(nn.Sequential(*layers))
        self.ups = nn.ModuleList()
        self.upconvs = nn.ModuleList()
        for l in range(depth - 2, -1, -1):
            f = base * 2 ** l
            self.ups.append(nn.ConvTranspose2d(c, f, 2, stride=2))
            layers = []
            c = 2 * f
            for _ in range(convs):
                layers += [nn.Conv2d(c, f, 3, padding=1), nn.ReLU(inplace=True)]
                c = f
            self.upconvs.append(nn.Sequential(*layers))
        self.head = nn.Conv2d(c, cout, 1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        skips = []
        h = x
        for l, block in enumerate(self.down):
            h = block(h)
            if l < self.depth - 1:
                skips.append(h)
                h = self.pool(h)
        for up, block in zip(self.ups, self.upconvs):
            h = up(h)
            h = block(torch.cat([skips.pop(), h], 1))
        y = self.head(h)
        return x + y if self.residual else y


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = UNet()
    params = sum(p.numel() for p in net.parameters())
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    x = torch.randn(a.batch, 1, a.size, a.size)
    t = torch.randn(a.batch, 1, a.size, a.size)

    def train_step():
        opt.zero_grad()
        loss = ((net(x) - t) ** 2).mean()
        loss.backward()
        opt.step()

    def best_of(fn):
        # Best of `iters` calls after `warmup` calls (least disturbed by other processes; the
        # nanodose benchmark times the same way).
        for _ in range(a.warmup):
            fn()
        best = float("inf")
        for _ in range(a.iters):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        return best

    train = a.batch / best_of(train_step)
    with torch.no_grad():
        infer = a.batch / best_of(lambda: net(x))
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "params": params, "batch": a.batch,
                      "size": a.size, "train_img_s": train, "infer_img_s": infer}))


if __name__ == "__main__":
    main()
