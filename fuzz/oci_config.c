/* oci_config.c - libFuzzer target: the OCI config reader of
 * bindings/l_container.c (a config table -> ctr_spawn_cfg_t), without
 * spawning anything.
 *
 * The input is JSON (a config.json); it is decoded by core.json_decode
 * (bindings/l_json.c) and handed to read_spawn_cfg, which either fills the
 * structure or raises a Lua error (bad config). Properties: no crash, no
 * memory error (ASan), and a filled structure is consistent: every string
 * readable, every list NULL-terminated, counts matching their arrays.
 *
 * l_container.c is included so its static reader is reachable; nothing in
 * it is changed. libFuzzer's interface is process-global, hence the one
 * global Lua state. */
#include "../bindings/l_container.c"

#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>

LCTR_AREA_DECL(json); /* bindings/l_json.c */

static lua_State *fuzz_L;

static size_t touch(const char *s) {
  return s ? strlen(s) : 0;
}

static size_t touch_list(char **v) {
  size_t n = 0;
  for (; v && *v; v++)
    n += strlen(*v) + 1;
  return n;
}

/* Read every field a spawn would read; ASan reports what is not there. */
static size_t walk(const ctr_spawn_cfg_t *c) {
  size_t n = touch_list(c->proc.argv) + touch_list(c->proc.env) + touch(c->proc.cwd);
  for (size_t i = 0; i < c->proc.ngroups; i++)
    n += c->proc.groups[i] & 1;
  for (size_t i = 0; i < c->nrlimits; i++)
    n += (size_t)c->rlimits[i].resource + (c->rlimits[i].lim.rlim_cur & 1);
  n += touch(c->rootfs) + touch(c->overlay_lower) + touch(c->overlay_upper) + touch(c->overlay_work);
  n += touch(c->hostname);
  for (size_t i = 0; i < c->njoin_ns; i++)
    n += touch(c->join_ns[i].path);
  for (size_t i = 0; i < c->nmounts; i++)
    n += touch(c->mounts[i].source) + touch(c->mounts[i].destination) + touch(c->mounts[i].type) +
         touch(c->mounts[i].data);
  n += touch_list(c->masked_paths) + touch_list(c->readonly_paths);
  for (size_t i = 0; i < c->ndevices; i++)
    n += touch(c->devices[i].path) + (size_t)c->devices[i].type;
  return n;
}

static void broken(const char *what) {
  fprintf(stderr, "fuzz_oci: property broken: %s\n", what);
  abort();
}

/* read(config): the reader, run under lua_pcall (it raises on bad input). */
static int read_config(lua_State *L) {
  lua_settop(L, 1);
  lua_newtable(L);
  int anchor = lua_gettop(L);
  ctr_spawn_cfg_t *c = arena(L, anchor, sizeof *c);
  c->cgroup_into_fd = -1;
  read_spawn_cfg(L, anchor, 1, c);
  if (c->proc.argv == NULL || c->proc.argv[0] == NULL)
    broken("accepted a config without process.args");
  if (c->njoin_ns > sizeof c->join_ns / sizeof c->join_ns[0])
    broken("njoin_ns overflows join_ns");
  lua_pushinteger(L, (lua_Integer)walk(c));
  return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  lua_State *L = luaL_newstate();
  if (L == NULL)
    abort();
  luaL_openlibs(L);
  lua_newtable(L);
  lctr_open_json(L);
  lua_getfield(L, -1, "json_decode");
  lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.json_decode");
  lua_pop(L, 1);
  fuzz_L = L;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_L;
  lua_settop(L, 0);
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.json_decode");
  lua_pushlstring(L, (const char *)data, size);
  lua_call(L, 1, 1);
  if (lua_istable(L, -1)) {
    lua_pushcfunction(L, read_config);
    lua_insert(L, -2);
    lua_pcall(L, 1, 1, 0); /* a bad config raises: that is its job */
  }
  lua_settop(L, 0);
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
