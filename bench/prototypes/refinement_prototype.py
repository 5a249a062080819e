# Exploration mirror of src/network/MultiLevelRefinement.cxx's loop in PyTorch (run with the peers'
# environment, bench/peers/setup-venv.sh), used on 2026-12-04 to sweep the refinement's settings
# on the validation pairs quickly (docs/results.md, "2026-12-04 (b)"); the module's code is the
# C++ one, and bench/refinement_settings.sh confirms a chosen setting there.
#
#   python refinement_prototype.py FIXED MOVING NETWORK_FIELD OUTPUT_FIELD [--levels 4:80,2:40,1:15]
#     [--smooth 4] [--fold 10] [--passes 2] [--win 5] [--lr 0.5]
#
# NETWORK_FIELD: `shmoareg register --refinement none --output-field` of the pair (NIfTI images
# whose affine is diagonal and positive, as the synthetic subjects are); OUTPUT_FIELD is scored
# by `shmoareg score`. sweep.sh runs one setting over the validation pairs.
import sys, time, argparse
import numpy as np, nibabel as nb, torch
import torch.nn.functional as F

torch.set_num_threads(2)
p = argparse.ArgumentParser()
p.add_argument('fixed'); p.add_argument('moving'); p.add_argument('init'); p.add_argument('out')
p.add_argument('--levels', default='4:80,2:40,1:15')
p.add_argument('--lr', type=float, default=0.5)
p.add_argument('--smooth', type=float, default=4.0)
p.add_argument('--fold', type=float, default=10.0)
p.add_argument('--passes', type=int, default=2)
p.add_argument('--win', type=int, default=5)
p.add_argument('--symmetric', type=int, default=0)  # 1: the images meet half way (tried; not kept)
a = p.parse_args()


def normalise(x):  # SHMoARegNetworkGrid::NormalizeIntensities
    lo, hi = np.percentile(x, [0.5, 99.5])
    return np.clip((x - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)


fixed_nifti, moving_nifti, start_nifti = nb.load(a.fixed), nb.load(a.moving), nb.load(a.init)
spacing = [float(s) for s in fixed_nifti.header.get_zooms()[:3]]
fixed = torch.from_numpy(normalise(np.asarray(fixed_nifti.dataobj, np.float32)))[None, None]
moving = torch.from_numpy(normalise(np.asarray(moving_nifti.dataobj, np.float32)))[None, None]
# ITK's vectors are LPS; a positive diagonal NIfTI affine is ITK direction diag(-1, -1, 1).
sign = np.array([-1, -1, 1], np.float32)
start_mm = np.asarray(start_nifti.dataobj, np.float32)[:, :, :, 0, :] * sign
field = torch.from_numpy(np.ascontiguousarray(start_mm.transpose(3, 0, 1, 2)))[None]


def box(x, r=1):
    return F.avg_pool3d(F.pad(x, (r,) * 6, mode='replicate'), 2 * r + 1, stride=1)


def window_sum(x, w):
    c = x.shape[1]
    for axis in range(3):
        shape = [c, 1, 1, 1, 1]; shape[2 + axis] = w
        pad = [0, 0, 0]; pad[axis] = w // 2
        x = F.conv3d(x, torch.ones(shape), padding=pad, groups=c)
    return x


def ncc(i, j, w):
    n = window_sum(torch.ones_like(i), w)
    si, sj, sii, sjj, sij = window_sum(torch.cat([i, j, i * i, j * j, i * j], 1), w).split(1, 1)
    cross = sij - si * sj / n
    return 1 - (cross * cross / ((sii - si * si / n) * (sjj - sj * sj / n) + 1e-5)).mean()


def warp(image, voxels):
    size = image.shape[2:]
    grid = torch.stack(torch.meshgrid(*[torch.arange(n, dtype=torch.float32) for n in size], indexing='ij'), 0)[None]
    loc = grid + voxels
    loc = torch.stack([2 * loc[:, k] / (n - 1) - 1 for k, n in enumerate(size)], -1).flip(-1)
    return F.grid_sample(image, loc, align_corners=True, padding_mode='border')


def jacobian_determinant(u):
    d0 = u[:, :, 1:, :-1, :-1] - u[:, :, :-1, :-1, :-1]
    d1 = u[:, :, :-1, 1:, :-1] - u[:, :, :-1, :-1, :-1]
    d2 = u[:, :, :-1, :-1, 1:] - u[:, :, :-1, :-1, :-1]
    j00, j10, j20 = d0[:, 0] + 1, d0[:, 1], d0[:, 2]
    j01, j11, j21 = d1[:, 0], d1[:, 1] + 1, d1[:, 2]
    j02, j12, j22 = d2[:, 0], d2[:, 1], d2[:, 2] + 1
    return j00 * (j11 * j22 - j12 * j21) - j01 * (j10 * j22 - j12 * j20) + j02 * (j10 * j21 - j11 * j20)


def to_level(x, size):
    if tuple(x.shape[2:]) == tuple(size):
        return x
    if all(f >= s for f, s in zip(x.shape[2:], size)):
        return F.adaptive_avg_pool3d(x, size)
    return F.interpolate(x, size=size, mode='trilinear', align_corners=False)


def diffusion(u, level_spacing):
    total = 0
    for axis in range(3):
        n = u.shape[2 + axis]
        total = total + ((u.narrow(2 + axis, 1, n - 1) - u.narrow(2 + axis, 0, n - 1)) / level_spacing[axis]).pow(2).mean()
    return total / 3


fine = fixed.shape[2:]
clock = time.time()
for scale, iterations in [tuple(float(v) for v in level.split(':')) for level in a.levels.split(',')]:
    smallest = min(spacing)
    size = [min(fine[k], max(4, round(fine[k] * spacing[k] / max(spacing[k], scale * smallest)))) for k in range(3)]
    level_spacing = [spacing[k] * fine[k] / size[k] for k in range(3)]
    to_voxels = torch.tensor(level_spacing).view(1, 3, 1, 1, 1)
    fixed_level, moving_level = to_level(fixed, size), to_level(moving, size)
    parameter = to_level(field, size).clone().requires_grad_(True)
    adam = torch.optim.Adam([parameter], lr=a.lr * min(level_spacing))

    def current():
        u = parameter
        for _ in range(a.passes):
            u = box(u)
        return u

    for _ in range(int(iterations)):
        adam.zero_grad()
        u = current()
        voxels = u / to_voxels
        if a.symmetric:  # NCC(M(x + u/2), F(x - u/2))
            similarity = ncc(warp(moving_level, voxels / 2), warp(fixed_level, -voxels / 2), a.win)
        else:
            similarity = ncc(warp(moving_level, voxels), fixed_level, a.win)
        loss = similarity + a.smooth * diffusion(u, level_spacing)
        if a.fold > 0:
            loss = loss + a.fold * torch.relu(-jacobian_determinant(voxels)).mean()
        loss.backward()
        adam.step()
    with torch.no_grad():
        field = current().detach()
if a.symmetric:
    # The field fixed -> moving is (id + u/2) o (id - u/2)^-1; the inverse by fixed-point iteration.
    with torch.no_grad():
        mm = torch.tensor(spacing).view(1, 3, 1, 1, 1)
        half = to_level(field, list(fine)) / mm / 2
        inverse = half.clone()
        for _ in range(20):
            inverse = warp(half, inverse)
        field = (inverse + warp(half, inverse)) * mm
print(f'refinement {time.time() - clock:.2f} s', file=sys.stderr)
out = to_level(field, list(fine))[0].numpy().transpose(1, 2, 3, 0) * sign
nb.save(nb.Nifti1Image(out[:, :, :, None, :].astype(np.float32), start_nifti.affine, start_nifti.header), a.out)
