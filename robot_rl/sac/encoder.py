"""The image encoder shared by actor and critic, and DrQ's random-shift augmentation.

The encoder follows SAC-AE and DrQ (Yarats et al. 2020, Kostrikov et al. 2020): four 3x3
convolutions of 32 channels (the first with stride 2) on frames / 255 - 0.5, ReLU after
each, then a linear layer, LayerNorm and tanh to a 50-dimensional feature. Only the
critic's loss trains it; the actor reads its features detached
(:class:`robot_rl.sac.agent.SAC`).

Random shift (DrQ): pad each image by ``pad`` pixels replicating the border, then cut a
window of the original size at a random offset in ``[0, 2 * pad]`` per sample — the same
offset for every channel of a sample, so all stacked frames and cameras move together.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from robot_rl.config.cameras import MIN_POLICY_IMAGE_SIDE

FEATURE_DIM = 50
"""Size of the encoder's output feature (DrQ, SAC-AE)."""

SHIFT_PAD = 4
"""DrQ's padding (px) for 84x84 images: shifts of up to +-4 px."""


class PixelEncoder(nn.Module):
    """uint8-valued frames ``[N, C, H, W]`` (as floats in [0, 255]) -> features ``[N, F]``.

    Args:
        channels: input channels (frames x cameras x 3).
        height: image height (px); at least 9 (the four convolutions shrink it by 7 + /2).
        width: image width (px); at least 9.
        feature_dim: output size.
        filters: channels of each convolution.
    """

    def __init__(self, channels: int, height: int, width: int,
                 feature_dim: int = FEATURE_DIM, filters: int = 32) -> None:
        super().__init__()
        if min(height, width) < MIN_POLICY_IMAGE_SIDE:
            raise ValueError(f"images of at least {MIN_POLICY_IMAGE_SIDE}x"
                             f"{MIN_POLICY_IMAGE_SIDE} px, got {width}x{height}")
        self.convs = nn.Sequential(
            nn.Conv2d(channels, filters, 3, stride=2), nn.ReLU(),
            nn.Conv2d(filters, filters, 3, stride=1), nn.ReLU(),
            nn.Conv2d(filters, filters, 3, stride=1), nn.ReLU(),
            nn.Conv2d(filters, filters, 3, stride=1), nn.ReLU(),
        )
        h, w = (height - 3) // 2 + 1 - 6, (width - 3) // 2 + 1 - 6
        self.flat = filters * h * w
        self.fc = nn.Linear(self.flat, feature_dim)
        self.norm = nn.LayerNorm(feature_dim)
        self.feature_dim = feature_dim

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Features of ``pixels`` ``[..., C, H, W]`` (values 0-255: uint8 or any float dtype;
        under autocast the convolutions run in its dtype)."""
        lead = pixels.shape[:-3]
        # channels-last: oneDNN's convolutions run about 15 % faster on it than on NCHW
        # (forward and backward, 32x32x9 frames, one CPU thread); made so while still uint8
        x = pixels.reshape(-1, *pixels.shape[-3:]).contiguous(memory_format=torch.channels_last)
        dtype = (torch.get_autocast_dtype(x.device.type)
                 if torch.is_autocast_enabled(x.device.type) else torch.float32)
        x = x.to(dtype)  # the only pass over the frames before the first convolution
        first = self.convs[0]
        assert isinstance(first, nn.Conv2d) and first.bias is not None
        # x / 255 - 0.5 folded into the first convolution's weights and bias (exact but
        # for rounding): two fewer passes over every frame
        weight = first.weight / 255.0
        bias = first.bias - 0.5 * first.weight.sum(dim=(1, 2, 3))
        h = F.conv2d(x, weight, bias, first.stride, first.padding)
        h = self.convs[1:](h).flatten(1)
        return torch.tanh(self.norm(self.fc(h))).reshape(*lead, -1)


def shift(pixels: torch.Tensor, offsets: torch.Tensor, pad: int = SHIFT_PAD) -> torch.Tensor:
    """``pixels`` ``[N, C, H, W]`` (any dtype) padded by ``pad`` (replicating the border) and cut
    back to ``H x W`` at ``offsets`` ``[N, 2]`` (x, y in ``[0, 2 * pad]``; ``pad, pad`` is
    the identity), one offset per sample for all its channels."""
    n, _, h, w = pixels.shape
    padded = F.pad(pixels, (pad, pad, pad, pad), mode="replicate")
    offsets = offsets.to(pixels.device)
    # every H x W window of the padded image as a view [N, C, 2p+1, 2p+1, H, W], then one
    # window per sample: an index per sample, where indexing every output pixel (rows x
    # cols x channels) took five times as long on the CPU (docs/learner.md#learning-from-pixels)
    windows = padded.unfold(2, h, 1).unfold(3, w, 1)
    return windows[torch.arange(n, device=pixels.device), :, offsets[:, 1], offsets[:, 0]]


def random_shift(pixels: torch.Tensor, pad: int = SHIFT_PAD) -> torch.Tensor:
    """DrQ's augmentation: :func:`shift` by offsets drawn uniformly per sample (on the CPU,
    from the global torch generator: the same draws on every device). Any leading dims."""
    lead = pixels.shape[:-3]
    flat = pixels.reshape(-1, *pixels.shape[-3:])
    offsets = torch.randint(0, 2 * pad + 1, (flat.shape[0], 2))
    return shift(flat, offsets, pad).reshape(*lead, *pixels.shape[-3:])
