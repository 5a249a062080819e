#!/usr/bin/env bash
# Formats every C++ source of the repository with the repository's .clang-format (ITK style).
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -co --exclude-standard '*.h' '*.hxx' '*.cxx' '*.cpp' | xargs -r clang-format -i --style=file
