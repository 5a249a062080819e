#!/bin/bash
# sweep.sh NAME [prototype options]: refinement_prototype.py over seed 1's validation pairs (DATA: a
# registration_comparison.sh SPLIT=val output folder) from the shipped network's field; one line
# of mean Dice, EPE, folding and seconds per mode, appended to summary.txt.
name=$1; shift
S=${SHMOAREG:-build/src/cli/shmoareg}; PY=${PYTHON:-$HOME/.cache/shmoareg/peers-venv/bin/python}; here=$(dirname "$0")
mkdir -p runs/$name; : > runs/$name/rows
for mode in isotropic anisotropic; do
  D=${DATA:?DATA: the folder holding data-isotropic-val and data-anisotropic-val}/data-$mode-val
  for s in 0 1 2; do
    f=val$s; m=val$(( (s+1)%3 ))
    net=nets/$mode-$s.nii.gz
    [ -f $net ] || { mkdir -p nets; $S register --model ${MODEL:-models/SHMoAReg.pt} --device cpu --threads 2 --fixed $D/${f}_image.nii.gz --moving $D/${m}_image.nii.gz --output-field $net --refinement none > /dev/null; }
    t=$( { /usr/bin/time -f %e $PY $here/refinement_prototype.py $D/${f}_image.nii.gz $D/${m}_image.nii.gz $net runs/$name/$mode-$s.nii.gz "$@" 2>runs/$name/$mode-$s.log; } 2>&1 | tail -1)
    r=$(grep refinement runs/$name/$mode-$s.log | awk '{print $2}')
    row=$($S score --fixed-labels $D/${f}_labels.nii.gz --moving-labels $D/${m}_labels.nii.gz --field runs/$name/$mode-$s.nii.gz --fixed-to-atlas $D/${f}_to_atlas.nii.gz --moving-from-atlas $D/${m}_from_atlas.nii.gz)
    echo "$mode,$row,$r" >> runs/$name/rows
  done
done
awk -F, -v n="$name" '{k=$1; c[k]++; d[k]+=$4; e[k]+=$8; f[k]+=$6; t[k]+=$9} END {printf "%-40s", n; for (k in c) printf " %s dice %.4f epe %.3f fold %.4f s %.1f |", substr(k,1,3), d[k]/c[k], e[k]/c[k], f[k]/c[k], t[k]/c[k]; print ""}' runs/$name/rows | tee -a summary.txt
