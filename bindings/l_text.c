/* l_text.c - area `text` of ctr.core: the column layout of the command
 * outputs (ps, images, network ls, ...; used by ctr.util.columns). */
#include "lctr.h"

#include <string.h>

#include "oci_bytes.h"

/* A cell's width as ctr.util measures it: its UTF-8 characters (utf8.len),
 * or its bytes when it is not valid UTF-8. */
static size_t cell_width(const char *s, size_t n) {
  size_t chars = 0;
  for (size_t i = 0; i < n; chars++) {
    if ((unsigned char)s[i] < 0x80) {
      i++;
      continue;
    }
    size_t l = ctr_utf8_len((const unsigned char *)s + i, n - i);
    if (l == 0)
      return n;
    i += l;
  }
  return chars;
}

/***
 * core.columns(rows) -> string
 * util.columns in C: rows (a list of lists; each row's cells up to its
 * first nil, tostring'ed) as left-aligned columns separated by three
 * spaces, a cell's width being its UTF-8 characters (its bytes when it is
 * not UTF-8); the last cell of a row (by #row) is not padded; each line
 * ends with a newline.
 */
static int l_columns(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  lua_newtable(L); /* 2: the cells' strings, row after row */
  lua_newtable(L); /* 3: per row, its cell count and #row */
  lua_newtable(L); /* 4: each column's width */
  lua_Integer k = 0, nrows = 0, ncols = 0;
  for (lua_Integer r = 1; lua_geti(L, 1, r) != LUA_TNIL; r++) {
    int row = lua_gettop(L);
    lua_Integer n = 0;
    for (;; n++) {
      if (lua_geti(L, row, n + 1) == LUA_TNIL) {
        lua_pop(L, 1);
        break;
      }
      size_t len;
      const char *s = luaL_tolstring(L, -1, &len);
      lua_Integer w = (lua_Integer)cell_width(s, len);
      lua_rawseti(L, 2, ++k);
      lua_pop(L, 1);
      if (n + 1 > ncols) {
        ncols = n + 1;
        lua_pushinteger(L, w);
        lua_rawseti(L, 4, n + 1);
      } else {
        lua_rawgeti(L, 4, n + 1);
        lua_Integer cur = lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (w > cur) {
          lua_pushinteger(L, w);
          lua_rawseti(L, 4, n + 1);
        }
      }
    }
    lua_pushinteger(L, n);
    lua_rawseti(L, 3, 2 * r - 1);
    lua_pushinteger(L, (lua_Integer)luaL_len(L, row));
    lua_rawseti(L, 3, 2 * r);
    lua_pop(L, 1);
    nrows = r;
  }
  lua_pop(L, 1);
  static const char spaces[] = "                                                                ";
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  k = 0;
  for (lua_Integer r = 1; r <= nrows; r++) {
    lua_rawgeti(L, 3, 2 * r - 1);
    lua_Integer n = lua_tointeger(L, -1);
    lua_rawgeti(L, 3, 2 * r);
    lua_Integer last = lua_tointeger(L, -1);
    lua_pop(L, 2);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, 2, ++k);
      size_t len;
      const char *s = lua_tolstring(L, -1, &len);
      size_t pad = 0;
      if (i < last) {
        lua_rawgeti(L, 4, i);
        pad = (size_t)lua_tointeger(L, -1) - cell_width(s, len) + 3;
        lua_pop(L, 1);
      }
      luaL_addvalue(&b);
      for (; pad > 0;) {
        size_t m = pad < sizeof spaces - 1 ? pad : sizeof spaces - 1;
        luaL_addlstring(&b, spaces, m);
        pad -= m;
      }
    }
    luaL_addchar(&b, '\n');
  }
  luaL_pushresult(&b);
  return 1;
}

LCTR_AREA_DECL(text) {
  static const luaL_Reg fns[] = {{"columns", l_columns}, {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
