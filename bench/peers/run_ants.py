"""ANTs SyN through antspyx for bench/registration_comparison.sh: ants.registration with
type_of_transform='SyN' (its defaults: an affine stage, then SyN with Mattes mutual
information), random seed 1 so that reruns give the same field.

    python run_ants.py FIXED MOVING OUTPUT_FIELD [THREADS]

ants.apply_transforms(..., compose=PREFIX) writes the composition of the forward transforms
(warp after affine) as one displacement field on the fixed grid in ITK's convention; it is read
back through antspyx (the same ITK that wrote it) and rewritten in the comparison's layout.
"""
import peer_common as pc

args = pc.start()  # ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS before ants loads ITK
import os  # noqa: E402
import tempfile  # noqa: E402
import numpy as np  # noqa: E402
import nibabel as nib  # noqa: E402
import ants  # noqa: E402

fixed_nifti = nib.load(args.fixed)
fixed = ants.image_read(args.fixed, pixeltype="float")
moving = ants.image_read(args.moving, pixeltype="float")
with tempfile.TemporaryDirectory(prefix="shmoareg-ants-") as work:
    clock = pc.Stopwatch()
    registration = ants.registration(fixed=fixed, moving=moving, type_of_transform="SyN",
                                      outprefix=os.path.join(work, "reg_"), random_seed=1)
    composed = ants.apply_transforms(fixed=fixed, moving=moving, transformlist=registration["fwdtransforms"],
                                     compose=os.path.join(work, "composed_"))
    pc.report(clock.seconds())
    field = ants.image_read(composed)
    if field.components != 3 or tuple(field.shape) != tuple(fixed_nifti.shape[:3]):
        raise RuntimeError(f"composed field: {field.components} components, shape {field.shape}")
    u = np.asarray(field.numpy(), dtype=np.float64)  # (X, Y, Z, 3), ITK's index order and LPS mm
pc.write_field(args.output, u, fixed_nifti)
