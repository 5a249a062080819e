"""The SHMoAReg wrapping from Python: the registration filter on a small synthetic pair (object
and functional forms, numpy views) against the C++ command line on the same files; the metric
filters on analytic cases and against the C++ `shmoareg score`; errors raised as Python
exceptions that carry the C++ message.

With TORCH "blocked" PyTorch cannot be imported (ITK's helpers import it when they can); with
"imported" it is imported first, as on most machines that run deep-learning tools: LibTorch's
autograd then refuses to run in a thread that holds the GIL, so the module's calls must release
it (issue 19). Both modes run in CI.

usage: shmoareg_python_test.py SHMOAREG_EXECUTABLE MODEL_FILE [blocked|imported]
"""
import importlib.abc
import os
import subprocess
import sys
import tempfile
import threading
import time

shmoareg, model = sys.argv[1], sys.argv[2]
torch_mode = sys.argv[3] if len(sys.argv) > 3 else "imported"
if torch_mode == "blocked":
    class BlockTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch blocked by the test")
            return None
    sys.meta_path.insert(0, BlockTorch())
elif torch_mode == "imported":
    import torch  # fails the test where PyTorch is not installed: install-deps.sh installs it
else:
    sys.exit(f"unknown torch mode {torch_mode!r}")

import itk
import numpy as np
work = tempfile.mkdtemp(prefix="shmoareg-python-")
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def image(array, spacing=(3.0, 3.0, 3.0), origin=(-60.0, -72.0, -50.0)):
    result = itk.image_from_array(np.ascontiguousarray(array))
    result.SetSpacing(spacing)
    result.SetOrigin(origin)
    return result


# --- A synthetic pair on a 3 mm grid: a smooth blob and the same blob moved by (4, -3, 2) mm.
z, y, x = np.meshgrid(np.arange(40), np.arange(48), np.arange(40), indexing="ij")
def blob(shift):
    px, py, pz = x * 3.0 - shift[0], y * 3.0 - shift[1], z * 3.0 - shift[2]
    return (100.0 * np.exp(-((px - 60) ** 2 / 900 + (py - 72) ** 2 / 1400 + (pz - 60) ** 2 / 700))
            + 30.0 * np.exp(-((px - 45) ** 2 + (py - 60) ** 2 + (pz - 55) ** 2) / 150)).astype(np.float32)
fixed = image(blob((0.0, 0.0, 0.0)))
moving = image(blob((4.0, -3.0, 2.0)))
itk.imwrite(fixed, os.path.join(work, "fixed.nii.gz"))
itk.imwrite(moving, os.path.join(work, "moving.nii.gz"))

# Object form, as ITK filters are used from Python.
ImageType = itk.Image[itk.F, 3]
registration = itk.SHMoARegistrationFilter[ImageType, ImageType, itk.Image[itk.Vector[itk.F, 3], 3],
                                           itk.Image[itk.SS, 3]].New()
registration.SetFixedImage(fixed)
registration.SetMovingImage(moving)
registration.SetModelFileName(model)
registration.SetDevice("cpu")
registration.Update()
field = registration.GetOutput()
warped = registration.GetWarpedImage()
view = itk.array_view_from_image(field)
check(view.shape == (40, 48, 40, 3), f"field as a numpy view: shape {view.shape}")
check(np.isfinite(view).all() and np.abs(view).max() > 0, "the field is finite and not zero")
check(itk.array_view_from_image(warped).shape == (40, 48, 40), "warped image on the fixed grid")
check(tuple(field.GetSpacing()) == (3.0, 3.0, 3.0) and tuple(field.GetOrigin()) == (-60.0, -72.0, -50.0),
      "the field carries the fixed image's spacing and origin")

# New() with inputs and keyword arguments, and the functional forms.
again = itk.SHMoARegistrationFilter.New(fixed, moving, ModelFileName=model, Device="cpu")
again.Update()
check(np.array_equal(itk.array_view_from_image(again.GetOutput()), view), "New(fixed, moving, ModelFileName=...)")
functional = itk.shmoa_registration_filter(fixed, moving, model_file_name=model, device="cpu")
check(np.array_equal(itk.array_view_from_image(functional), view), "itk.shmoa_registration_filter")
array_field = itk.shmoa_registration_filter(itk.array_from_image(fixed), itk.array_from_image(moving),
                                            model_file_name=model, device="cpu")
check(isinstance(array_field, np.ndarray) and array_field.shape == (40, 48, 40, 3),
      "numpy arrays in, a numpy array out (functional form)")
if torch_mode == "imported":
    # torch.Tensors in, a torch.Tensor out: the numpy layout, the same field.
    tensor_field = itk.shmoa_registration_filter(torch.from_numpy(itk.array_from_image(fixed)),
                                                 torch.from_numpy(itk.array_from_image(moving)),
                                                 model_file_name=model, device="cpu")
    check(isinstance(tensor_field, torch.Tensor) and tuple(tensor_field.shape) == (40, 48, 40, 3)
          and np.array_equal(tensor_field.numpy(), array_field),
          "torch.Tensors in, a torch.Tensor out (functional form), = the numpy arrays' field")
generated = itk.sh_mo_a_registration_filter(fixed, moving, model_file_name=model, device="cpu")
check(np.array_equal(itk.array_view_from_image(generated), view), "itk.sh_mo_a_registration_filter (ITK's name)")

# The same registration by the C++ command line (the network alone: --refinement none is the
# filter's default): the same field and warped image.
subprocess.run([shmoareg, "register", "--model", model, "--device", "cpu", "--refinement", "none",
                "--fixed", os.path.join(work, "fixed.nii.gz"), "--moving", os.path.join(work, "moving.nii.gz"),
                "--output-field", os.path.join(work, "field.nii.gz"),
                "--output-warped", os.path.join(work, "warped.nii.gz")], check=True, stdout=subprocess.DEVNULL)
cli_field = itk.array_from_image(itk.imread(os.path.join(work, "field.nii.gz")))
cli_warped = itk.array_from_image(itk.imread(os.path.join(work, "warped.nii.gz")))
check(np.abs(cli_field - view).max() < 1e-4, f"field = C++ register's (max diff {np.abs(cli_field - view).max():.2e} mm)")
check(np.abs(cli_warped - itk.array_view_from_image(warped)).max() < 1e-3, "warped image = C++ register's")

# The refinement from Python (SetRefinement("fast")) = the command line's default refinement;
# it changes the field and reports its levels.
refined = itk.SHMoARegistrationFilter.New(fixed, moving, ModelFileName=model, Device="cpu")
refined.SetRefinement("fast")
refined.Update()
subprocess.run([shmoareg, "register", "--model", model, "--device", "cpu",
                "--fixed", os.path.join(work, "fixed.nii.gz"), "--moving", os.path.join(work, "moving.nii.gz"),
                "--output-field", os.path.join(work, "refined-field.nii.gz"),
                "--output-warped", os.path.join(work, "refined-warped.nii.gz")], check=True, stdout=subprocess.DEVNULL)
refined_view = itk.array_view_from_image(refined.GetOutput())
refined_difference = np.abs(itk.array_from_image(itk.imread(os.path.join(work, "refined-field.nii.gz"))) -
                            refined_view).max()
check(refined_difference < 1e-2, f"SetRefinement('fast') = C++ register's default (max diff {refined_difference:.2e} mm)")
check(np.abs(refined_view - view).max() > 0.1, "the refinement changes the network's field")
check(refined.GetRefinementSeconds() > 0.0, "the refinement's time is reported")
try:
    refined.SetRefinement("slow")
    check(False, "an unknown refinement name is refused")
except RuntimeError as error:
    check("slow" in str(error), f"an unknown refinement name is refused by name ({error})")

# The network source on its own grid (images already there, intensities in [0, 1]): a named
# refinement from Python changes its field, one IterationEvent per level as each ends.
network_model = itk.SHMoARegModel.New()
network_model.LoadFromFile(model)
source = itk.MoEDisplacementFieldSource.New()
source.SetModel(network_model)
source.SetDevice("cpu")
source.SetFixedImage(image(itk.array_from_image(fixed) / 130.0))
source.SetMovingImage(image(itk.array_from_image(moving) / 130.0))
source.Update()
network_only = itk.array_from_image(source.GetDisplacementField())
levels_seen = []
source.AddObserver(itk.IterationEvent(), lambda: levels_seen.append(1))
source.SetRefinement("fast")
source.Update()
source_refined = itk.array_view_from_image(source.GetDisplacementField())
check(np.abs(source_refined - network_only).max() > 0.1 and source.GetRefinementSeconds() > 0.0,
      "MoEDisplacementFieldSource.SetRefinement('fast') refines the network's field")
check(len(levels_seen) == 2, f"an IterationEvent per refinement level ({len(levels_seen)} for fast's 2)")

# Instance optimisation from Python (a backward pass in LibTorch: issue 19's snippet), with a
# Python progress observer, which takes the GIL back while Update runs without it.
progress = []
optimised = itk.SHMoARegistrationFilter.New(fixed, moving, ModelFileName=model, Device="cpu")
optimised.SetNumberOfInstanceOptimizationIterations(20)
optimised.AddObserver(itk.ProgressEvent(), lambda: progress.append(optimised.GetProgress()))
optimised.Update()
check(np.abs(itk.array_view_from_image(optimised.GetOutput()) - view).max() > 0.01,
      "instance optimisation from Python changes the network's field")
check(len(progress) > 2 and progress[-1] == 1.0, f"a Python progress observer ran ({len(progress)} calls)")
check(("torch" in sys.modules) == (torch_mode == "imported"), f"PyTorch is {torch_mode} in this run")

# Fine-tuning from Python (SHMoARegModel.TrainStep: a backward pass and an Adam step in
# LibTorch, with the GIL released): a step of learning rate 0 changes nothing, steps on the pair
# lower its loss and change the network's field.
tuned = itk.SHMoARegModel.New()
tuned.LoadFromFile(model)
tuned.SetDevice("cpu")
network_fixed = image(itk.array_from_image(fixed) / 130.0)
network_moving = image(itk.array_from_image(moving) / 130.0)
tuned_source = itk.MoEDisplacementFieldSource.New(Model=tuned, Device="cpu", FixedImage=network_fixed,
                                                  MovingImage=network_moving)
first_loss = tuned.TrainStep(network_fixed, network_moving, 0.0)
tuned_source.Update()
check(np.abs(itk.array_from_image(tuned_source.GetDisplacementField()) - network_only).max() < 1e-5,
      "TrainStep at learning rate 0 leaves the network as it was")
losses = [tuned.TrainStep(network_fixed, network_moving, 1e-4) for _ in range(8)]
tuned_source.Modified()
tuned_source.Update()
check(np.isfinite(first_loss) and losses[-1] < first_loss,
      f"TrainStep from Python lowers the pair's loss ({first_loss:.4f} -> {losses[-1]:.4f})")
check(np.abs(itk.array_from_image(tuned_source.GetDisplacementField()) - network_only).max() > 1e-3,
      "the trained network predicts another field")

# Two registrations in two Python threads on one shared model (the GIL released): what each
# gives alone, and they overlap in time.
shared = itk.SHMoARegModel.New()
shared.LoadFromFile(model)
def register_pair(pair_fixed, pair_moving, out, key):
    pair = itk.SHMoARegistrationFilter.New(pair_fixed, pair_moving, Device="cpu")
    pair.SetModel(shared)
    pair.SetRefinement("fast")
    pair.SetNumberOfWorkUnits(1)
    start = time.perf_counter()
    pair.Update()
    out[key] = (itk.array_from_image(pair.GetOutput()), start, time.perf_counter())
serial, threaded = {}, {}
register_pair(fixed, moving, serial, "a")
register_pair(moving, fixed, serial, "b")
workers = [threading.Thread(target=register_pair, args=(fixed, moving, threaded, "a")),
           threading.Thread(target=register_pair, args=(moving, fixed, threaded, "b"))]
for w in workers:
    w.start()
for w in workers:
    w.join()
threaded_difference = max(np.abs(threaded[k][0] - serial[k][0]).max() for k in ("a", "b"))
check(threaded_difference < 1e-3, f"two threads give what each gives alone (max diff {threaded_difference:.1e} mm)")
overlap = min(threaded["a"][2], threaded["b"][2]) - max(threaded["a"][1], threaded["b"][1])
check(overlap > 0, f"the two registrations ran at the same time (overlap {overlap:.2f} s)")

# Two network passes from Python = the command line's --network-passes 2 (the network alone).
twice = itk.SHMoARegistrationFilter.New(fixed, moving, ModelFileName=model, Device="cpu", NumberOfNetworkPasses=2)
twice.Update()
check(twice.GetNumberOfNetworkPasses() == 2, "NumberOfNetworkPasses set from Python")
subprocess.run([shmoareg, "register", "--model", model, "--device", "cpu", "--refinement", "none",
                "--network-passes", "2",
                "--fixed", os.path.join(work, "fixed.nii.gz"), "--moving", os.path.join(work, "moving.nii.gz"),
                "--output-field", os.path.join(work, "twice-field.nii.gz")], check=True, stdout=subprocess.DEVNULL)
twice_view = itk.array_view_from_image(twice.GetOutput())
twice_difference = np.abs(itk.array_from_image(itk.imread(os.path.join(work, "twice-field.nii.gz"))) - twice_view).max()
check(twice_difference < 1e-4, f"NumberOfNetworkPasses=2 = C++ register --network-passes 2 (max diff {twice_difference:.2e} mm)")
check(np.abs(twice_view - view).max() > 0.01, "a second pass changes the network's field")

# An affine initial transform built in Python (itk.AffineTransform) gives what the C++ command
# line gives with the same transform as an ITK .txt file.
affine = itk.AffineTransform[itk.D, 3].New()
affine.SetCenter([0.0, 0.0, 10.0])
affine.Rotate3D([0.0, 0.0, 1.0], 0.05)
affine.Scale(1.02)
affine.Translate([2.0, -1.5, 1.0])
with_affine = itk.SHMoARegistrationFilter.New(fixed, moving, ModelFileName=model, Device="cpu",
                                              InitialTransform=affine)
with_affine.Update()
parameters = affine.GetParameters()
center = affine.GetFixedParameters()
with open(os.path.join(work, "affine.txt"), "w") as f:
    f.write("#Insight Transform File V1.0\n#Transform 0\nTransform: AffineTransform_double_3_3\n")
    f.write("Parameters: " + " ".join(repr(parameters[i]) for i in range(12)) + "\n")
    f.write("FixedParameters: " + " ".join(repr(center[i]) for i in range(3)) + "\n")
subprocess.run([shmoareg, "register", "--model", model, "--device", "cpu", "--refinement", "none",
                "--fixed", os.path.join(work, "fixed.nii.gz"), "--moving", os.path.join(work, "moving.nii.gz"),
                "--initial-transform", os.path.join(work, "affine.txt"),
                "--output-field", os.path.join(work, "affine-field.nii.gz"),
                "--output-warped", os.path.join(work, "affine-warped.nii.gz")], check=True, stdout=subprocess.DEVNULL)
affine_difference = np.abs(itk.array_from_image(itk.imread(os.path.join(work, "affine-field.nii.gz")))
                           - itk.array_view_from_image(with_affine.GetOutput())).max()
check(affine_difference < 1e-4, f"InitialTransform=itk.AffineTransform = C++ --initial-transform .txt "
                                f"(max diff {affine_difference:.2e} mm)")
check(np.abs(itk.array_view_from_image(with_affine.GetOutput()) - view).max() > 1.0,
      "the initial transform changes the field")

# --- Metric filters: two cubes of 8^3 voxels, the moving one 3 voxels further along x.
def cube(shift):
    labels = np.zeros((20, 20, 20), np.int16)
    labels[6:14, 6:14, 6 + shift:14 + shift] = 5
    return image(labels, spacing=(2.0, 2.0, 2.0), origin=(0.0, 0.0, 0.0))
fixed_labels, moving_labels = cube(0), cube(3)
itk.imwrite(fixed_labels, os.path.join(work, "fixed_labels.nrrd"))
itk.imwrite(moving_labels, os.path.join(work, "moving_labels.nrrd"))
LabelType = itk.Image[itk.SS, 3]
dice = itk.LabelDiceCoefficientImageFilter[LabelType].New(SourceImage=moving_labels, TargetImage=fixed_labels)
dice.Update()
assd = itk.AverageSymmetricSurfaceDistanceImageFilter[LabelType].New(SourceImage=moving_labels,
                                                                     TargetImage=fixed_labels)
assd.Update()
check(abs(dice.GetMeanDiceCoefficient() - 0.625) < 1e-12,
      f"Dice of the shifted cubes = 2 * 320 / 1024 ({dice.GetMeanDiceCoefficient()})")
row = subprocess.run([shmoareg, "score", "--fixed-labels", os.path.join(work, "fixed_labels.nrrd"),
                      "--moving-labels", os.path.join(work, "moving_labels.nrrd")],
                     check=True, capture_output=True, text=True).stdout.strip().split(",")
check(abs(float(row[2]) - dice.GetMeanDiceCoefficient()) < 1e-6, f"Dice = C++ score's ({row[2]})")
check(abs(float(row[3]) - assd.GetMeanAverageSymmetricSurfaceDistance()) < 1e-4,
      f"ASSD = C++ score's ({row[3]} mm vs {assd.GetMeanAverageSymmetricSurfaceDistance():.6f} mm)")
check(assd.GetMeanAverageSymmetricSurfaceDistance() > 0, "ASSD of different cubes is positive")
same = itk.LabelDiceCoefficientImageFilter[LabelType].New(SourceImage=fixed_labels, TargetImage=fixed_labels)
same.Update()
check(same.GetMeanDiceCoefficient() == 1.0, "Dice of a label map with itself is 1")

# Jacobian folding: u(x) = (-2 x, 0, 0) has det J = -1 everywhere; a constant field has none.
FieldType = itk.Image[itk.Vector[itk.F, 3], 3]
folded = np.zeros((10, 10, 10, 3), np.float32)
folded[..., 0] = -2.0 * np.arange(10, dtype=np.float32)[None, None, :]
folding = itk.JacobianDeterminantFoldingImageFilter[FieldType, itk.Image[itk.F, 3], itk.Image[itk.UC, 3]].New(
    Input=itk.image_from_array(folded, ttype=(FieldType,)))
folding.Update()
check(folding.GetFoldingPercentage() == 100.0, f"det J = -1 folds everywhere ({folding.GetFoldingPercentage()} %)")
check(np.allclose(itk.array_view_from_image(folding.GetOutput()), -1.0), "the determinant image is -1")
folding.SetInput(itk.image_from_array(np.full((10, 10, 10, 3), 1.5, np.float32), ttype=(FieldType,)))
folding.Update()
check(folding.GetFoldingPercentage() == 0.0, "a translation does not fold")

# --- Errors come back as Python exceptions that carry the C++ message.
def raises(action, words, what):
    try:
        action()
    except Exception as error:  # ITK turns itk::ExceptionObject into RuntimeError
        message = str(error)
        check(all(w in message for w in words), f"{what}: {type(error).__name__} names {words}")
        check("frame #" not in message and "Exception raised from" not in message,
              f"{what}: no LibTorch trace in the message")
        check("\n" not in message and "ITK ERROR" not in message and "(0x" not in message,
              f"{what}: one line without ITK's file, line and address ({message!r})")
        return
    check(False, f"{what}: no exception")
missing = os.path.join(work, "missing.pt")
raises(lambda: itk.shmoa_registration_filter(fixed, moving, model_file_name=missing, device="cpu"),
       ["missing.pt"], "a missing model file")
not_a_model = os.path.join(work, "not-a-model.pt")
open(not_a_model, "w").write("not a model")
raises(lambda: itk.shmoa_registration_filter(fixed, moving, model_file_name=not_a_model, device="cpu"),
       ["not-a-model.pt"], "a file that is not a model")
empty = itk.Image[itk.F, 3].New()
raises(lambda: itk.shmoa_registration_filter(fixed, empty, model_file_name=model, device="cpu"),
       ["empty"], "an empty moving image")
nan_moving = image(np.where(x == 5, np.nan, blob((0.0, 0.0, 0.0))).astype(np.float32))
raises(lambda: itk.shmoa_registration_filter(fixed, nan_moving, model_file_name=model, device="cpu"),
       ["NaN"], "a moving image with NaN")
smaller = image(np.zeros((20, 20, 12), np.int16), spacing=(2.0, 2.0, 2.0), origin=(0.0, 0.0, 0.0))
raises(lambda: itk.LabelDiceCoefficientImageFilter[LabelType].New(SourceImage=moving_labels,
                                                                   TargetImage=smaller).Update(),
       ["different grids"], "label maps on different grids")
# A label map of the same size 1 m away: refused by Dice and ASSD alike, naming the origins.
far_labels = itk.image_from_array(itk.array_from_image(fixed_labels))
far_labels.CopyInformation(fixed_labels)
far_origin = [float(o) for o in fixed_labels.GetOrigin()]
far_origin[0] += 1000.0
far_labels.SetOrigin(far_origin)
for name in ("LabelDiceCoefficientImageFilter", "AverageSymmetricSurfaceDistanceImageFilter"):
    measure = getattr(itk, name)[LabelType]
    raises(lambda: measure.New(SourceImage=fixed_labels, TargetImage=far_labels).Update(),
           ["different grids", "origin", "vs"], f"{name}: a label map 1 m from the other")

# With SHMOAREG_DEBUG set the whole text comes back: ITK's file and line, and LibTorch's trace.
os.environ["SHMOAREG_DEBUG"] = "1"
try:
    itk.shmoa_registration_filter(fixed, moving, model_file_name=not_a_model, device="cpu")
    check(False, "SHMOAREG_DEBUG: no exception")
except RuntimeError as error:
    check(".cxx:" in str(error) or ".hxx:" in str(error), f"SHMOAREG_DEBUG=1 keeps ITK's file and line ({str(error)[:60]!r})")
del os.environ["SHMOAREG_DEBUG"]

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
