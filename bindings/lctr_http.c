/* lctr_http.c - luaopen_ctr_http: the `ctr.http` module (libcurl, libcrypto)
 * that the registry client (ctr.registry) speaks HTTP through; kept apart
 * from ctr.core so that only pull/push/save/load load libcurl. */
#include "lctr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cleanup.h"
#include "ctr_http.h"

#define DEFAULT_MAX_BODY (4u << 20)
#define MAX_BATCH 256

/* Per-request resources owned by the binding. */
typedef struct held {
  const char **headers;
  int body_fd, out_fd;
} held_t;

static void held_free(held_t *h) {
  free(h->headers);
  if (h->body_fd >= 0)
    close(h->body_fd);
  if (h->out_fd >= 0)
    close(h->out_fd);
  h->headers = NULL;
  h->body_fd = h->out_fd = -1;
}

/* The headers list at t.headers (strings stay on the Lua stack via t). */
static const char **check_headers(lua_State *L, int t) {
  lua_getfield(L, t, "headers");
  size_t n = lua_istable(L, -1) ? (size_t)luaL_len(L, -1) : 0;
  const char **v = calloc(n + 1, sizeof *v);
  for (size_t i = 0; v && i < n; i++) {
    lua_rawgeti(L, -1, (lua_Integer)i + 1);
    v[i] = lua_tostring(L, -1); /* kept alive by the table */
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return v;
}

/* Fill q from the request table at t; files are opened into h. */
static int check_req(lua_State *L, int t, ctr_http_req_t *q, held_t *h) {
  luaL_checktype(L, t, LUA_TTABLE);
  memset(q, 0, sizeof *q);
  q->method = lctr_optfield_string(L, t, "method", "GET");
  q->url = lctr_optfield_string(L, t, "url", NULL);
  if (q->url == NULL)
    return luaL_error(L, "http: a request needs a url");
  q->cainfo = lctr_optfield_string(L, t, "cainfo", NULL);
  q->timeout = (long)lctr_optfield_integer(L, t, "timeout", 0);
  q->follow = lctr_optfield_boolean(L, t, "follow", 0);
  q->max_body = (uint64_t)lctr_optfield_integer(L, t, "max_body", DEFAULT_MAX_BODY);
  q->body_fd = q->out_fd = -1;
  lua_getfield(L, t, "body");
  q->body = lua_tolstring(L, -1, &q->body_len); /* t keeps it alive */
  lua_pop(L, 1);
  h->headers = check_headers(L, t);
  q->headers = h->headers;
  const char *in = lctr_optfield_string(L, t, "body_file", NULL);
  const char *out = lctr_optfield_string(L, t, "out_file", NULL);
  struct stat st;
  if (in && ((h->body_fd = open(in, O_RDONLY | O_CLOEXEC)) < 0 || fstat(h->body_fd, &st) < 0))
    return lctr_pusherrno(L, in);
  if (in) {
    q->body_fd = h->body_fd;
    q->body_len = (size_t)st.st_size;
  }
  if (out && (h->out_fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
    return lctr_pusherrno(L, out);
  q->out_fd = h->out_fd;
  return 0;
}

static void push_resp(lua_State *L, const ctr_http_resp_t *r) {
  lua_createtable(L, 0, 6);
  lua_pushinteger(L, r->status);
  lua_setfield(L, -2, "status");
  if (r->error) {
    lua_pushstring(L, r->error);
    lua_setfield(L, -2, "error");
  }
  lua_pushlstring(L, r->headers ? r->headers : "", r->headers_len);
  lua_setfield(L, -2, "headers");
  lua_pushlstring(L, r->body ? r->body : "", r->body_len);
  lua_setfield(L, -2, "body");
  lua_pushinteger(L, (lua_Integer)r->size);
  lua_setfield(L, -2, "size");
  if (r->sha256[0]) {
    lua_pushstring(L, r->sha256);
    lua_setfield(L, -2, "sha256");
  }
}

/* The callbacks: call the Lua functions at stack indexes fn and pfn. */
typedef struct done_ctx {
  lua_State *L;
  int fn, pfn;
} done_ctx_t;

static void on_progress(size_t i, uint64_t now, uint64_t total, void *ud) {
  done_ctx_t *d = ud;
  lua_pushvalue(d->L, d->pfn);
  lua_pushinteger(d->L, (lua_Integer)i + 1);
  lua_pushinteger(d->L, (lua_Integer)now);
  lua_pushinteger(d->L, (lua_Integer)total);
  if (lua_pcall(d->L, 3, 0, 0) != LUA_OK)
    lua_pop(d->L, 1);
}

static void on_done(size_t i, const ctr_http_resp_t *r, void *ud) {
  done_ctx_t *d = ud;
  lua_pushvalue(d->L, d->fn);
  lua_pushinteger(d->L, (lua_Integer)i + 1);
  push_resp(d->L, r);
  if (lua_pcall(d->L, 2, 0, 0) != LUA_OK)
    lua_pop(d->L, 1); /* a progress callback's error does not stop transfers */
}

/***
 * http.perform({req, ...} [, {parallel=4, done=function(i, resp), progress=function(i, bytes, total)}]) -> {resp, ...} | nil, err, errno
 * Perform HTTP(S) requests with libcurl, at most parallel at a time. A
 * request: {method="GET"|"HEAD"|"PUT"|"POST"|"PATCH", url=, headers={"Name:
 * value", ...}, body=string | body_file=path (uploaded), out_file=path (the
 * response body is written there, 0600) | kept in memory, max_body=bytes
 * (default 4 MiB: a longer body fails that request), cainfo=extra CA file
 * (added to the system's), timeout=seconds, follow=redirects}. Only http
 * and https URLs. A response: {status= (0 when the transfer failed),
 * error=, headers=raw header lines of the final response, body=, size=
 * bytes received, sha256= hex digest of the body}. done is called as each
 * one finishes; progress (at most every 200 ms per transfer) with the bytes
 * received and the expected total (0: unknown). Fails (nil, err) only when no transfer could run.
 */
static int l_perform(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  size_t n = (size_t)luaL_len(L, 1);
  luaL_argcheck(L, n <= MAX_BATCH, 1, "too many requests in one batch");
  size_t parallel = 4;
  done_ctx_t d = {L, 0, 0};
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    parallel = (size_t)lctr_optfield_integer(L, 2, "parallel", 4);
    lua_getfield(L, 2, "done");
    d.fn = lua_isfunction(L, -1) ? lua_gettop(L) : 0;
    if (!d.fn)
      lua_pop(L, 1);
    lua_getfield(L, 2, "progress");
    d.pfn = lua_isfunction(L, -1) ? lua_gettop(L) : 0;
    if (!d.pfn)
      lua_pop(L, 1);
  }
  luaL_checkstack(L, (int)n + 8, "http.perform");
  ctr_http_req_t qs[MAX_BATCH];
  held_t hs[MAX_BATCH];
  ctr_http_resp_t rs[MAX_BATCH];
  for (size_t i = 0; i < n; i++)
    hs[i] = (held_t){NULL, -1, -1};
  for (size_t i = 0; i < n; i++) {
    lua_rawgeti(L, 1, (lua_Integer)i + 1); /* stays on the stack: keeps strings */
    int r = check_req(L, lua_gettop(L), &qs[i], &hs[i]);
    if (r != 0) {
      for (size_t j = 0; j <= i; j++)
        held_free(&hs[j]);
      return r;
    }
  }
  ctr_error_t err;
  ctr_http_cbs_t cbs = {d.fn ? on_done : NULL, d.pfn ? on_progress : NULL, &d};
  int r = ctr_http_perform(qs, rs, n, parallel, &cbs, &err);
  for (size_t i = 0; i < n; i++)
    held_free(&hs[i]);
  if (r < 0)
    return lctr_pusherr(L, &err);
  lua_createtable(L, (int)n, 0);
  for (size_t i = 0; i < n; i++) {
    push_resp(L, &rs[i]);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
    ctr_http_resp_free(&rs[i]);
  }
  return 1;
}

/***
 * http.sha256(s) -> hex
 * The sha256 digest of the string s as 64 lowercase hex digits (libcrypto).
 */
static int l_sha256(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  char hex[65];
  ctr_error_t err;
  if (ctr_sha256_hex(s, len, hex, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushstring(L, hex);
  return 1;
}

/***
 * http.sha256_file(path) -> hex, size | nil, err, errno
 * The sha256 digest of the file at path (64 lowercase hex digits) and its size.
 */
static int l_sha256_file(lua_State *L) {
  char hex[65];
  uint64_t size = 0;
  ctr_error_t err;
  if (ctr_sha256_file(luaL_checkstring(L, 1), hex, &size, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushstring(L, hex);
  lua_pushinteger(L, (lua_Integer)size);
  return 2;
}

/***
 * http.base64(s) -> string
 * s in base64 (RFC 4648, with padding; libcrypto's EVP_EncodeBlock).
 */
static int l_base64(lua_State *L) {
  size_t len;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, len < (64u << 20), 1, "too long");
  cleanup_free unsigned char *out = malloc(4 * ((len + 2) / 3) + 1);
  if (out == NULL)
    return lctr_pushfail(L, ENOMEM, "base64: out of memory");
  int n = EVP_EncodeBlock(out, s, (int)len);
  lua_pushlstring(L, (const char *)out, (size_t)n);
  return 1;
}

/***
 * http.unbase64(s) -> string | nil, err
 * Decode base64 (padding required; libcrypto's EVP_DecodeBlock).
 */
static int l_unbase64(lua_State *L) {
  size_t len;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &len);
  luaL_argcheck(L, len < (64u << 20), 1, "too long");
  if (len % 4 != 0)
    return lctr_pushfail(L, EINVAL, "invalid base64");
  cleanup_free unsigned char *out = malloc(len / 4 * 3 + 1);
  if (out == NULL)
    return lctr_pushfail(L, ENOMEM, "base64: out of memory");
  int n = EVP_DecodeBlock(out, s, (int)len);
  if (n < 0)
    return lctr_pushfail(L, EINVAL, "invalid base64");
  for (size_t i = len; i > 0 && s[i - 1] == '=' && n > 0; i--)
    n--; /* EVP_DecodeBlock counts the padding as zero bytes */
  lua_pushlstring(L, (const char *)out, (size_t)n);
  return 1;
}

int luaopen_ctr_http(lua_State *L) {
  static const luaL_Reg fns[] = {{"perform", l_perform},         {"base64", l_base64},
                                 {"unbase64", l_unbase64},       {"sha256", l_sha256},
                                 {"sha256_file", l_sha256_file}, {NULL, NULL}};
  luaL_newlib(L, fns);
  return 1;
}
