"""The `real` mode of bench/registration_comparison.sh: two different real brains on one grid.

    PEERS_VENV/bin/python bench/real_brains.py OUTPUT_DIR

- Colin27: mricron-data's skull-stripped single-subject T1 (/usr/share/mricron/templates/
  ch2bet.nii.gz; COLIN27 overrides the path), 1 mm.
- ICBM 2009a: the MNI ICBM152 2009a nonlinear symmetric T1 template that the `nilearn` wheel
  ships (nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz), 1 mm, already
  brain-extracted. THE ICBM TEMPLATE IS A TEST IMAGE ONLY: it must never be used to train or to
  choose settings of any network or method of this project (nor is Colin27 in this form: the
  training set is the synthetic Colin27 dataset, models/training/).

Both are already in MNI-like world coordinates, so no registration is done to put them together:
each is resampled, in world (RAS) coordinates as its NIfTI header gives them, onto one grid,
2 mm isotropic, 91 x 109 x 91 voxels, first voxel centre at (-90, -126, -72) mm RAS (the extent
of the usual MNI 2 mm grid):
  1. brain mask: the image's non-zero voxels (both are skull-stripped), resampled linearly and
     kept where >= 0.5;
  2. intensities: Gaussian anti-aliasing (sigma 1 mm) of the 1 mm image, then trilinear
     interpolation at the 2 mm grid's centres, 0 outside the mask; then a linear rescale inside
     the mask, [0, its 99.5th percentile] -> [0, 1] (clipped at 1), so that both span the same
     range (the two files use different ranges: 0-133 and 0-255);
  3. tissue classes, by one method applied identically to both: Otsu's method with two
     thresholds (three classes) on a 256-bin histogram of the mask's voxels, the exhaustive
     search that maximises the between-class variance (Otsu 1979; for T1 images the classes in
     order of intensity are CSF, GM and WM: labels 1, 2, 3; 0 outside the mask). Chosen because
     it needs nothing but the image (Colin27 has no tissue maps, so the ICBM's own GM/WM maps
     cannot be used for both), has no seed or iteration count, and is the global optimum of the
     criterion that 1-D k-means would only approach.
As a check of the classes (not used by anything else), real_brains.json reports the agreement
of the ICBM's Otsu classes with the argmax of its shipped GM/WM probability maps (CSF = the rest
of the mask), resampled the same way.

Writes OUTPUT_DIR/{colin27,icbm2009a}_{image,labels,mask}.nii.gz and real_brains.json.
"""
import json
import os
import sys

import numpy as np
import nibabel as nib
from scipy import ndimage

GRID_SHAPE = (91, 109, 91)
GRID_SPACING = 2.0
GRID_FIRST_CENTRE = (-90.0, -126.0, -72.0)  # RAS mm


def grid_affine():
    a = np.diag([GRID_SPACING, GRID_SPACING, GRID_SPACING, 1.0])
    a[:3, 3] = GRID_FIRST_CENTRE
    return a


def sample(data, affine, order, smooth_mm=0.0):
    """`data` (an image with RAS `affine`) at the grid's voxel centres, in world coordinates."""
    data = np.asarray(data, dtype=np.float64)
    if smooth_mm > 0:
        spacing = np.sqrt((np.asarray(affine)[:3, :3] ** 2).sum(axis=0))
        data = ndimage.gaussian_filter(data, sigma=smooth_mm / spacing, mode="constant")
    to_source = np.linalg.inv(affine) @ grid_affine()
    index = np.indices(GRID_SHAPE, dtype=np.float64).reshape(3, -1)
    at = to_source[:3, :3] @ index + to_source[:3, 3:4]
    return ndimage.map_coordinates(data, at, order=order, cval=0.0).reshape(GRID_SHAPE)


def otsu_two_thresholds(values, bins=256):
    """The two thresholds that maximise the between-class variance of three classes."""
    low, high = float(values.min()), float(values.max())
    histogram, edges = np.histogram(values, bins=bins, range=(low, high))
    p = histogram.astype(np.float64) / histogram.sum()
    centres = 0.5 * (edges[:-1] + edges[1:])
    w = np.concatenate([[0.0], np.cumsum(p)])  # w[k]: mass of bins < k
    m = np.concatenate([[0.0], np.cumsum(p * centres)])
    best, best_k = -1.0, (1, 2)
    for k1 in range(1, bins - 1):
        for k2 in range(k1 + 1, bins):
            between = 0.0
            for a, b in ((0, k1), (k1, k2), (k2, bins)):
                wc = w[b] - w[a]
                if wc > 0:
                    between += (m[b] - m[a]) ** 2 / wc
            if between > best:
                best, best_k = between, (k1, k2)
    return edges[best_k[0]], edges[best_k[1]]


def prepare(path):
    image = nib.load(path)
    data = np.asarray(image.get_fdata(dtype=np.float32))
    mask = sample((data > 0).astype(np.float64), image.affine, order=1) >= 0.5
    intensity = sample(data, image.affine, order=1, smooth_mm=1.0)
    intensity[~mask] = 0.0
    top = np.percentile(intensity[mask], 99.5)
    intensity = np.clip(intensity / top, 0.0, 1.0)
    t1, t2 = otsu_two_thresholds(intensity[mask])
    labels = np.zeros(GRID_SHAPE, dtype=np.uint8)
    labels[mask] = 1 + (intensity[mask] >= t1).astype(np.uint8) + (intensity[mask] >= t2).astype(np.uint8)
    return {"intensity": intensity.astype(np.float32), "mask": mask, "labels": labels,
            "thresholds": [float(t1), float(t2)], "source_range_top": float(top)}


def save(array, path, dtype):
    image = nib.Nifti1Image(np.asarray(array, dtype=dtype), grid_affine())
    image.set_qform(grid_affine(), 1)
    image.set_sform(grid_affine(), 1)
    image.header.set_xyzt_units("mm", "sec")
    partial = path.replace(".nii.gz", ".partial.nii.gz")
    nib.save(image, partial)
    os.replace(partial, path)


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(f"usage: {sys.argv[0]} OUTPUT_DIR\n")
        sys.exit(2)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    import nilearn
    shipped = os.path.join(os.path.dirname(nilearn.__file__), "datasets", "data")
    sources = {
        "colin27": os.environ.get("COLIN27", "/usr/share/mricron/templates/ch2bet.nii.gz"),
        "icbm2009a": os.path.join(shipped, "mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"),
    }
    report = {"grid": {"shape": GRID_SHAPE, "spacing_mm": GRID_SPACING, "first_centre_ras_mm": GRID_FIRST_CENTRE},
              "nilearn": nilearn.__version__, "subjects": {}}
    prepared = {}
    for name, path in sources.items():
        if not os.path.exists(path):
            sys.exit(f"real_brains.py: {path} not found")
        p = prepare(path)
        prepared[name] = p
        save(p["intensity"], os.path.join(out, f"{name}_image.nii.gz"), np.float32)
        save(p["labels"], os.path.join(out, f"{name}_labels.nii.gz"), np.uint8)
        save(p["mask"], os.path.join(out, f"{name}_mask.nii.gz"), np.uint8)
        counts = np.bincount(p["labels"].ravel(), minlength=4)
        report["subjects"][name] = {"source": path, "otsu_thresholds": p["thresholds"],
                                    "voxels_csf_gm_wm": [int(c) for c in counts[1:4]],
                                    "brain_ml": float(p["mask"].sum() * GRID_SPACING ** 3 / 1000)}
    # The check: ICBM's Otsu classes against its own shipped GM/WM maps (argmax, CSF the rest).
    icbm = prepared["icbm2009a"]
    maps = [sample(np.asarray(nib.load(os.path.join(shipped, f"mni_icbm152_{t}_tal_nlin_sym_09a_converted.nii.gz"))
                              .get_fdata(dtype=np.float32)) / 255.0,
                   nib.load(sources["icbm2009a"]).affine, order=1, smooth_mm=1.0) for t in ("gm", "wm")]
    csf = np.clip(1.0 - maps[0] - maps[1], 0.0, 1.0)
    reference = np.zeros(GRID_SHAPE, dtype=np.uint8)
    reference[icbm["mask"]] = 1 + np.argmax(np.stack([csf, maps[0], maps[1]])[:, icbm["mask"]], axis=0)
    dice = {}
    for label, name in ((1, "csf"), (2, "gm"), (3, "wm")):
        a, b = icbm["labels"] == label, reference == label
        dice[name] = float(2.0 * (a & b).sum() / max(1, a.sum() + b.sum()))
    report["icbm_otsu_vs_shipped_tissue_maps_dice"] = dice
    report["pairs"] = ["icbm2009a->colin27", "colin27->icbm2009a"]
    with open(os.path.join(out, "real_brains.json"), "w") as f:
        json.dump(report, f, indent=2)
    print(json.dumps(report["subjects"]), json.dumps(dice))


if __name__ == "__main__":
    main()
