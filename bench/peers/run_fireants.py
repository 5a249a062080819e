"""FireANTs (PyPI `fireants`) on the CPU for bench/registration_comparison.sh: an affine stage,
then greedy deformable registration initialised with it.

    python run_fireants.py FIXED MOVING OUTPUT_FIELD [THREADS]

Settings, none tuned on the comparison's pairs: the affine stage with the schedule of the
package's own examples (scales 8/4/2/1, 200/100/50/20 iterations) and its defaults otherwise
(local CC, kernel 3, Adam 3e-2); the greedy stage with the settings of the package's pairwise
OASIS example (fireants/scripts/pairwise/oasis_test.py): scales 4/2/1, 100/100/20 iterations,
compositive, Adam lr 0.5, local CC kernel 7, gradient smoothing 1, warp smoothing 0.5 voxels.
Without its fused CUDA operators it warns and uses plain PyTorch.
save_as_ants_transforms writes the displacement field (fixed grid, physical space, ANTs' and so
ITK's convention), rewritten here in the comparison's layout.
"""
import peer_common as pc

args = pc.start()
import os  # noqa: E402
import tempfile  # noqa: E402
import nibabel as nib  # noqa: E402

pc.limit_torch_threads(args.threads)
from fireants.io.image import Image, BatchedImages  # noqa: E402
from fireants.registration.affine import AffineRegistration  # noqa: E402
from fireants.registration.greedy import GreedyRegistration  # noqa: E402

fixed_nifti = nib.load(args.fixed)
fixed = BatchedImages([Image.load_file(args.fixed, device="cpu")])
moving = BatchedImages([Image.load_file(args.moving, device="cpu")])
clock = pc.Stopwatch()
affine = AffineRegistration([8, 4, 2, 1], [200, 100, 50, 20], fixed, moving, progress_bar=False)
affine.optimize()
greedy = GreedyRegistration([4, 2, 1], [100, 100, 20], fixed, moving, deformation_type="compositive",
                            optimizer="adam", optimizer_lr=0.5, cc_kernel_size=7, smooth_grad_sigma=1,
                            smooth_warp_sigma=0.5, init_affine=affine.get_affine_matrix().detach(),
                            progress_bar=False)
greedy.optimize()
with tempfile.TemporaryDirectory(prefix="shmoareg-fireants-") as work:
    path = os.path.join(work, "warp.nii.gz")
    greedy.save_as_ants_transforms(path)
    pc.report(clock.seconds())
    u, grid = pc.read_itk_convention_field(path)
if not pc.same_grid(grid, fixed_nifti):
    raise RuntimeError("FireANTs' field is not on the fixed grid")
pc.write_field(args.output, u, fixed_nifti)
