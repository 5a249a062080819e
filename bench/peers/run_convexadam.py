"""ConvexAdam (PyPI `convexadam`) for bench/registration_comparison.sh: MIND-SSC features,
coupled convex optimisation on a coarse grid, then Adam instance optimisation, with the
package's defaults (MIND radius 1 dilation 2, grid 6, search 4, 80 Adam iterations at half
resolution, lambda 1.25, inverse consistency on) on the CPU.

    python run_convexadam.py FIXED MOVING OUTPUT_FIELD [THREADS]

convex_adam_pt takes both arrays in nibabel's (i, j, k) order on one grid and returns an
(X, Y, Z, 3) displacement d in voxels of that array, warped[i] = moving[i + d(i)]: the field is
that displacement taken through the fixed image's direction and spacing to mm (ITK's LPS frame).
"""
import peer_common as pc

args = pc.start()
import numpy as np  # noqa: E402
import nibabel as nib  # noqa: E402
import torch  # noqa: E402

pc.limit_torch_threads(args.threads)
from convexAdam.convex_adam_MIND import convex_adam_pt  # noqa: E402

fixed = nib.load(args.fixed)
moving = nib.load(args.moving)
fixed_array = np.asarray(fixed.get_fdata(dtype=np.float32))
moving_array = pc.moving_on_fixed_grid(fixed, moving)
clock = pc.Stopwatch()
displacement = convex_adam_pt(fixed_array, moving_array, device=torch.device("cpu"))
pc.report(clock.seconds())
pc.write_field(args.output, pc.voxel_to_lps(displacement, fixed), fixed)
