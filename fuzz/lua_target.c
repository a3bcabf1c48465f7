/* lua_target.c - a libFuzzer target that hands each input to a Lua driver.
 *
 * The driver fuzz/<FUZZ_DRIVER>.lua returns a function(data): it calls the
 * code under test and raises only when a property is broken (a crash of
 * the C code underneath is caught by ASan/UBSan). A raised error aborts,
 * so libFuzzer saves the input as a crash.
 *
 * Coverage: the C code (ctr/core.so of the fuzz build) is instrumented; the
 * Lua code is not, so a line hook hashes (chunk, previous line, line) into
 * libFuzzer's extra counters and the Lua paths guide the mutations too.
 *
 * libFuzzer's interface is process-global: the Lua state and the counters
 * are the only globals, as every libFuzzer target has. */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NCOUNTERS (1u << 16)

__attribute__((used, section("__libfuzzer_extra_counters"))) static uint8_t lua_edges[NCOUNTERS];

static lua_State *fuzz_L;
static uintptr_t fuzz_prev;

static void line_hook(lua_State *L, lua_Debug *ar) {
  if (lua_getinfo(L, "S", ar) == 0)
    return;
  uintptr_t here = ((uintptr_t)ar->source * 31u) ^ ((uintptr_t)ar->currentline * 2654435761u);
  uint8_t *c = &lua_edges[(here ^ (fuzz_prev >> 1)) % NCOUNTERS];
  if (*c < 255)
    (*c)++;
  fuzz_prev = here;
}

static void die(lua_State *L, const char *what) {
  fprintf(stderr, "fuzz_%s: %s: %s\n", FUZZ_DRIVER, what, lua_tostring(L, -1));
  abort();
}

static int traceback(lua_State *L) {
  luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  lua_State *L = luaL_newstate();
  if (L == NULL)
    abort();
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  lua_pushstring(L, LUACTR_SOURCE_DIR "/lua/?.lua;" LUACTR_SOURCE_DIR "/fuzz/?.lua;" LUACTR_SOURCE_DIR
                    "/spec/?.lua;/usr/share/lua/5.4/?.lua");
  lua_setfield(L, -2, "path");
  lua_pushstring(L, LUACTR_BINARY_DIR "/?.so");
  lua_setfield(L, -2, "cpath");
  lua_pop(L, 1);
  lua_pushcfunction(L, traceback);
  if (luaL_loadfile(L, LUACTR_SOURCE_DIR "/fuzz/" FUZZ_DRIVER ".lua") != LUA_OK)
    die(L, "load the driver");
  if (lua_pcall(L, 0, 1, 1) != LUA_OK || !lua_isfunction(L, -1))
    die(L, "the driver must return a function");
  lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.driver");
  lua_pop(L, 1);
  lua_sethook(L, line_hook, LUA_MASKLINE, 0);
  fuzz_L = L;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = fuzz_L;
  lua_settop(L, 0);
  lua_pushcfunction(L, traceback);
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.driver");
  lua_pushlstring(L, (const char *)data, size);
  fuzz_prev = 0;
  if (lua_pcall(L, 1, 0, 1) != LUA_OK)
    die(L, "property broken");
  lua_settop(L, 0);
  lua_gc(L, LUA_GCSTEP, 0);
  return 0;
}
