"""Checks each PyPI peer runner's field convention on pairs with a known answer.

    PEERS_VENV/bin/python bench/peers/check_conventions.py OUTPUT_DIR [SHMOAREG] [RUNNER ...]

The fixed image is Colin27 on bench/real_brains.py's 2 mm grid (RAS header, so ITK's direction is
diag(-1, -1, 1)), and the same brain on a 3 x 3 x 2 mm grid with its first axis reversed (RAS
affine diag(-3, 3, 2): another direction, anisotropic voxels). The moving image is the fixed one
translated by t = (+4, -6, +2) mm in ITK's LPS frame, moving(y) = fixed(y - t), so the exact
field fixed -> moving is u(x) = t everywhere (ITK's convention: x maps to x + u(x) in the
moving image). A sign error gives -t, an axis-order error a permutation of t, a voxel/mm error
a scaled t.

For every runner (default: all of bench/peers/run_*.py) and for the Debian elastix path of the
comparison (elastix + transformix -def all, the reference), it reports the median of each
component of u inside the brain mask, and passes when each is within 1 mm of t (for the trained
monai_voxelmorph: when each has t's sign; its constant variant below is the exact check). With SHMOAREG
(the built `shmoareg`), each field is also read by ITK 5.2 through `shmoareg score` (labels: the
Otsu tissue classes), which must accept it and give a higher Dice than the identity.
monai_voxelmorph needs its trained model: MONAI_VOXELMORPH_MODEL (without it, it is left out).
A network trained on synthetic deformations need not recover a translation, so its
convention is checked exactly with a constant network as well (monai_voxelmorph_constant:
the trained model with its output convolution set to predict the voxel displacement that is
t on the case's network grid; must give t within 0.1 mm).
Threads: THREADS (default 2). Exit status 1 when any check fails.
"""
import glob
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import nibabel as nib
from scipy import ndimage

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
T_LPS = np.array([4.0, -6.0, 2.0])
LPS = np.diag([-1.0, -1.0, 1.0])


def resample_onto(data, affine, shape, target_affine, order, offset_ras=(0.0, 0.0, 0.0)):
    """data (RAS affine) sampled at target voxel centres shifted by -offset: out(y) = data(y - offset)."""
    to_source = np.linalg.inv(affine) @ target_affine
    index = np.indices(shape, dtype=np.float64).reshape(3, -1)
    at = to_source[:3, :3] @ index + to_source[:3, 3:4] - (np.linalg.inv(affine)[:3, :3] @ np.asarray(offset_ras))[:, None]
    return ndimage.map_coordinates(np.asarray(data, np.float64), at, order=order, cval=0.0).reshape(shape)


def save(array, affine, path, dtype):
    image = nib.Nifti1Image(np.asarray(array, dtype=dtype), affine)
    image.set_qform(affine, 1)
    image.set_sform(affine, 1)
    nib.save(image, path)


def make_case(out, name, source_dir, target_affine, shape):
    image = nib.load(os.path.join(source_dir, "colin27_image.nii.gz"))
    labels = nib.load(os.path.join(source_dir, "colin27_labels.nii.gz"))
    case = os.path.join(out, name)
    os.makedirs(case, exist_ok=True)
    t_ras = LPS @ T_LPS
    for role, offset in (("fixed", (0.0, 0.0, 0.0)), ("moving", t_ras)):
        save(resample_onto(image.get_fdata(), image.affine, shape, target_affine, 1, offset), target_affine,
             os.path.join(case, f"{role}_image.nii.gz"), np.float32)
        save(resample_onto(labels.get_fdata(), labels.affine, shape, target_affine, 0, offset), target_affine,
             os.path.join(case, f"{role}_labels.nii.gz"), np.uint8)
    return case


def read_field(path):
    data = np.asarray(nib.load(path).dataobj, dtype=np.float64)
    if data.ndim == 5:
        data = data[:, :, :, 0, :]
    return data


def run_elastix(case, work, threads):
    subprocess.run(["elastix", "-f", f"{case}/fixed_image.nii.gz", "-m", f"{case}/moving_image.nii.gz",
                    "-p", f"{BENCH}/elastix/affine.txt", "-p", f"{BENCH}/elastix/bspline.txt", "-out", work,
                    "-threads", str(threads)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["transformix", "-def", "all", "-tp", f"{work}/TransformParameters.1.txt", "-out", work],
                    check=True, stdout=subprocess.DEVNULL)
    return f"{work}/deformationField.nii.gz"


def constant_model(trained, fixed_path, path):
    """The trained VoxelMorph with its last convolution predicting t (in the 3 mm grid's voxels
    over `fixed_path`'s extent): zero weights, the velocity as the bias (a constant velocity
    integrates to itself)."""
    import torch
    sys.path.insert(0, HERE)
    import peer_common as pc
    state = torch.load(trained, map_location="cpu", weights_only=False)
    fixed = nib.load(fixed_path)
    size = fixed.shape[:3]
    spacing = np.sqrt((np.asarray(fixed.affine)[:3, :3] ** 2).sum(axis=0))
    grid = [max(1, int(round(size[a] * spacing[a] / state["network_voxel_mm"][a]))) for a in range(3)]
    ratio = np.array([size[a] / grid[a] for a in range(3)])
    d = np.linalg.solve(pc.lps_voxel_matrix(fixed) @ np.diag(ratio), T_LPS)
    state["state_dict"]["backbone.net.1.final_conv_out.conv.weight"].zero_()
    state["state_dict"]["backbone.net.1.final_conv_out.conv.bias"][:] = torch.tensor(d)
    torch.save(state, path)
    return path


def score(shmoareg, case, field):
    command = [shmoareg, "score", "--fixed-labels", f"{case}/fixed_labels.nii.gz", "--moving-labels",
               f"{case}/moving_labels.nii.gz"] + (["--field", field] if field else [])
    row = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return float(row.split(",")[2])


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    out = os.path.abspath(sys.argv[1])
    shmoareg = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] else None
    runners = sys.argv[3:] or sorted(os.path.basename(p)[4:-3] for p in glob.glob(f"{HERE}/run_*.py"))
    threads = int(os.environ.get("THREADS", "2"))
    extra = {"monai_voxelmorph": [os.environ.get("MONAI_VOXELMORPH_MODEL", "")]}
    runners = [r for r in runners if all(extra.get(r, ["-"]))]
    if "monai_voxelmorph" in runners:
        runners.append("monai_voxelmorph_constant")
    real = os.path.join(out, "data-real")
    if not os.path.exists(os.path.join(real, "colin27_image.nii.gz")):
        subprocess.run([sys.executable, f"{BENCH}/real_brains.py", real], check=True, stdout=subprocess.DEVNULL)
    iso = np.diag([2.0, 2.0, 2.0, 1.0])
    iso[:3, 3] = (-90.0, -126.0, -72.0)
    aniso = np.diag([-3.0, 3.0, 2.0, 1.0])
    aniso[:3, 3] = (90.0, -126.0, -72.0)
    cases = {"iso-2mm-RAS": make_case(out, "iso-2mm-RAS", real, iso, (91, 109, 91)),
             "aniso-3x3x2mm-LAS": make_case(out, "aniso-3x3x2mm-LAS", real, aniso, (61, 109, 91))}
    results, failed = [], False
    for case_name, case in cases.items():
        mask = nib.load(f"{case}/fixed_labels.nii.gz").get_fdata() > 0
        identity = score(shmoareg, case, None) if shmoareg else None
        fields = {}
        for method in ["elastix (Debian, reference)"] + runners:
            work = os.path.join(case, "runs", method.split(" ")[0])
            shutil.rmtree(work, ignore_errors=True)
            os.makedirs(work)
            if method.startswith("elastix"):
                field = run_elastix(case, work, threads)
            else:
                field = os.path.join(work, "field.nii.gz")
                runner, arguments = method, extra.get(method, [])
                if method == "monai_voxelmorph_constant":
                    runner = "monai_voxelmorph"
                    arguments = [constant_model(extra[runner][0], f"{case}/fixed_image.nii.gz",
                                                os.path.join(work, "model.pt"))]
                subprocess.run([sys.executable, f"{HERE}/run_{runner}.py", f"{case}/fixed_image.nii.gz",
                                f"{case}/moving_image.nii.gz", field, str(threads)] + arguments, check=True,
                               stdout=open(os.path.join(work, "log.txt"), "w"), stderr=subprocess.STDOUT)
            u = read_field(field)
            fields[method] = u
            median = np.median(u[mask], axis=0)
            ok = bool(np.all(np.abs(median - T_LPS) < (0.1 if method.endswith("_constant") else 1.0)))
            if method == "monai_voxelmorph":  # a trained network: the signs only (the constant one is exact)
                ok = bool(np.all(np.sign(median) == np.sign(T_LPS)))
            row = {"case": case_name, "method": method, "median_u_mm": [round(float(v), 2) for v in median],
                   "expected_mm": T_LPS.tolist(), "pass": ok}
            if method != "elastix (Debian, reference)":
                reference = fields["elastix (Debian, reference)"]
                row["median_abs_difference_to_elastix_mm"] = round(float(np.median(
                    np.linalg.norm(u[mask] - reference[mask], axis=1))), 2)
            if shmoareg:
                row["dice"] = round(score(shmoareg, case, field), 4)
                row["dice_identity"] = round(identity, 4)
                row["pass"] = ok = ok and row["dice"] > identity + 0.05
            failed = failed or not ok
            results.append(row)
            print(json.dumps(row), flush=True)
    with open(os.path.join(out, "check_conventions.json"), "w") as f:
        json.dump(results, f, indent=2)
    print("check_conventions: " + ("FAILED" if failed else "all passed"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
