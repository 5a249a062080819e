#!/usr/bin/env bash
# Builds an ITK 5.2.1 build tree from Debian's source package, with only the ITK modules
# that this module lists in itk-module.cmake (DEPENDS and TEST_DEPENDS). A build tree is
# what ITK's standard external-module path (ITKModuleExternal) and the Python wrapping
# need; Debian's installed ITK has neither.
#
#   scripts/build-itk.sh [--wrap-python]
#
# The tree is cached outside the work tree (SHMOAREG_CACHE, default ~/.cache/shmoareg)
# and reused when present; the script prints the ITK_DIR to use on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${SHMOAREG_CACHE:-$HOME/.cache/shmoareg}
wrap=OFF
[ "${1:-}" = "--wrap-python" ] && wrap=ON
variant=itk-5.2.1-$([ "$wrap" = ON ] && echo wrapped || echo plain)
src=$cache/itk-5.2.1-src
build=$cache/$variant-build
jobs=${SHMOAREG_JOBS:-$(nproc)}

mkdir -p "$cache"
if [ ! -f "$src/CMakeLists.txt" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  # deb822 form with the same Signed-By as Debian's own entry: a one-line deb-src without
  # it conflicts with debian.sources and breaks every apt call.
  list=/etc/apt/sources.list.d/shmoareg-deb-src.sources
  if ! grep -rqsE "^(deb-src .*bookworm main|Types:.*deb-src)" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' |
      $SUDO tee "$list" >/dev/null
    $SUDO apt-get update
  fi
  tmp=$(mktemp -d "$cache/src.XXXX")
  (cd "$tmp" && apt-get source --download-only insighttoolkit5 &&
    dpkg-source --no-check -x insighttoolkit5_*.dsc itk)
  rm -rf "$src"
  mv "$tmp/itk" "$src"
  rm -rf "$tmp"
fi

# ITK modules this module needs, read from itk-module.cmake so the two never drift.
modules=$(sed -n '/^itk_module(/,/^)/p' "$here/itk-module.cmake" | grep -oE '\bITK[A-Za-z0-9]+\b' | sort -u)
module_flags=()
for m in $modules; do module_flags+=("-DModule_$m=ON"); done

# Small source patches for the wrapped build (idempotent; each says why). They only touch
# files that the wrapping reads, so the plain tree built from the same sources is unchanged.
patch_wrapping_sources() {
  # ITK issue 3782 (fixed in ITK 5.4): SWIG >= 4.1's container code names SWIGPY_SLICEOBJECT,
  # which ITK 5.2's module prologue does not define.
  local ext=$src/Wrapping/Generators/Python/module_ext.i.in
  grep -q SWIGPY_SLICEOBJECT "$ext" ||
    sed -i 's|^# define SWIGPY_SLICE_ARG(obj) ((PyObject\*) (obj))|&\n# ifndef SWIGPY_SLICEOBJECT\n#  define SWIGPY_SLICEOBJECT PyObject\n# endif|' "$ext"
  grep -q SWIGPY_SLICEOBJECT "$ext" || { echo "build-itk.sh: could not patch $ext" >&2; exit 1; }
  # ITK issue 3506 (fixed in ITK 5.3): SWIG's parser stops at the "static inline" helpers of
  # itkProcessObject.h that igenerator copies into ITKCommonBase.i. The generated .i files are
  # patched (not the header, which every ITK object file includes) in igenerator's output.
  local igen=$src/Wrapping/Generators/SwigInterface/igenerator.py
  grep -q "shmoareg: 3506" "$igen" || python3 - "$igen" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
anchor = "    def generate_method(self, typedef, method, indent, w):"
if anchor not in s:
    sys.exit("build-itk.sh: igenerator.py has no generate_method to patch")
s = s.replace(anchor, anchor + "\n        # shmoareg: 3506 - the progress helpers are protected implementation details\n"
              "        if method.name in ('progressFloatToFixed', 'progressFixedToFloat'):\n"
              "            return\n", 1)
open(p, "w").write(s)
PY
  # SWIG >= 4.1 no longer emits the flat ios_base_sync_with_stdio / ios_base_xalloc names that
  # ITK 5.2's ITKPyBase configuration lists, so every `import itk` printed two warnings.
  # (Each edit only when needed: a rewritten file would make ITK regenerate and relink.)
  local pybase=$src/Wrapping/Generators/Python/PyBase/CMakeLists.txt
  ! grep -q 'ADD_PYTHON_CONFIG_TEMPLATE("ios_base_\(sync_with_stdio\|xalloc\)"' "$pybase" ||
    sed -i '/ADD_PYTHON_CONFIG_TEMPLATE("ios_base_\(sync_with_stdio\|xalloc\)"/d' "$pybase"
  # ITK 5.2.1's Python support uses np.bool, which numpy 1.24 (Debian 12) removed.
  local types=$src/Wrapping/Generators/Python/itk/support/types.py
  ! grep -q '\bnp\.bool)' "$types" || sed -i 's/\bnp\.bool)/np.bool_)/' "$types"
  # Wrap only the ITK modules Python users of this module need (the rest are built for C++
  # but not wrapped): SHMOAREG_WRAPPED_ITK_MODULES lists them. Unset, ITK wraps every module.
  local mods=$src/Wrapping/Modules/CMakeLists.txt
  grep -q SHMOAREG_WRAPPED_ITK_MODULES "$mods" ||
    sed -i 's|^    if(EXISTS "${${m}_SOURCE_DIR}/wrapping/CMakeLists.txt")|    if(EXISTS "${${m}_SOURCE_DIR}/wrapping/CMakeLists.txt" AND (NOT DEFINED SHMOAREG_WRAPPED_ITK_MODULES OR m IN_LIST SHMOAREG_WRAPPED_ITK_MODULES))|' "$mods"
  grep -q SHMOAREG_WRAPPED_ITK_MODULES "$mods" || { echo "build-itk.sh: could not patch $mods" >&2; exit 1; }
}

wrap_flags=()
if [ "$wrap" = ON ]; then
  patch_wrapping_sources
  wrap_flags=(-DITK_WRAP_PYTHON=ON -DITK_USE_SYSTEM_SWIG=ON -DITK_USE_SYSTEM_CASTXML=ON
    -DITK_WRAP_IMAGE_DIMS=3 -DITK_WRAP_float=ON -DITK_WRAP_unsigned_char=ON
    -DITK_WRAP_signed_short=ON -DITK_WRAP_vector_float=ON -DITK_WRAP_double=OFF
    -DITK_WRAP_unsigned_short=OFF -DITK_WRAP_covariant_vector_float=OFF
    -DModule_ITKBridgeNumPy=ON -DPython3_EXECUTABLE=/usr/bin/python3
    "-DSHMOAREG_WRAPPED_ITK_MODULES=ITKCommon;ITKTransform;ITKIOImageBase;ITKIONIFTI;ITKIOMeta;ITKIONRRD;ITKBridgeNumPy")
fi

# Configured again whenever the module list, the flags or this script change, so a module added
# to itk-module.cmake is switched on in a cached tree too; otherwise a complete tree is reused
# as it is (an ITK reconfigure regenerates itkBuildInformation and relinks every library).
# Debian's LibTorch loads OpenCV, which loads Debian's GDCM: an ITK tree with its own GDCM
# would put two copies of the gdcm:: symbols in one process (a double free at exit). Use the
# system GDCM, as Debian's ITK does.
dpkg-query -W -f='${Status}' libgdcm-dev 2>/dev/null | grep -q "install ok installed" ||
  { SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo; $SUDO apt-get install -y --no-install-recommends libgdcm-dev; }
key=$(printf '%s\n' "${module_flags[@]}" "${wrap_flags[@]}" | cat - "$0" | sha256sum | cut -d' ' -f1)
if [ -f "$build/.shmoareg-complete" ] && [ "$(cat "$build/.shmoareg-config" 2>/dev/null)" = "$key" ]; then
  echo "ITK tree up to date (cached): $build"
  echo "ITK_DIR=$build"
  exit 0
fi
if true; then
  cmake -S "$src" -B "$build" -G Ninja \
    -DITK_USE_SYSTEM_GDCM=ON -DITK_USE_SYSTEM_HDF5=ON \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=ON -DBUILD_TESTING=OFF -DBUILD_EXAMPLES=OFF \
    -DITK_BUILD_DEFAULT_MODULES=OFF -DITK_SKIP_PATH_LENGTH_CHECKS=ON \
    "${module_flags[@]}" "${wrap_flags[@]}"
fi
# The stamp tells users of the cache (scripts/test.sh) that the tree is complete: an
# interrupted build leaves none.
rm -f "$build/.shmoareg-complete"
cmake --build "$build" -j "$jobs"
echo "$key" > "$build/.shmoareg-config"
touch "$build/.shmoareg-complete"
echo "ITK_DIR=$build"
