/* modules.c - the launcher's own Lua module, registered in package.preload so
 * that nothing is built unless some code requires it:
 *
 *   ctr.launcher  where things are: {version, build_tree, lua_dir, cmod_dir,
 *                 scripts_dir, config_dir, data_dir, source_dir, binary_dir,
 *                 doc_dirs = {...}, user_dirs = {...}}
 *
 * (ctr.readline, the REPL's libedit line editing, is the C module
 * ctr/readline.so built from readline.c: see there.)
 */
#include "launcher.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

static void setstr(lua_State *L, const char *k, const char *v) {
  lua_pushstring(L, v);
  lua_setfield(L, -2, k);
}

static void set_list(lua_State *L, const char *k, const char *const *v, int n) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushstring(L, v[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, k);
}

static void set_user_dirs(lua_State *L, const lc_layout_t *lay) {
  char dirs[4 * PATH_MAX];
  int i = 0;
  lc_user_dirs(lay, dirs, sizeof dirs);
  lua_newtable(L);
  for (const char *d = dirs; *d; d += strlen(d) + 1) {
    lua_pushstring(L, d);
    lua_rawseti(L, -2, ++i);
  }
  lua_setfield(L, -2, "user_dirs");
}

/* Documentation sources read by help(): C binding sources and Lua modules. */
static void set_doc_dirs(lua_State *L, const lc_layout_t *lay) {
  static const char *const build[] = {LUACTR_SOURCE_DIR "/bindings", LUACTR_SOURCE_DIR "/lua/ctr"};
  char b[PATH_MAX + 16], l[PATH_MAX + 16];
  snprintf(b, sizeof b, "%s/doc/bindings", lay->data_dir);
  snprintf(l, sizeof l, "%s/doc/lua/ctr", lay->data_dir);
  const char *const inst[] = {b, l};
  set_list(L, "doc_dirs", lay->build_tree ? build : inst, 2);
}

static int open_launcher(lua_State *L) {
  const lc_layout_t *lay = lua_touserdata(L, lua_upvalueindex(1));
  lua_createtable(L, 0, 12);
  setstr(L, "version", LUACTR_VERSION);
  lua_pushboolean(L, lay->build_tree);
  lua_setfield(L, -2, "build_tree");
  setstr(L, "lua_dir", lay->lua_dir);
  setstr(L, "cmod_dir", lay->cmod_dir);
  setstr(L, "scripts_dir", lay->builtin_scripts);
  setstr(L, "config_dir", lay->config_dir);
  setstr(L, "data_dir", lay->data_dir);
  if (lay->build_tree) {
    setstr(L, "source_dir", LUACTR_SOURCE_DIR);
    setstr(L, "binary_dir", LUACTR_BINARY_DIR);
  }
  set_doc_dirs(L, lay);
  set_user_dirs(L, lay);
  return 1;
}

void lc_register_preloads(lua_State *L, const lc_layout_t *lay) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  lua_pushlightuserdata(L, (void *)lay);
  lua_pushcclosure(L, open_launcher, 1);
  lua_setfield(L, -2, "ctr.launcher");
  lua_pop(L, 1);
}
