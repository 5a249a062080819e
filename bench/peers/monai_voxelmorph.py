"""MONAI's VoxelMorph (monai.networks.nets.VoxelMorph, PyPI `monai`) as the deep-learning peer of
bench/registration_comparison.sh: what train_monai_voxelmorph.py and run_monai_voxelmorph.py
share. MONAI ships no weights for it (and no model hub is reachable here), so it is trained from
scratch with the presets' budget (models/training/colin27-synthetic-3mm.json) and run at the
same network voxel size as the shipped models.

The network is MONAI's default VoxelMorph: VoxelMorphUNet with channels (16, 32, 32, 32, 32, 32),
final convolutions (16, 16), a stationary velocity integrated in 7 scaling-and-squaring steps
(0.24 M parameters). Its U-Net halves the grid three times, so each axis is zero-padded at its
end to a multiple of 8 and the output cropped back (48 x 60 x 48 runs as 48 x 64 x 48).

Geometry, as the library's SHMoARegNetworkGrid (MakeGrid): a grid of N_g voxels over an image
axis of N voxels shares its outer voxel edges, so grid voxel q lies at image index
(q + 0.5) N / N_g - 0.5; intensities are sampled linearly (0 outside) and normalised as
NormalizeIntensities: [0.5th, 99.5th percentile] -> [0, 1], clipped.
Arrays are in nibabel's (i, j, k) order; MONAI's displacement is in voxels of the tensor's
axes, in that order: warped[q] = moving[q + d(q)].
"""
import numpy as np
from scipy import ndimage

MULTIPLE = 8


def build_network():
    from monai.networks.nets import VoxelMorph
    return VoxelMorph()


def grid_coordinates(size, grid, start=(0, 0, 0)):
    """Per axis, the image index of each grid voxel centre: start + (q + 0.5) size / grid - 0.5."""
    return [start[a] + (np.arange(grid[a]) + 0.5) * size[a] / grid[a] - 0.5 for a in range(3)]


def sample(array, coordinates, order=1):
    mesh = np.meshgrid(*coordinates, indexing="ij")
    return ndimage.map_coordinates(np.asarray(array, np.float64), mesh, order=order, cval=0.0, mode="constant")


def normalise(x):
    """NormalizeIntensities: percentiles by the nearest rank round(p / 100 (n - 1))."""
    flat = np.sort(x.ravel())
    rank = lambda p: flat[int(round(p / 100.0 * (flat.size - 1)))]  # noqa: E731
    low, high = rank(0.5), rank(99.5)
    if high <= low:
        return np.zeros_like(x, dtype=np.float32)
    return np.clip((x - low) / (high - low), 0.0, 1.0).astype(np.float32)


def forward(network, moving, fixed):
    """moving, fixed: [1, 1, X, Y, Z] tensors -> (warped, displacement [1, 3, X, Y, Z] in voxels)."""
    import torch.nn.functional as F
    shape = moving.shape[2:]
    pad = []
    for n in reversed(shape):
        pad += [0, (-n) % MULTIPLE]
    warped, displacement = network(F.pad(moving, pad), F.pad(fixed, pad))
    crop = (slice(None), slice(None)) + tuple(slice(0, n) for n in shape)
    return warped[crop], displacement[crop]


def smoothness(u):
    """The library's smoothness term (src/network/Losses.cxx): mean squared forward differences
    of the displacement (network voxels), averaged over the three axes."""
    dx = u[:, :, 1:] - u[:, :, :-1]
    dy = u[:, :, :, 1:] - u[:, :, :, :-1]
    dz = u[:, :, :, :, 1:] - u[:, :, :, :, :-1]
    return (dx.pow(2).mean() + dy.pow(2).mean() + dz.pow(2).mean()) / 3.0
