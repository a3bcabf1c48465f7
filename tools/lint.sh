#!/bin/sh
# The static checks CI runs (spec/lint_spec.lua), one per argument:
#   format   clang-format --dry-run -Werror on the C sources (.clang-format;
#            sh tools/format.sh fixes what it reports)
#   lua      luacheck on lua/ scripts/ examples/ spec/ tools/ (.luacheckrc)
#   c        cppcheck on core/ bindings/ launcher/
#   shape    tools/shape.lua: no lua/ctr module over 400 lines, no plain
#            string raised in lua/ctr (errors.throw instead)
# No argument: all four. Exits non-zero on the first finding.
set -eu
cd "$(dirname "$0")/.."
build=${LUAC_CTR_BUILD:-build}

lint_format() {
  git ls-files 'core/*.[ch]' 'bindings/*.[ch]' 'launcher/*.[ch]' |
    xargs clang-format --dry-run -Werror
}

lint_shape() {
  lua5.4 tools/shape.lua lua/ctr
}

lint_lua() {
  luacheck -q --formatter plain --no-color lua scripts examples spec tools
}

# Suppressed by rule:
#   memleak, resourceLeak  cppcheck does not know __attribute__((cleanup))
#                          (core/cleanup.h), so every early return after a
#                          cleanup_free/cleanup_fd declaration looks like a leak
#   variableScope          declaring a variable at the top of a block is fine
#   constVariable          so is a non-const local array of pointers
# Single false positives carry a `cppcheck-suppress` comment on their line.
lint_c() {
  cppcheck -q --error-exitcode=1 --std=c11 --enable=warning,style,performance,portability \
    -D_GNU_SOURCE -D__x86_64__ -I core -I bindings -I launcher -I "$build/gen" --inline-suppr \
    --suppress=memleak --suppress=resourceLeak --suppress=variableScope --suppress=constVariable \
    core bindings launcher
}

[ $# -gt 0 ] || set -- format lua c shape
for what in "$@"; do
  case $what in
    format) lint_format ;;
    lua) lint_lua ;;
    c) lint_c ;;
    shape) lint_shape ;;
    *) echo "tools/lint.sh: unknown check '$what' (format, lua, c, shape)" >&2; exit 2 ;;
  esac
done
