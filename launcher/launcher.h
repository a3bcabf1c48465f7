/* launcher.h - the luac-ctr executable: script runner and REPL.
 *
 *  main.c      option parsing, the Lua state, running init.lua / -e / -l /
 *              the script / the REPL, error reporting and exit codes
 *  paths.c     build tree or installed layout, package.path, script lookup,
 *              the --help listing of scripts
 *  loadfile.c  loading Lua files with one open and read: lc_loadfile and the
 *              package.searchers[2] built on it
 *  readline.c  the `ctr.readline` C module (libedit), used only by the REPL:
 *              built as ctr/readline.so, not linked into the binary
 */
#ifndef LUACTR_LAUNCHER_H
#define LUACTR_LAUNCHER_H

#include <limits.h>
#include <stddef.h>

#include <lua.h>

#define LC_PROG "luac-ctr"
#define LC_RUNC_NAME "luac-runc" /* the OCI runtime: a link to this binary (main.c) */
#define LC_EXIT_USAGE 125        /* the launcher's own errors (docker uses 125) */
/* where the binary's file is, set before re-executing from a sealed memfd
 * (main.c); read only when /proc/self/exe is a memfd (paths.c) */
#define LC_EXE_ENV "LUAC_CTR_EXE"

/* Where things are: computed once at start-up. */
typedef struct lc_layout {
  int build_tree;                 /* running from the build tree */
  char lua_dir[PATH_MAX];         /* dir holding ctr/init.lua */
  char cmod_dir[PATH_MAX];        /* dir holding ctr/core.so */
  char builtin_scripts[PATH_MAX]; /* the built-in workflows */
  char data_dir[PATH_MAX];        /* share/luac-ctr: profiles, doc sources */
  char config_dir[PATH_MAX];      /* user config dir ("" when unknown) */
} lc_layout_t;

/* Fill the layout (reads /proc/self/exe and the environment). */
void lc_layout_init(lc_layout_t *lay);

/* Prepend the layout's dirs to package.path and package.cpath. */
void lc_set_paths(lua_State *L, const lc_layout_t *lay);

/* luaL_loadfilex(L, path, NULL) with one stat, open, read and close
 * (loadfile.c): the same chunk, chunk name and messages. */
int lc_loadfile(lua_State *L, const char *path);

/* Replace package.searchers[2] (Lua files on package.path) by one that
 * loads with lc_loadfile: same search order and messages, fewer syscalls. */
void lc_install_searcher(lua_State *L);

/* Register package.preload["ctr.launcher"] (an info table). Nothing is built
 * until required. */
void lc_register_preloads(lua_State *L, const lc_layout_t *lay);

/* Look a script up by path or name; fills out. Returns 0 when found, -1 when
 * not (errno set: ENOENT for an unknown name). */
int lc_find_script(const lc_layout_t *lay, const char *name, char *out, size_t outlen);

/* Print the --help text with the list of built-in and user scripts. */
void lc_print_help(const lc_layout_t *lay);

/* Fill buf with the user script dirs in lookup order, separated by '\0',
 * ending with an empty string. Returns the number of dirs. */
int lc_user_dirs(const lc_layout_t *lay, char *buf, size_t buflen);

/* luaopen for `ctr.readline` (readline.c, the module ctr/readline.so). */
int luaopen_ctr_readline(lua_State *L);

#endif
