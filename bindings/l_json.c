/* l_json.c - ctr.core: fast JSON for the state files (used by ctr.json).
 *
 * Parsing is libjansson's (Debian's libjansson, a well-kept C parser):
 * integers stay Lua integers, arrays and objects get the marker metatables
 * ctr.json passes in, so [] and {} round-trip. Encoding writes the same text
 * ctr.json always wrote (sorted keys, dkjson's layout), in C.
 * ctr.json falls back to dkjson when these are missing. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "lctr.h"
#include "oci_bytes.h"

#define MAX_DEPTH 200

/* Bytes that are not UTF-8 travel as \udcXX escapes: core/oci_bytes.h. */

/* ---- decode ------------------------------------------------------------------ */

static void push_json(lua_State *L, json_t *v, int amt, int omt, int depth);

static void push_array(lua_State *L, json_t *v, int amt, int omt, int depth) {
  size_t n = json_array_size(v);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    push_json(L, json_array_get(v, i), amt, omt, depth + 1);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  if (amt) {
    lua_pushvalue(L, amt);
    lua_setmetatable(L, -2);
  }
}

static void push_object(lua_State *L, json_t *v, int amt, int omt, int depth) {
  const char *k;
  json_t *x;
  lua_createtable(L, 0, (int)json_object_size(v));
  json_object_foreach(v, k, x) {
    if (json_is_null(x))
      continue; /* like dkjson: a null member is an absent key */
    lua_pushstring(L, k);
    push_json(L, x, amt, omt, depth + 1);
    lua_rawset(L, -3);
  }
  if (omt) {
    lua_pushvalue(L, omt);
    lua_setmetatable(L, -2);
  }
}

static void push_json(lua_State *L, json_t *v, int amt, int omt, int depth) {
  if (depth > MAX_DEPTH)
    luaL_error(L, "invalid JSON: nested too deeply");
  luaL_checkstack(L, 4, "JSON nesting");
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    push_object(L, v, amt, omt, depth);
    break;
  case JSON_ARRAY:
    push_array(L, v, amt, omt, depth);
    break;
  case JSON_STRING:
    lua_pushlstring(L, json_string_value(v), json_string_length(v));
    break;
  case JSON_INTEGER:
    lua_pushinteger(L, (lua_Integer)json_integer_value(v));
    break;
  case JSON_REAL:
    lua_pushnumber(L, json_real_value(v));
    break;
  case JSON_TRUE:
    lua_pushboolean(L, 1);
    break;
  case JSON_FALSE:
    lua_pushboolean(L, 0);
    break;
  default:
    lua_pushnil(L);
  }
}

/* What push_json(v, depth) would raise, without making anything: a member
 * left out is as deep a text as one decoded. */
static void check_depth(lua_State *L, json_t *v, int depth) {
  if (depth > MAX_DEPTH)
    luaL_error(L, "invalid JSON: nested too deeply");
  if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++)
      check_depth(L, json_array_get(v, i), depth + 1);
  } else if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
      if (!json_is_null(x)) /* push_object leaves null members out */
        check_depth(L, x, depth + 1);
    }
  }
}

/* A top-level object with only the members whose keys are in the set at
 * index keys (presized for them, null ones counted as push_object does). */
static void push_object_keys(lua_State *L, json_t *v, int amt, int omt, int keys) {
  const char *k;
  json_t *x;
  int n = 0;
  json_object_foreach(v, k, x) {
    lua_pushstring(L, k);
    n += lua_rawget(L, keys) != LUA_TNIL;
    lua_pop(L, 1);
  }
  lua_createtable(L, 0, n);
  json_object_foreach(v, k, x) {
    if (json_is_null(x))
      continue;
    lua_pushstring(L, k);
    if (lua_rawget(L, keys) == LUA_TNIL) {
      lua_pop(L, 1);
      check_depth(L, x, 1);
      continue;
    }
    lua_pop(L, 1);
    lua_pushstring(L, k);
    push_json(L, x, amt, omt, 1);
    lua_rawset(L, -3);
  }
  if (omt) {
    lua_pushvalue(L, omt);
    lua_setmetatable(L, -2);
  }
}

static int decode_protected(lua_State *L) {
  json_t *root = lua_touserdata(L, 1);
  int amt = lua_istable(L, 2) ? 2 : 0, omt = lua_istable(L, 3) ? 3 : 0;
  if (lua_istable(L, 4) && json_is_object(root))
    push_object_keys(L, root, amt, omt, 4);
  else
    push_json(L, root, amt, omt, 0);
  return 1;
}

/***
 * core.json_decode(text [, array_mt [, object_mt [, fast [, keys]]]]) -> value | nil, err
 * Parse JSON with libjansson. Integers decode as Lua integers, other numbers
 * as floats; decoded arrays and objects get array_mt / object_mt (ctr.json
 * passes its markers); a null member is left out. Any JSON value may be the
 * top level. A lone \udcXX escape (XX 80..ff) decodes to the byte XX, so
 * strings that are not UTF-8 round-trip through json_encode; raw bytes
 * that are not UTF-8 (files written before that) are read as themselves.
 * fast=true tries a one-pass decoder into Lua tables first (fast_decode),
 * which gives the same result for plain text and hands anything unusual to
 * jansson (the specs and the fuzzer compare the two). It is for files
 * luac-ctr wrote itself (the state files ps lists, json_read_under); text
 * from images, registries and users goes through jansson alone. keys (a set,
 * {name = true, ...}): of a top-level object, only the members with those
 * keys are made (the whole text is still checked).
 */
/* jansson quotes the input near an error: control bytes in it are written
 * as \xNN, so the message stays one printable line. */
static void push_json_error(lua_State *L, const json_error_t *e) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (const unsigned char *p = (const unsigned char *)e->text; *p; p++) {
    if (*p < 0x20 || *p == 0x7f) {
      char hex[8];
      snprintf(hex, sizeof hex, "\\x%02x", *p);
      luaL_addstring(&b, hex);
    } else {
      luaL_addchar(&b, (char)*p);
    }
  }
  luaL_pushresult(&b);
  lua_pushfstring(L, "invalid JSON at line %d column %d: %s", e->line, e->column,
                  lua_tostring(L, -1));
  lua_remove(L, -2);
}

static int fast_decode(lua_State *L);

static int l_json_decode(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  lua_settop(L, 5);
  if (!lua_isnil(L, 5))
    luaL_checktype(L, 5, LUA_TTABLE);
  if (lua_toboolean(L, 4)) {
    /* protected, as jansson's path: running out of memory is nil, err */
    lua_pushcfunction(L, fast_decode);
    lua_pushvalue(L, 1);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 5);
    if (lua_pcall(L, 4, 2, 0) != LUA_OK) {
      lua_pushnil(L);
      lua_insert(L, -2);
      return 2;
    }
    if (lua_toboolean(L, -1)) {
      lua_pop(L, 1);
      return 1;
    }
    lua_settop(L, 5);
  }
  json_error_t e;
  json_t *root = ctr_json_loadb_bytes(s, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
  if (root == NULL) {
    lua_pushnil(L);
    push_json_error(L, &e);
    return 2;
  }
  lua_pushcfunction(L, decode_protected);
  lua_pushlightuserdata(L, root);
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_pushvalue(L, 5);
  int r = lua_pcall(L, 4, 1, 0);
  json_decref(root);
  if (r != LUA_OK) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  return 1;
}

/* ---- decode: the fast path ---------------------------------------------------- */

/* The state files (and most JSON we read) are plain: ASCII or valid UTF-8
 * text, the short escapes, integers, no null, no duplicate keys. fast_value
 * parses such text straight into Lua values, in one pass and without
 * jansson's tree (~4x faster on a state.json). It accepts only what jansson
 * accepts, with the same result: strict JSON (RFC 8259) and nothing
 * unusual. On anything else (\u escapes, bytes that are not UTF-8, null,
 * a duplicate key, an integer of more than 18 digits, a number strtod
 * overflows, nesting deeper than FAST_DEPTH, any syntax error) it gives up
 * and core.json_decode parses the text with jansson, which decides (and
 * words the error). Arrays and objects are made as jansson's decode makes
 * them: the table presized to the member count, members set in document
 * order, then the marker metatable. */

#define FAST_DEPTH 32
#define FAST_SKIP_KEYS 64

typedef struct fast {
  lua_State *L;
  const unsigned char *p, *end;
  int amt, omt;
  int keys;     /* the set of top-level keys to keep (0: all) */
  int skip;     /* > 0 inside a member that is left out: parsed, not pushed */
  char point;   /* the locale's decimal point (strtod's) */
  bool escaped; /* the last string had an escape */
} fast_t;

static void fast_ws(fast_t *f) {
  while (f->p < f->end && (*f->p == ' ' || *f->p == '\n' || *f->p == '\r' || *f->p == '\t'))
    f->p++;
}

/* A string at f->p (the opening quote): pushed (unless skipping); false
 * to give up. f->escaped says whether it had an escape. */
static bool fast_string(fast_t *f) {
  const unsigned char *s = ++f->p, *q = s;
  bool plain = true;
  for (;;) {
    if (q >= f->end)
      return false;
    unsigned char c = *q;
    if (c == '"')
      break;
    if (c < 0x20)
      return false;
    if (c == '\\') {
      if (q + 1 >= f->end || !strchr("\"\\/bfnrt", q[1]) || q[1] == '\0')
        return false; /* \u and bad escapes: jansson's */
      plain = false;
      q += 2;
    } else if (c < 0x80) {
      q++;
    } else {
      size_t n = ctr_utf8_len(q, (size_t)(f->end - q));
      if (n == 0)
        return false;
      q += n;
    }
  }
  f->p = q + 1;
  f->escaped = !plain;
  if (f->skip)
    return true;
  if (plain) {
    lua_pushlstring(f->L, (const char *)s, (size_t)(q - s));
    return true;
  }
  luaL_Buffer b;
  luaL_buffinit(f->L, &b);
  for (const unsigned char *r = s; r < q; r++) {
    if (*r != '\\') {
      luaL_addchar(&b, (char)*r);
      continue;
    }
    r++;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    luaL_addchar(&b, to[strchr(from, *r) - from]);
  }
  luaL_pushresult(&b);
  return true;
}

static bool fast_digits(fast_t *f) {
  const unsigned char *s = f->p;
  while (f->p < f->end && *f->p >= '0' && *f->p <= '9')
    f->p++;
  return f->p > s;
}

/* A number (JSON's grammar): an integer of at most 18 digits (no
 * overflow) as a Lua integer, one with a fraction or exponent as a float
 * (strtod, as jansson). */
static bool fast_number(fast_t *f) {
  const unsigned char *s = f->p;
  bool neg = *f->p == '-', real = false;
  if (neg)
    f->p++;
  const unsigned char *d = f->p;
  if (!fast_digits(f))
    return false;
  if (*d == '0' && f->p - d > 1)
    return false; /* a leading zero */
  size_t ndig = (size_t)(f->p - d);
  if (f->p < f->end && *f->p == '.') {
    f->p++;
    if (!fast_digits(f))
      return false;
    real = true;
  }
  if (f->p < f->end && (*f->p == 'e' || *f->p == 'E')) {
    f->p++;
    if (f->p < f->end && (*f->p == '+' || *f->p == '-'))
      f->p++;
    if (!fast_digits(f))
      return false;
    real = true;
  }
  if (!real) {
    if (ndig > 18)
      return false;
    lua_Integer v = 0;
    for (const unsigned char *r = d; r < f->p; r++)
      v = v * 10 + (*r - '0');
    if (!f->skip)
      lua_pushinteger(f->L, neg ? -v : v);
    return true;
  }
  char buf[64];
  size_t n = (size_t)(f->p - s);
  if (n >= sizeof buf || f->point != '.')
    return false;
  memcpy(buf, s, n);
  buf[n] = '\0';
  errno = 0;
  double v = strtod(buf, NULL);
  if ((v == HUGE_VAL || v == -HUGE_VAL) && errno == ERANGE)
    return false; /* jansson's "real number overflow" */
  if (!f->skip)
    lua_pushnumber(f->L, v);
  return true;
}

static bool fast_word(fast_t *f, const char *w, size_t n) {
  if ((size_t)(f->end - f->p) < n || memcmp(f->p, w, n) != 0)
    return false;
  f->p += n;
  /* "truex" is one bad token to jansson */
  return f->p == f->end || !((*f->p >= 'a' && *f->p <= 'z') || (*f->p >= 'A' && *f->p <= 'Z'));
}

static bool fast_value(fast_t *f, int depth);

/* After a member of an array or object (close: ']' or '}'): 1 at its end
 * (close consumed), 0 when a ',' and another member follow (the whitespace
 * after the ',' skipped), -1 for anything else. */
static int fast_after_member(fast_t *f, char close) {
  fast_ws(f);
  if (f->p >= f->end)
    return -1;
  if (*f->p == close) {
    f->p++;
    return 1;
  }
  if (*f->p != ',')
    return -1;
  f->p++;
  fast_ws(f);
  return 0;
}

/* The n values (arrays) or key/value pairs (objects) above base, moved into
 * a new table presized for them; the table replaces them. False on a
 * duplicate key (jansson's error: JSON_REJECT_DUPLICATES). */
static bool fast_collect(fast_t *f, int base, int n, bool object) {
  lua_State *L = f->L;
  lua_createtable(L, object ? 0 : n, object ? n : 0);
  for (int i = 0; i < n; i++) {
    if (object) {
      lua_pushvalue(L, base + 1 + 2 * i);
      if (lua_rawget(L, -2) != LUA_TNIL)
        return false;
      lua_pop(L, 1);
      lua_pushvalue(L, base + 1 + 2 * i);
      lua_pushvalue(L, base + 2 + 2 * i);
      lua_rawset(L, -3);
    } else {
      lua_pushvalue(L, base + 1 + i);
      lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
  }
  int mt = object ? f->omt : f->amt;
  if (mt) {
    lua_pushvalue(L, mt);
    lua_setmetatable(L, -2);
  }
  if (n > 0) { /* (with none, the table is at base + 1 already) */
    lua_replace(L, base + 1);
    lua_settop(L, base + 1);
  }
  return true;
}

static bool fast_array(fast_t *f, int depth) {
  lua_State *L = f->L;
  int base = lua_gettop(L), n = 0;
  f->p++;
  fast_ws(f);
  if (f->p < f->end && *f->p == ']') {
    f->p++;
  } else {
    for (;;) {
      if (!f->skip && !lua_checkstack(L, 4))
        return false;
      if (!fast_value(f, depth + 1))
        return false;
      n++;
      int next = fast_after_member(f, ']');
      if (next < 0)
        return false;
      if (next > 0)
        break;
    }
  }
  return f->skip || fast_collect(f, base, n, false);
}

/* A key of an object that is left out, for the duplicate check. */
typedef struct span {
  const unsigned char *s;
  size_t n;
} span_t;

static bool fast_object(fast_t *f, int depth) {
  lua_State *L = f->L;
  int base = lua_gettop(L), n = 0;
  bool filter = depth == 0 && f->keys != 0; /* the top level, with keys to keep */
  span_t seen[FAST_SKIP_KEYS];
  int nseen = 0;
  f->p++;
  fast_ws(f);
  if (f->p < f->end && *f->p == '}') {
    f->p++;
  } else {
    for (;;) {
      if (!f->skip && !lua_checkstack(L, 6))
        return false;
      const unsigned char *k = f->p + 1;
      if (f->p >= f->end || *f->p != '"' || !fast_string(f))
        return false;
      if (f->skip || filter) {
        /* no table with every key to find duplicates in: the keys are
         * compared (plain ones, few: anything else is jansson's) */
        size_t kn = (size_t)(f->p - 1 - k);
        if (f->escaped || nseen == FAST_SKIP_KEYS)
          return false;
        for (int i = 0; i < nseen; i++)
          if (seen[i].n == kn && memcmp(seen[i].s, k, kn) == 0)
            return false;
        seen[nseen++] = (span_t){k, kn};
      }
      bool keep = true;
      if (filter) {
        lua_pushvalue(L, -1);
        keep = lua_rawget(L, f->keys) != LUA_TNIL;
        lua_pop(L, keep ? 1 : 2); /* a member left out: its key too */
      }
      fast_ws(f);
      if (f->p >= f->end || *f->p != ':')
        return false;
      f->p++;
      fast_ws(f);
      if (!keep)
        f->skip++;
      bool ok = fast_value(f, depth + 1);
      if (!keep)
        f->skip--;
      if (!ok)
        return false;
      if (keep)
        n++;
      int next = fast_after_member(f, '}');
      if (next < 0)
        return false;
      if (next > 0)
        break;
    }
  }
  return f->skip || fast_collect(f, base, n, true);
}
/* One value at f->p (no whitespace before it) pushed; false to give up
 * (the caller drops what was pushed). */
static bool fast_value(fast_t *f, int depth) {
  if (f->p >= f->end || depth > FAST_DEPTH)
    return false;
  switch (*f->p) {
  case '{':
    return fast_object(f, depth);
  case '[':
    return fast_array(f, depth);
  case '"':
    return fast_string(f);
  case 't':
    if (!fast_word(f, "true", 4))
      return false;
    if (!f->skip)
      lua_pushboolean(f->L, 1);
    return true;
  case 'f':
    if (!fast_word(f, "false", 5))
      return false;
    if (!f->skip)
      lua_pushboolean(f->L, 0);
    return true;
  default:
    if (*f->p == '-' || (*f->p >= '0' && *f->p <= '9'))
      return fast_number(f);
    return false; /* null (an absent member: jansson's path) and bad tokens */
  }
}

/* The whole text s as one value pushed (true), or nothing pushed (false:
 * let jansson decide); point is the locale's decimal point. Raises only
 * when Lua runs out of memory. */
static bool fast_parse(lua_State *L, const char *s, size_t len, int amt, int omt, int keys,
                       char point) {
  fast_t f = {.L = L,
              .p = (const unsigned char *)s,
              .end = (const unsigned char *)s + len,
              .amt = amt,
              .omt = omt,
              .keys = keys,
              .point = point};
  int top = lua_gettop(L);
  fast_ws(&f);
  if (fast_value(&f, 0)) {
    fast_ws(&f);
    if (f.p == f.end)
      return true;
  }
  lua_settop(L, top);
  return false;
}

/* fast_decode(text, array_mt, object_mt, keys) -> value, true | nil, false:
 * the whole text as one value, or false to let jansson decide. */
static int fast_decode(lua_State *L) {
  size_t len;
  const char *s = lua_tolstring(L, 1, &len);
  lua_settop(L, 4);
  if (fast_parse(L, s, len, lua_istable(L, 2) ? 2 : 0, lua_istable(L, 3) ? 3 : 0,
                 lua_istable(L, 4) ? 4 : 0, localeconv()->decimal_point[0])) {
    lua_pushboolean(L, 1);
    return 2;
  }
  lua_pushnil(L);
  lua_pushboolean(L, 0);
  return 2;
}

/* ---- reading many files ---------------------------------------------------------- */

typedef struct read_under {
  int dfd;
  char *buf; /* reused for every file, freed by the caller */
  size_t cap;
} read_under_t;

/* read_each(state, dir, names, file, array_mt, object_mt, keys) -> values,
 * infos (protected: the fd and buffer are the caller's to free). */
static int read_each(lua_State *L) {
  read_under_t *ru = lua_touserdata(L, 1);
  const char *dir = lua_tostring(L, 2), *file = lua_tostring(L, 4);
  int amt = lua_istable(L, 5) ? 5 : 0, omt = lua_istable(L, 6) ? 6 : 0,
      keys = lua_istable(L, 7) ? 7 : 0;
  lua_Integer n = luaL_len(L, 3);
  char point = localeconv()->decimal_point[0];
  size_t dlen = strlen(dir), flen = strlen(file);
  lua_createtable(L, (int)n, 0);
  lua_createtable(L, (int)n, 0);
  int values = lua_gettop(L) - 1, infos = values + 1;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 3, i);
    size_t nlen = 0;
    const char *name = lua_tolstring(L, -1, &nlen);
    char path[PATH_MAX]; /* dir/name/file: rel is its name/file */
    ctr_error_t err;
    size_t len = 0;
    struct stat st;
    int r = -1;
    if (!lctr_entry_name(name, nlen)) {
      ctr_fail(&err, EINVAL, "open %s/%s/%s", dir, name ? name : "?", file);
    } else if (dlen + nlen + flen + 3 > sizeof path) {
      ctr_fail(&err, ENAMETOOLONG, "open %s/%s/%s", dir, name, file);
    } else {
      memcpy(path, dir, dlen);
      path[dlen] = '/';
      memcpy(path + dlen + 1, name, nlen);
      path[dlen + 1 + nlen] = '/';
      memcpy(path + dlen + 2 + nlen, file, flen + 1);
      r = ctr_fs_read_into(ru->dfd, path + dlen + 1, path, &ru->buf, &ru->cap, &len, &st, &err);
    }
    lua_pop(L, 1);
    if (r < 0) {
      lua_pushboolean(L, 0);
      lua_rawseti(L, values, i);
      lua_pushstring(L, err.msg);
      lua_rawseti(L, infos, i);
      continue;
    }
    if (!fast_parse(L, ru->buf, len, amt, omt, keys, point) || !lua_istable(L, -1)) {
      lua_settop(L, infos);
      lua_pushlstring(L, ru->buf, len); /* json_decode has the last word */
    }
    lua_rawseti(L, values, i);
    lua_pushfstring(L, "%I:%I:%I", (lua_Integer)st.st_ino, (lua_Integer)st.st_size,
                    (lua_Integer)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec);
    lua_rawseti(L, infos, i);
  }
  return 2;
}

/***
 * core.json_read_under(dir, names, file [, array_mt [, object_mt [, keys]]]) -> values, infos | nil, err, errno
 * Read dir/names[i]/file for each i, relative to one open of dir, and
 * decode it (core.json_decode's rules, keys included) without making a
 * Lua string of it when it is plain: values[i] is the decoded object or
 * array, or the text itself (a string) when the fast path leaves it to
 * jansson (decode it with core.json_decode, which words the error) or it
 * is not an object or array; infos[i] is "INO:SIZE:MTIME_NS" of the file
 * read (its fstat, as core.read_file_stat gives it). When a file cannot be
 * read, values[i] is false and infos[i] the error ("open DIR/NAME/FILE:
 * ..."); a name with a "/" or a NUL (or "." or "..") is not opened (EINVAL). nil,
 * err, errno when dir cannot be opened.
 */
static int l_json_read_under(lua_State *L) {
  lua_settop(L, 6);
  const char *dir, *file;
  ctr_error_t err;
  read_under_t ru = {.dfd = lctr_open_under(L, &dir, &file, &err)};
  if (ru.dfd < 0)
    return lctr_pusherr(L, &err);
  if (!lua_isnil(L, 6) && !lua_istable(L, 6)) { /* checked as luaL_checktype would, fd closed */
    close(ru.dfd);
    return luaL_typeerror(L, 6, lua_typename(L, LUA_TTABLE));
  }
  lua_pushcfunction(L, read_each);
  lua_pushlightuserdata(L, &ru);
  for (int i = 1; i <= 6; i++)
    lua_pushvalue(L, i);
  int r = lua_pcall(L, 7, 2, 0);
  close(ru.dfd);
  free(ru.buf);
  if (r != LUA_OK)
    return lua_error(L);
  return 2;
}

/* ---- encode ------------------------------------------------------------------ */

/* A growable output buffer owned by a userdata (freed by __gc, also when
 * an error unwinds): luaL_Buffer cannot be used while the encoder pushes
 * and pops the values it walks. */
typedef struct sbuf {
  char *p;
  size_t n, cap;
} sbuf_t;

static int sbuf_gc(lua_State *L) {
  sbuf_t *b = lua_touserdata(L, 1);
  free(b->p);
  b->p = NULL;
  return 0;
}

static void sb_add(lua_State *L, sbuf_t *b, const char *s, size_t n) {
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + n)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
      luaL_error(L, "json.encode: out of memory");
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

typedef struct enc {
  lua_State *L;
  sbuf_t *b;
  bool indent;
  int depth;
} enc_t;

static void add_char(enc_t *e, char c) {
  sb_add(e->L, e->b, &c, 1);
}
static void add_str(enc_t *e, const char *s) {
  sb_add(e->L, e->b, s, strlen(s));
}

static void put_string(enc_t *e, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  add_char(e, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    size_t ul = c < 0x80 ? 1 : ctr_utf8_len((const unsigned char *)s + i, n - i);
    if (ul == 0) { /* a byte that is not UTF-8: \udcXX (core/oci_bytes.h) */
      char u[7] = {'\\', 'u', 'd', 'c', hex[c >> 4], hex[c & 15], 0};
      add_str(e, u);
      continue;
    }
    if (ul > 1) {
      sb_add(e->L, e->b, s + i, ul);
      i += ul - 1;
      continue;
    }
    switch (c) {
    case '"':
      add_str(e, "\\\"");
      break;
    case '\\':
      add_str(e, "\\\\");
      break;
    case '\n':
      add_str(e, "\\n");
      break;
    case '\r':
      add_str(e, "\\r");
      break;
    case '\t':
      add_str(e, "\\t");
      break;
    case '\b':
      add_str(e, "\\b");
      break;
    case '\f':
      add_str(e, "\\f");
      break;
    default:
      if (c < 0x20 || c == 0x7f) {
        char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        add_str(e, u);
      } else {
        add_char(e, (char)c);
      }
    }
  }
  add_char(e, '"');
}

static void newline(enc_t *e) {
  if (!e->indent)
    return;
  add_char(e, '\n');
  for (int i = 0; i < e->depth; i++)
    add_str(e, "  ");
}

static void put_number(enc_t *e, int idx) {
  char buf[64];
  if (lua_isinteger(e->L, idx)) {
    snprintf(buf, sizeof buf, LUA_INTEGER_FMT, lua_tointeger(e->L, idx));
  } else {
    double d = lua_tonumber(e->L, idx);
    if (isnan(d) || isinf(d)) {
      add_str(e, "null");
      return;
    }
    snprintf(buf, sizeof buf, "%.17g", d);
    /* the shortest form that reads back the same */
    for (int p = 1; p <= 17; p++) {
      char t[64];
      snprintf(t, sizeof t, "%.*g", p, d);
      if (strtod(t, NULL) == d) {
        memcpy(buf, t, sizeof t);
        break;
      }
    }
    if (strspn(buf, "-0123456789") == strlen(buf))
      strcat(buf, ".0"); /* keep it a float */
  }
  add_str(e, buf);
}

static void put_value(enc_t *e, int idx);

/* "array", "object" or NULL from the table's __jsontype marker */
static const char *marker(lua_State *L, int idx) {
  const char *m = NULL;
  if (luaL_getmetafield(L, idx, "__jsontype") != LUA_TNIL) {
    m = lua_tostring(L, -1);
    lua_pop(L, 1);
  }
  return m;
}

/* A table is an array when its keys are exactly 1..n (so {} is []), unless
 * it is marked "object"; the "array" marker is a hint that a table with
 * other keys overrides (as dkjson does): a decoded [] that later got string
 * keys is an object. */
static bool is_array(lua_State *L, int idx, lua_Integer *n) {
  const char *m = marker(L, idx);
  *n = (lua_Integer)lua_rawlen(L, idx);
  if (m && strcmp(m, "object") == 0)
    return false;
  lua_Integer count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > *n) {
      lua_pop(L, 1);
      return false;
    }
    count++;
  }
  return count == *n;
}

static void put_array(enc_t *e, int idx, lua_Integer n) {
  add_char(e, '[');
  for (lua_Integer i = 1; i <= n; i++) {
    if (i > 1)
      add_char(e, ',');
    lua_rawgeti(e->L, idx, i);
    put_value(e, lua_gettop(e->L));
    lua_pop(e->L, 1);
  }
  add_char(e, ']');
}

static int cmp_keys(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Object keys are text: valid UTF-8 without NUL (jansson's rule too). */
static bool key_ok(const char *k, size_t n) {
  for (size_t i = 0; i < n;) {
    size_t ul = ctr_utf8_len((const unsigned char *)k + i, n - i);
    if (ul == 0 || k[i] == '\0')
      return false;
    i += ul;
  }
  return true;
}

static void put_object(enc_t *e, int idx) {
  lua_State *L = e->L;
  size_t n = 0, cap = 16;
  const char **keys = lua_newuserdatauv(L, cap * sizeof *keys, 0);
  int keys_idx = lua_gettop(L);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      luaL_error(L, "json.encode: object keys must be strings (got %s)", luaL_typename(L, -1));
    if (n == cap) {
      const char **bigger = lua_newuserdatauv(L, 2 * cap * sizeof *keys, 0);
      memcpy(bigger, keys, n * sizeof *keys);
      lua_replace(L, keys_idx);
      keys = bigger;
      cap *= 2;
    }
    size_t klen;
    const char *k = lua_tolstring(L, -1, &klen);
    if (!key_ok(k, klen))
      luaL_error(L, "json.encode: an object key is not UTF-8 text without NUL bytes");
    keys[n++] = k; /* pinned by the table */
  }
  qsort(keys, n, sizeof *keys, cmp_keys);
  add_char(e, '{');
  e->depth++;
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      add_char(e, ',');
    newline(e);
    put_string(e, keys[i], strlen(keys[i]));
    add_char(e, ':');
    lua_getfield(L, idx, keys[i]);
    put_value(e, lua_gettop(L));
    lua_pop(L, 1);
  }
  e->depth--;
  if (n > 0)
    newline(e);
  add_char(e, '}');
  lua_remove(L, keys_idx);
}

static void put_value(enc_t *e, int idx) {
  lua_State *L = e->L;
  switch (lua_type(L, idx)) {
  case LUA_TNIL:
    add_str(e, "null");
    break;
  case LUA_TBOOLEAN:
    add_str(e, lua_toboolean(L, idx) ? "true" : "false");
    break;
  case LUA_TNUMBER:
    put_number(e, idx);
    break;
  case LUA_TSTRING: {
    size_t len;
    const char *s = lua_tolstring(L, idx, &len);
    put_string(e, s, len);
    break;
  }
  case LUA_TTABLE: {
    if (e->depth > MAX_DEPTH)
      luaL_error(L, "json.encode: nested too deeply (reference cycle?)");
    luaL_checkstack(L, 6, "JSON nesting");
    lua_Integer n;
    const char *m = marker(L, idx);
    if (m && strcmp(m, "null") == 0) {
      add_str(e, "null");
      break;
    }
    if (is_array(L, idx, &n))
      put_array(e, idx, n);
    else
      put_object(e, idx);
    break;
  }
  case LUA_TLIGHTUSERDATA:
    if (lua_touserdata(L, idx) == NULL) { /* dkjson.null-style sentinels are tables; NULL is null */
      add_str(e, "null");
      break;
    }
    /* fall through */
  default:
    luaL_error(L, "json.encode: cannot encode a %s", luaL_typename(L, idx));
  }
}

static int encode_value(lua_State *L) {
  bool indent = lua_toboolean(L, 2);
  sbuf_t *b = lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, sbuf_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  enc_t e = {.L = L, .b = b, .indent = indent, .depth = 0};
  put_value(&e, 1);
  lua_pushlstring(L, b->p ? b->p : "", b->n);
  return 1;
}

/***
 * core.json_encode(value [, indent]) -> string
 * Encode a Lua value as JSON with sorted object keys (stable files). A
 * table whose keys are exactly 1..n is an array (so {} is []) unless it is
 * marked __jsontype "object"; any other table is an object. Integers stay
 * integers, floats keep a fraction. indent=true pretty-prints (2 spaces).
 * Strings are bytes: valid UTF-8 is written as it is, each byte that is not
 * part of valid UTF-8 as \udcXX (json_decode gives the byte back). Raises
 * on functions, object keys that are not UTF-8 text, and cycles.
 */
static int l_json_encode(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 2);
  return encode_value(L);
}

LCTR_AREA_DECL(json) {
  static const luaL_Reg fns[] = {{"json_decode", l_json_decode},
                                 {"json_encode", l_json_encode},
                                 {"json_read_under", l_json_read_under},
                                 {NULL, NULL}};
  luaL_setfuncs(L, fns, 0);
}
