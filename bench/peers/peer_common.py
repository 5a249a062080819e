"""What the PyPI peer runners of bench/registration_comparison.sh share (the Python side of
PeerCommon.h): the command line, the thread limit, reading the pair and writing the field.

Every runner is called as

    python run_PEER.py FIXED MOVING OUTPUT_FIELD [THREADS]

and writes the displacement field fixed -> moving in ITK's convention: on the fixed image's grid,
a fixed point x maps to x + u(x) in the moving image, components in mm in ITK's physical (LPS)
frame, as a NIfTI vector image of shape (X, Y, Z, 1, 3) with the vector intent: the layout in
which ITK 5.2 reads an itk::Image<itk::Vector<float, 3>, 3> (what `shmoareg score --field`
reads). It prints one line "registration S s": the time of the registration call alone (no
imports, no reading or writing), which the comparison reports beside the process times.

Import this module before numpy, torch, itk or ants: start() sets the thread variables that
those libraries read when they load.
"""
import os
import sys
import time

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS",
                    "ITK_GLOBAL_MAXIMUM_NUMBER_OF_THREADS")


class Arguments:
    def __init__(self, fixed, moving, output, threads):
        self.fixed, self.moving, self.output, self.threads = fixed, moving, output, threads


def start(argv=None):
    """Parses FIXED MOVING OUTPUT_FIELD [THREADS] and limits every library to THREADS threads."""
    argv = sys.argv if argv is None else argv
    if len(argv) not in (4, 5):
        sys.stderr.write(f"usage: {argv[0]} FIXED MOVING OUTPUT_FIELD [THREADS]\n")
        sys.exit(2)
    threads = int(argv[4]) if len(argv) == 5 else 0
    if threads > 0:
        for name in THREAD_VARIABLES:
            os.environ[name] = str(threads)
    return Arguments(argv[1], argv[2], argv[3], threads)


def limit_torch_threads(threads):
    import torch
    if threads > 0:
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # already set (parallel work has started)
            pass


class Stopwatch:
    def __init__(self):
        self.started = time.perf_counter()

    def seconds(self):
        return time.perf_counter() - self.started


def report(seconds):
    print(f"registration {seconds:.3f} s", flush=True)


def lps_voxel_matrix(image):
    """The 3 x 3 matrix that takes a displacement in voxels of `image`'s array (nibabel's
    (i, j, k) order, which is ITK's index order) to mm in ITK's LPS frame: diag(-1, -1, 1) times
    the RAS affine's linear part (direction times spacing)."""
    import numpy as np
    return np.diag([-1.0, -1.0, 1.0]) @ np.asarray(image.affine, dtype=np.float64)[:3, :3]


def voxel_to_lps(field_voxels, image):
    """(X, Y, Z, 3) displacement in voxels of `image`'s array -> mm in ITK's LPS frame."""
    import numpy as np
    m = lps_voxel_matrix(image)
    return np.einsum("rc,xyzc->xyzr", m, np.asarray(field_voxels, dtype=np.float64))


def same_grid(a, b):
    import numpy as np
    return a.shape[:3] == b.shape[:3] and np.allclose(a.affine, b.affine, atol=1e-4)


def moving_on_fixed_grid(fixed, moving):
    """The moving image's array sampled on the fixed image's grid in physical space (linear,
    0 outside): the array itself when both share a grid (every pair of the comparison does)."""
    import numpy as np
    data = np.asarray(moving.get_fdata(dtype=np.float32))
    if same_grid(fixed, moving):
        return data
    from scipy import ndimage
    voxel_to_voxel = np.linalg.inv(moving.affine) @ fixed.affine
    index = np.indices(fixed.shape[:3], dtype=np.float64).reshape(3, -1)
    at = voxel_to_voxel[:3, :3] @ index + voxel_to_voxel[:3, 3:4]
    return ndimage.map_coordinates(data, at, order=1, cval=0.0).reshape(fixed.shape[:3]).astype(np.float32)


def write_field(path, field_lps_mm, fixed):
    """Writes an (X, Y, Z, 3) field in mm (ITK's LPS components) on `fixed`'s grid (a nibabel
    image: its qform and sform are copied), as (X, Y, Z, 1, 3) float32 with the vector intent;
    atomically (a partial file renamed), as PeerCommon.h's writeFieldAtomically."""
    import numpy as np
    import nibabel as nib
    u = np.asarray(field_lps_mm, dtype=np.float32)
    if u.shape != tuple(fixed.shape[:3]) + (3,):
        raise ValueError(f"field of shape {u.shape} for a fixed image of shape {fixed.shape}")
    if not np.all(np.isfinite(u)):
        raise ValueError("the field has NaN or infinite values")
    image = nib.Nifti1Image(u.reshape(u.shape[:3] + (1, 3)), None)
    image.set_qform(fixed.get_qform(), int(fixed.header["qform_code"]) or 1)
    image.set_sform(fixed.get_sform(), int(fixed.header["sform_code"]) or 1)
    image.header.set_intent("vector", (), "")
    image.header.set_xyzt_units("mm", "sec")
    directory, name = os.path.split(os.path.abspath(path))
    stem, dot, extension = name.partition(".")
    partial = os.path.join(directory, stem + ".partial" + dot + extension)
    nib.save(image, partial)
    os.replace(partial, path)


def itk_field_to_xyz(itk_field):
    """An itk.Image of vectors (ITK's LPS mm, numpy view (z, y, x, 3)) -> (X, Y, Z, 3)."""
    import numpy as np
    import itk
    return np.transpose(np.asarray(itk.array_from_image(itk_field), dtype=np.float64), (2, 1, 0, 3))


def read_itk_convention_field(path):
    """A displacement field file written by an ITK-based tool (ANTs, FireANTs' ANTs export,
    transformix) -> (X, Y, Z, 3) in ITK's LPS mm, as ITK reads it (through nibabel: the file's
    own components, which ITK reads as they are), and the nibabel image for its grid."""
    import numpy as np
    import nibabel as nib
    image = nib.load(path)
    data = np.asarray(image.dataobj, dtype=np.float64)
    if data.ndim == 5 and data.shape[3] == 1:
        data = data[:, :, :, 0, :]
    if data.ndim != 4 or data.shape[3] != 3:
        raise ValueError(f"{path}: not a 3-component vector image (shape {data.shape})")
    return data, image
