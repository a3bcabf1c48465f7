/* loadfile.c - loading Lua files with one open, fstat, read and close.
 *
 * Lua's own file searcher (package.searchers[2]) first fopen()s each
 * candidate to test it, then luaL_loadfile opens it again, reads a
 * character and, for a precompiled chunk, reopens it in binary mode: three
 * opens and about a dozen syscalls per module, for the ~40 modules a `run`
 * loads. lc_loadfile reads the file once and hands the bytes to
 * luaL_loadbufferx; lc_install_searcher puts a searcher built on it in
 * package.searchers[2]'s place. Behaviour is Lua's:
 *
 *  - the candidates are package.path's templates, read at each require, in
 *    order (so a user's change to package.path wins as before); the first
 *    that can be opened for reading is the module's file;
 *  - the same chunk name ("@file"), the same second value for the loader
 *    (the file name), the same messages ("no file '...'" for each template,
 *    "error loading module '%s' from file '%s':\n\t%s");
 *  - a file that starts with a UTF-8 BOM or '#' (which luaL_loadfile skips),
 *    that is not a regular file, or that cannot be read here is handed to
 *    luaL_loadfilex itself, so what it reads and reports is unchanged.
 */
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

/* Read the whole regular file fd into a new userdata on the stack (so that
 * nothing leaks if Lua raises); returns it, or NULL, pushing nothing, when
 * fd is not a non-empty regular file or a read fails (the caller falls back
 * to luaL_loadfilex). Closes fd. */
static char *read_all(lua_State *L, int fd, size_t *len) {
  struct stat st;
  char *buf = NULL;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    size_t n = (size_t)st.st_size, got = 0;
    buf = lua_newuserdatauv(L, n, 0);
    while (got < n) {
      ssize_t r = read(fd, buf + got, n - got);
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0) /* an error, or the file shrank: let luaL_loadfilex read it */
        break;
      got += (size_t)r;
    }
    if (got < n) {
      lua_pop(L, 1);
      buf = NULL;
    }
    *len = n;
  }
  close(fd);
  return buf;
}

/* The bytes as luaL_loadfile would see them: it skips a UTF-8 BOM and a
 * first line starting with '#'; files that need that go to it. */
static int plain_chunk(const char *buf) {
  unsigned char c = (unsigned char)buf[0];
  return c != 0xEF && c != '#';
}

/* Load the file at path, open as fd (closed here), as
 * luaL_loadfilex(L, path, NULL) does; pushes the chunk or the message. */
static int load_fd(lua_State *L, int fd, const char *path) {
  size_t len = 0;
  char *buf = read_all(L, fd, &len);
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
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return luaL_loadfilex(L, path, NULL); /* its message for the error */
  return load_fd(L, fd, path);
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
      int fd = open(p, O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        if (load_fd(L, fd, p) != LUA_OK)
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
