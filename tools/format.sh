#!/bin/sh
# Reformat the C sources in place with the repository's .clang-format
# (spec/lint_spec.lua fails on any difference). Usage: sh tools/format.sh
set -eu
cd "$(dirname "$0")/.."
git ls-files 'core/*.[ch]' 'bindings/*.[ch]' 'launcher/*.[ch]' |
  xargs clang-format -i
