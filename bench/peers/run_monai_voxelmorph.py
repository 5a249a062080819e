"""MONAI's VoxelMorph (trained by train_monai_voxelmorph.py) for bench/registration_comparison.sh.

    python run_monai_voxelmorph.py FIXED MOVING OUTPUT_FIELD THREADS MODEL

As the library's registration filter runs a model: the network grid has the model's training
voxel size (3 mm) over the fixed image's extent (round(extent / 3 mm) voxels an axis, sharing
the outer voxel edges), both images are sampled onto it linearly and normalised, the network
predicts a displacement in grid voxels, which is taken to mm (the grid's direction and spacing,
ITK's LPS frame) and sampled linearly onto the fixed grid.
"""
import sys

import peer_common as pc

if len(sys.argv) != 6:
    sys.stderr.write(f"usage: {sys.argv[0]} FIXED MOVING OUTPUT_FIELD THREADS MODEL\n")
    sys.exit(2)
model_path = sys.argv[5]
args = pc.start(sys.argv[:5])
import numpy as np  # noqa: E402
import nibabel as nib  # noqa: E402
import torch  # noqa: E402
from scipy import ndimage  # noqa: E402

pc.limit_torch_threads(args.threads)
import monai_voxelmorph as mv  # noqa: E402

state = torch.load(model_path, map_location="cpu", weights_only=False)
network = mv.build_network()
network.load_state_dict(state["state_dict"])
network.eval()
print(f"parameters {state['parameters']}")
fixed = nib.load(args.fixed)
fixed_array = np.asarray(fixed.get_fdata(dtype=np.float32))
moving_array = pc.moving_on_fixed_grid(fixed, moving=nib.load(args.moving))

clock = pc.Stopwatch()
size = fixed.shape[:3]
spacing = np.sqrt((np.asarray(fixed.affine)[:3, :3] ** 2).sum(axis=0))
grid = [max(1, int(round(size[a] * spacing[a] / state["network_voxel_mm"][a]))) for a in range(3)]
coordinates = mv.grid_coordinates(size, grid)
inputs = [torch.from_numpy(mv.normalise(mv.sample(a, coordinates)))[None, None] for a in (moving_array, fixed_array)]
with torch.no_grad():
    _, displacement = mv.forward(network, inputs[0], inputs[1])
d = displacement[0].permute(1, 2, 3, 0).double().numpy()  # (Xg, Yg, Zg, 3), grid voxels
ratio = np.array([size[a] / grid[a] for a in range(3)])
u_grid = np.einsum("rc,xyzc->xyzr", pc.lps_voxel_matrix(fixed) @ np.diag(ratio), d)  # mm, LPS
# Fixed voxel p lies at grid index (p + 0.5) / ratio - 0.5.
at = np.meshgrid(*[(np.arange(size[a]) + 0.5) / ratio[a] - 0.5 for a in range(3)], indexing="ij")
u = np.stack([ndimage.map_coordinates(u_grid[..., c], at, order=1, mode="nearest") for c in range(3)], axis=-1)
pc.report(clock.seconds())
pc.write_field(args.output, u, fixed)
