"""elastix from Python (PyPI `itk-elastix`) for bench/registration_comparison.sh, with the same
parameter files as the Debian elastix run: bench/elastix/affine.txt then bspline.txt.

    python run_itk_elastix.py FIXED MOVING OUTPUT_FIELD [THREADS]

itk.transformix_deformation_field gives the field on the fixed grid (ITK's convention, mm). Both
run inside a temporary folder: transformix also writes deformationField.nii.gz into the current
folder.
"""
import os
import tempfile

import peer_common as pc

args = pc.start()
import numpy as np  # noqa: E402
import nibabel as nib  # noqa: E402
import itk  # noqa: E402

here = os.path.dirname(os.path.abspath(__file__))
parameters = itk.ParameterObject.New()
for name in ("affine.txt", "bspline.txt"):
    parameters.AddParameterFile(os.path.join(here, "..", "elastix", name))
fixed = itk.imread(args.fixed, itk.F)
moving = itk.imread(args.moving, itk.F)
fixed_nifti = nib.load(args.fixed)
output = os.path.abspath(args.output)
threads = args.threads if args.threads > 0 else os.cpu_count()
itk.MultiThreaderBase.SetGlobalDefaultNumberOfThreads(threads)
with tempfile.TemporaryDirectory(prefix="shmoareg-itk-elastix-") as work:
    os.chdir(work)
    clock = pc.Stopwatch()
    _, transform_parameters = itk.elastix_registration_method(fixed, moving, parameter_object=parameters,
                                                              number_of_threads=threads, log_to_console=False)
    field = itk.transformix_deformation_field(moving, transform_parameters)
    pc.report(clock.seconds())
    u = pc.itk_field_to_xyz(field)
    os.chdir("/")
pc.write_field(output, u, fixed_nifti)
