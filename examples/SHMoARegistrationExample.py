#!/usr/bin/env python3
# ==========================================================================
#
#   Copyright NumFOCUS
#
#   Licensed under the Apache License, Version 2.0 (the "License");
#   you may not use this file except in compliance with the License.
#   You may obtain a copy of the License at
#
#          http://www.apache.org/licenses/LICENSE-2.0.txt
#
#   Unless required by applicable law or agreed to in writing, software
#   distributed under the License is distributed on an "AS IS" BASIS,
#   WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
#   See the License for the specific language governing permissions and
#   limitations under the License.
#
# ==========================================================================
"""Registers a moving image to a fixed image with itk.SHMoARegistrationFilter and writes the
displacement field (ITK's physical convention) and the warped moving image; with moving labels,
also the labels warped by the same field (nearest neighbour). The Python twin of
SHMoARegistrationExample.cxx: its test compares the outputs with the same baselines.

usage: SHMoARegistrationExample.py fixed moving model.pt field.nii.gz warped.nii.gz
                                   [movingLabels warpedLabels]
"""
import sys

import itk

if len(sys.argv) not in (6, 8):
    sys.exit(__doc__)
fixed_file, moving_file, model_file, field_file, warped_file = sys.argv[1:6]
with_labels = len(sys.argv) == 8

fixed = itk.imread(fixed_file, itk.F)
moving = itk.imread(moving_file, itk.F)
# The network grid comes from the model's training voxel size and field of view; "auto" runs
# on a GPU where LibTorch has one.
registration = itk.SHMoARegistrationFilter.New(fixed, moving, ModelFileName=model_file, Device="auto")
if with_labels:
    registration.SetMovingLabelImage(itk.imread(sys.argv[6], itk.SS))
registration.Update()

itk.imwrite(registration.GetOutput(), field_file)
itk.imwrite(registration.GetWarpedImage(), warped_file)
if with_labels:
    itk.imwrite(registration.GetWarpedLabelImage(), sys.argv[7])
written = ", ".join(sys.argv[4:6] + (sys.argv[7:8] if with_labels else []))
print(f"on a {tuple(registration.GetUsedNetworkGridSize())} grid; wrote {written}")
