"""The embedded models, small enough to train on a 2-core CPU in minutes.

``TinyTwoStream`` follows the VGG-16 two-stream fusion net the papers visualize
(Feichtenhofer et al., IJCV 2020, Table 1): the same layer names in each stream,
conv5_fusion where motion is fused into appearance, then fc6, fc7, fc8 — with
fewer channels. ``TinyR3D`` is a 3D CNN whose head is last conv → global average
pool → linear, the form Saliency Tubes needs. ``TinyVerifier`` is a separately
trained residual (2+1)D network with BatchNorm, the independent verifier LEAPS needs. ``TinyFrame2D``
is TinyR3D with every temporal kernel removed: a 2D CNN applied to each frame, its frames averaged as
TSN's consensus does, the frame-wise model of Saliency Tubes' 2D-versus-3D comparison.
"""

from __future__ import annotations

import torch
from torch import nn

VGG_STAGES = ((2, 8), (2, 16), (3, 32), (3, 48), (3, 64))


class ConvReLU(nn.Sequential):
    """A named conv layer whose output is taken after the ReLU, as the papers' activations are.

    BatchNorm sits between conv and ReLU: a 13-layer plain VGG stream does not train from scratch in a
    few CPU epochs without it. It can be folded into the conv for visualization (IJCV Sec. 4.4)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=False)


class VGGStream(nn.Sequential):
    """conv1_1 … conv5_3 with pool1 … pool4 between stages (no pool5: fusion comes first)."""

    def __init__(self, in_channels: int):
        super().__init__()
        cin = in_channels
        for s, (n, cout) in enumerate(VGG_STAGES, start=1):
            for i in range(1, n + 1):
                self.add_module(f"conv{s}_{i}", ConvReLU(cin, cout))
                cin = cout
            if s < len(VGG_STAGES):
                self.add_module(f"pool{s}", nn.MaxPool2d(2))


class ViewAveragedLinear(nn.Linear):
    """fc8: per-view class scores, each read off for the class its view maps onto, then averaged over the
    views in which the class exists (a square played backwards moves up, which no class does). Its input
    holds the G views one after another on the batch axis (G·N rows, view-major); it returns N rows."""

    def __init__(self, in_features: int, num_classes: int):
        super().__init__(in_features, num_classes)
        self.register_buffer("class_of_view", torch.arange(num_classes)[None], persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        views = self.class_of_view.shape[0]
        if views == 1:
            return super().forward(x)
        z = super().forward(x).view(views, -1, self.out_features).transpose(0, 1)  # N×G×K
        present = (self.class_of_view >= 0).to(z.dtype)  # G×K
        picked = z.gather(2, self.class_of_view.clamp(min=0)[None].expand(z.shape[0], -1, -1))
        return (picked * present).sum(1) / present.sum(0)


def mirror_views(rgb: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The clip flipped left–right: the image flips and every flow vector's x component changes sign."""
    n, c, h, w = flow.shape
    f = flow.flip(-1).reshape(n, c // 2, 2, h, w)
    # no sign tensor built per call: this runs every optimization step, and on a GPU that is a host copy
    return rgb.flip(-1), torch.cat([-f[:, :, :1], f[:, :, 1:]], 2).reshape(n, c, h, w)


def reverse_views(rgb: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The clip played backwards: the stacked flow fields come in reverse order, each vector negated."""
    n, c, h, w = flow.shape
    return rgb, -flow.reshape(n, c // 2, 2, h, w).flip(1).reshape(n, c, h, w)


def _class_map(values, num_classes: int, name: str, total: bool = False) -> torch.Tensor:
    """A class map as a tensor, checked: each class's image under the symmetry, −1 for none, no class hit twice."""
    t = torch.as_tensor(values, dtype=torch.long)
    hit = t[t >= 0].tolist()
    if (t.shape != (num_classes,) or int(t.min()) < (0 if total else -1) or int(t.max()) >= num_classes
            or len(set(hit)) != len(hit)):
        raise ValueError(f"{name} must map each of the {num_classes} classes to a distinct class index"
                         + ("" if total else " or to −1 (no class)") + f", got {t.tolist()}")
    return t


class TinyTwoStream(nn.Module):
    """Two-stream fusion network: ``forward(rgb, flow)`` with rgb N×3×H×W (one frame, normalized)
    and flow N×2L×H×W (L stacked flow fields, x then y per frame, divided by ``flow_scale``).

    ``mirror`` and ``reversal`` (class maps: for each class, the class a clip's mirror image or its time
    reversal belongs to, −1 for none) make the network symmetric by construction: it scores the clip, its
    mirror image, its reversal and both with one set of weights and averages each class's four scores, taken
    from the class its view maps onto (over the views where that class exists). Its scores then cannot prefer
    rightward over leftward motion, or forward over backward playing, for any reason but the classes.

    The layers are the papers' plain network, C units each: the four views run through them one after another
    on the batch axis (G·N rows, the clip itself first), and the model's adapter says so (``views=4``), so the
    probe reads every layer on the clip itself, N×C. :meth:`one_view` is the plain network on its input alone,
    which is how it trains (random mirroring and reversal, the labels mapped with them)."""

    def __init__(self, num_classes: int = 14, flow_frames: int = 10, mirror=None, reversal=None):
        super().__init__()
        self.flow_frames = flow_frames
        self.appearance = VGGStream(3)
        self.motion = VGGStream(2 * flow_frames)
        c5 = VGG_STAGES[-1][1]
        self.conv5_fusion = ConvReLU(2 * c5, c5)
        self.pool5 = nn.AdaptiveMaxPool2d(2)
        self.fc6 = nn.Sequential(nn.Flatten(), nn.Linear(4 * c5, 128), nn.ReLU(), nn.Dropout(0.3))
        self.fc7 = nn.Sequential(nn.Linear(128, 128), nn.ReLU(), nn.Dropout(0.3))
        self.fc8 = ViewAveragedLinear(128, num_classes)
        if mirror is not None or reversal is not None:
            ident = torch.arange(num_classes)
            m = _class_map(mirror, num_classes, "mirror", total=True) if mirror is not None else ident
            r = _class_map(reversal, num_classes, "reversal") if reversal is not None else ident
            both = torch.where(m >= 0, r[m.clamp(min=0)], -1)
            self.fc8.class_of_view = torch.stack([ident, m, r, both])

    @property
    def num_views(self) -> int:
        """G: 4 for the symmetric network (the clip, mirrored, reversed, both), else 1."""
        return self.fc8.class_of_view.shape[0]

    def views(self, rgb: torch.Tensor, flow: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The inputs as the first layers see them: the views one after another on the batch axis."""
        if self.num_views == 1:
            return rgb, flow
        pairs = [(rgb, flow), mirror_views(rgb, flow)]
        pairs += [reverse_views(*p) for p in pairs]
        return torch.cat([p[0] for p in pairs], 0), torch.cat([p[1] for p in pairs], 0)

    def _features(self, rgb: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        # conv5_fusion sees the appearance and motion maps stacked, as in the papers
        x = self.conv5_fusion(torch.cat([self.appearance(rgb), self.motion(flow)], 1))
        return self.fc7(self.fc6(self.pool5(x)))

    def forward(self, rgb: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        return self.fc8(self._features(*self.views(rgb, flow)))

    def one_view(self, rgb: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
        """The plain network's class scores for the inputs as they are (no mirrored or reversed views)."""
        return nn.Linear.forward(self.fc8, self._features(rgb, flow))


def _conv3d_bn(cin: int, cout: int, kernel, stride=1) -> nn.Sequential:
    pad = tuple(k // 2 for k in kernel) if isinstance(kernel, tuple) else kernel // 2
    return nn.Sequential(nn.Conv3d(cin, cout, kernel, stride=stride, padding=pad, bias=False), nn.BatchNorm3d(cout),
                         nn.ReLU())


class TinyR3D(nn.Module):
    """3D CNN on N×3×T×H×W clips; ``layer4`` is the last conv (T/4 × H/8 × W/8), then ``pool`` and ``fc``.
    ``temporal=False`` gives every layer a 1×3×3 kernel and no temporal stride (see :class:`TinyFrame2D`)."""

    def __init__(self, num_classes: int = 14, temporal: bool = True):
        super().__init__()
        k, st = (3, 3, 3) if temporal else (1, 3, 3), 2 if temporal else 1
        self.stem = _conv3d_bn(3, 16, k, (1, 2, 2))
        self.layer1 = _conv3d_bn(16, 24, k, (st, 2, 2))
        self.layer2 = _conv3d_bn(24, 48, k, (1, 2, 2))
        self.layer3 = _conv3d_bn(48, 64, k, (st, 1, 1))
        self.layer4 = _conv3d_bn(64, 64, k)
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(clip)))))
        return self.fc(torch.flatten(self.pool(x), 1))


class TinyFrame2D(TinyR3D):
    """TinyR3D's layers with 1×3×3 kernels and no temporal stride: exactly a 2D CNN run on every frame (its
    BatchNorm statistics pooled over frames, as a 2D network's over a batch of frames), then ``pool`` averages
    over frames and positions before ``fc`` — TSN's average consensus with every frame a segment.
    ``layer4`` keeps all T frames at H/8 × W/8, so its class activation maps are per-frame 2D maps."""

    def __init__(self, num_classes: int = 14):
        super().__init__(num_classes, temporal=False)


class _Residual2Plus1D(nn.Module):
    """A residual (2+1)D block: spatial 1×3×3 then temporal 3×1×1 convolution, each with BatchNorm, plus a
    strided 1×1×1 shortcut."""

    def __init__(self, cin: int, cout: int, stride: tuple[int, int, int]):
        super().__init__()
        self.spatial = _conv3d_bn(cin, cout, (1, 3, 3), (1, stride[1], stride[2]))
        self.temporal = nn.Sequential(nn.Conv3d(cout, cout, (3, 1, 1), (stride[0], 1, 1), (1, 0, 0), bias=False),
                                      nn.BatchNorm3d(cout))
        self.shortcut = nn.Sequential(nn.Conv3d(cin, cout, 1, stride, bias=False), nn.BatchNorm3d(cout))
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.temporal(self.spatial(x)) + self.shortcut(x))


class TinyVerifier(nn.Module):
    """A residual (2+1)D network, unlike TinyR3D's plain 3×3×3 stack, so that the two fail differently.

    The stem is a full 3×5×5 convolution: a factorized kernel at a single pixel sees a symmetric disc pass
    the same way whichever way it moves, so direction has to be seen jointly in space and time first."""

    def __init__(self, num_classes: int = 14):
        super().__init__()
        self.stem = _conv3d_bn(3, 16, (3, 5, 5), (2, 2, 2))
        self.block1 = _Residual2Plus1D(16, 32, (1, 2, 2))
        self.block2 = _Residual2Plus1D(32, 64, (2, 2, 2))
        self.block3 = _Residual2Plus1D(64, 64, (1, 1, 1))
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.fc = nn.Linear(64, num_classes)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        x = self.block3(self.block2(self.block1(self.stem(clip))))
        return self.fc(torch.flatten(self.pool(x), 1))
