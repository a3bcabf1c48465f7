/* loadfile.c - loading Lua files with one stat, open, read and close.
 *
 * Lua's own file searcher (package.searchers[2]) first fopen()s each
 * candidate to test it, then luaL_loadfile opens it again, reads a
 * character and, for a precompiled chunk, reopens it in binary mode: three
 * opens and about a dozen syscalls per module, for the ~40 modules a `run`
 * loads. lc_loadfile reads the file once (stat, open, read, close) and hands
 * the bytes to luaL_loadbufferx; lc_install_searcher puts a searcher built
 * on it in package.searchers[2]'s place. Behaviour is Lua's:
 *
 *  - the candidates are package.path's templates, read at each require, in
 *    order (so a user's change to package.path wins as before); the first
 *    that can be opened for reading is the module's file;
 *  - the same chunk name ("@file"), the same second value for the loader
 *    (the file name), the same messages ("no file '...'" for each template,
 *    "error loading module '%s' from file '%s':\n\t%s");
 *  - a file that starts with a UTF-8 BOM or '#' (which luaL_loadfile skips),
 *    that is not a non-empty regular file (a FIFO is never opened here: a
 *    second open of one would lose what its writer wrote), or that cannot
 *    be read here is handed to luaL_loadfilex itself (after the searcher's
 *    fopen test, as Lua's), so what it reads and reports is unchanged.
 */
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

/* The n bytes of the regular file at path into a new userdata on the stack
 * (nothing leaks if Lua raises); NULL, pushing nothing, when it cannot be
 * opened (*opened = 0) or read whole. */
static char *read_regular(lua_State *L, const char *path, size_t n, int *opened) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  *opened = fd >= 0;
  if (fd < 0)
    return NULL;
  char *buf = lua_newuserdatauv(L, n, 0);
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) /* an error, or the file shrank: luaL_loadfilex reads it */
      break;
    got += (size_t)r;
  }
  close(fd);
  if (got == n)
    return buf;
  lua_pop(L, 1);
  return NULL;
}

/* The bytes as luaL_loadfile would see them: it skips a UTF-8 BOM and a
 * first line starting with '#'; files that need that go to it. */
static int plain_chunk(const char *buf) {
  unsigned char c = (unsigned char)buf[0];
  return c != 0xEF && c != '#';
}

/* Load the file at path as luaL_loadfilex(L, path, NULL) does, pushing the
 * chunk or the message; with probe, first test it as Lua's searchpath does
 * (fopen "r") and return NOT_FOUND, pushing nothing, when that fails. Only a
 * non-empty regular file (stat) is opened and read here: anything else
 * (a FIFO, a device, a directory) goes the way Lua's own code takes. */
enum { NOT_FOUND = -1 };
static int load_path(lua_State *L, const char *path, int probe) {
  struct stat st;
  int opened = 0;
  if (stat(path, &st) < 0) /* open would fail the same way */
    return probe ? NOT_FOUND : luaL_loadfilex(L, path, NULL);
  if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
    if (probe) {
      FILE *f = fopen(path, "r");
      if (!f)
        return NOT_FOUND;
      fclose(f);
    }
    return luaL_loadfilex(L, path, NULL);
  }
  size_t len = (size_t)st.st_size;
  char *buf = read_regular(L, path, len, &opened);
  if (!opened && probe)
    return NOT_FOUND;
  if (!buf)
    return luaL_loadfilex(L, path, NULL);
  if (!plain_chunk(buf)) {
    lua_pop(L, 1);
    return luaL_loadfilex(L, path, NULL);
  }
  lua_pushfstring(L, "@%s", path);
  int status = luaL_loadbufferx(L, buf, len, lua_tostring(L, -1), NULL);
  lua_replace(L, -3); /* the chunk or message where the buffer was */
  lua_pop(L, 1);      /* the chunk name */
  return status;
}

int lc_loadfile(lua_State *L, const char *path) {
  return load_path(L, path, 0);
}

/* package.path's message for a module found nowhere: "no file 'T'" for each
 * template T with the name put in, as Lua's searchpath builds it. */
static void push_not_found(lua_State *L, const char *filled) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "no file '");
  luaL_addgsub(&b, filled, LUA_PATH_SEP, "'\n\tno file '");
  luaL_addstring(&b, "'");
  luaL_pushresult(&b);
}

/* package.searchers[2]: upvalue 1 is the package table. */
static int searcher_lua(lua_State *L) {
  const char *name = luaL_checkstring(L, 1);
  lua_getfield(L, lua_upvalueindex(1), "path");
  const char *path = lua_tostring(L, -1);
  if (path == NULL)
    return luaL_error(L, "'package.path' must be a string");
  if (strchr(name, '.'))
    name = luaL_gsub(L, name, ".", LUA_DIRSEP);
  const char *filled = luaL_gsub(L, path, LUA_PATH_MARK, name);
  size_t flen = strlen(filled);
  char *list = lua_newuserdatauv(L, flen + 1, 0); /* writable copy, freed by the GC */
  memcpy(list, filled, flen + 1);
  for (char *p = list, *end = list + flen; p < end;) {
    char *sep = strchr(p, *LUA_PATH_SEP);
    if (!sep)
      sep = end;
    *sep = '\0';
    if (*p) { /* empty templates are skipped, as Lua does */
      int status = load_path(L, p, 1);
      if (status != NOT_FOUND) {
        if (status != LUA_OK)
          return luaL_error(L, "error loading module '%s' from file '%s':\n\t%s",
                            lua_tostring(L, 1), p, lua_tostring(L, -1));
        lua_pushstring(L, p); /* the loader's second argument */
        return 2;
      }
    }
    p = sep + 1;
  }
  push_not_found(L, filled);
  return 1;
}

void lc_install_searcher(lua_State *L) {
  lua_getglobal(L, "package");
  if (lua_getfield(L, -1, "searchers") == LUA_TTABLE) {
    lua_pushvalue(L, -2);
    lua_pushcclosure(L, searcher_lua, 1);
    lua_rawseti(L, -2, 2);
  }
  lua_pop(L, 2);
}
