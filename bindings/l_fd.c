/* l_fd.c - area `fd` of ctr.core: open/close/dup/dup2, pipes, read/write,
 * fd flags, poll, isatty, unix socketpairs and fd passing (SCM_RIGHTS).
 * Every fd returned is a ctr.fd object (closed by __gc / __close); fd
 * arguments accept a ctr.fd or a plain integer. */
#include "lctr.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd.h"
#include "porthold.h"
#include "sys.h"

static const lctr_flag_t open_flags[] = {{"rdonly", O_RDONLY},
                                         {"wronly", O_WRONLY},
                                         {"rdwr", O_RDWR},
                                         {"creat", O_CREAT},
                                         {"create", O_CREAT},
                                         {"excl", O_EXCL},
                                         {"trunc", O_TRUNC},
                                         {"append", O_APPEND},
                                         {"cloexec", O_CLOEXEC},
                                         {"nonblock", O_NONBLOCK},
                                         {"directory", O_DIRECTORY},
                                         {"nofollow", O_NOFOLLOW},
                                         {"path", O_PATH},
                                         {"noctty", O_NOCTTY},
                                         {"sync", O_SYNC},
                                         {"dsync", O_DSYNC},
                                         {"tmpfile", O_TMPFILE},
                                         {"noatime", O_NOATIME},
                                         {NULL, 0}};

static const lctr_flag_t pipe_flags[] = {
    {"cloexec", O_CLOEXEC}, {"nonblock", O_NONBLOCK}, {"direct", O_DIRECT}, {NULL, 0}};

static const lctr_flag_t poll_events[] = {
    {"in", POLLIN},   {"out", POLLOUT},   {"pri", POLLPRI},     {"hup", POLLHUP},
    {"err", POLLERR}, {"nval", POLLNVAL}, {"rdhup", POLLRDHUP}, {NULL, 0}};

#define READ_MAX (64 * 1024 * 1024)

/***
 * core.open(path [, flags [, mode]]) -> fd | nil, err, errno
 * open(2). flags: "rdonly,wronly,rdwr,creat,excl,trunc,append,cloexec,nonblock,
 * directory,nofollow,path,noctty,sync,dsync,tmpfile,noatime" (default "rdonly,cloexec";
 * when given, exactly those flags are used). mode defaults to 0644 (octal integer).
 */
static int l_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int flags = (int)lctr_optflags(L, 2, open_flags, O_RDONLY | O_CLOEXEC);
  mode_t mode = (mode_t)luaL_optinteger(L, 3, 0644);
  ctr_error_t err;
  int fd = ctr_open(path, flags, mode, &err);
  if (fd < 0)
    return lctr_pusherr(L, &err);
  lctr_pushfd(L, fd, LCTR_FD_FILE);
  return 1;
}

/***
 * core.close(fd) -> true | nil, err, errno
 * Close an fd object (marking it closed) or a raw integer fd.
 */
static int l_close(lua_State *L) {
  lctr_fd_t *f = luaL_testudata(L, 1, LCTR_FD_MT);
  int fd = lctr_checkfd(L, 1);
  if (f)
    f->fd = -1;
  ctr_error_t err;
  if (ctr_close(fd, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.dup(fd [, cloexec=true]) -> fd | nil, err, errno
 * Duplicate fd to the lowest free number; returns a new fd object.
 */
static int l_dup(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  int cloexec = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
  ctr_error_t err;
  int r = ctr_dup(fd, cloexec, &err);
  if (r < 0)
    return lctr_pusherr(L, &err);
  lctr_pushfd(L, r, LCTR_FD_FILE);
  return 1;
}

/***
 * core.dup2(oldfd, newfd [, cloexec=false]) -> newfd | nil, err, errno
 * dup2(2)/dup3(2). Returns the integer newfd (not an owning object: it is
 * usually 0, 1 or 2 in a child about to exec).
 */
static int l_dup2(lua_State *L) {
  int oldfd = lctr_checkfd(L, 1);
  int newfd = lctr_checkfd(L, 2);
  int cloexec = lua_toboolean(L, 3);
  ctr_error_t err;
  if (ctr_dup2(oldfd, newfd, cloexec, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushinteger(L, newfd);
  return 1;
}

/***
 * core.pipe([flags]) -> r, w | nil, err, errno
 * pipe2(2). flags: "cloexec,nonblock,direct" (default "cloexec").
 */
static int l_pipe(lua_State *L) {
  int flags = (int)lctr_optflags(L, 1, pipe_flags, O_CLOEXEC);
  int fds[2];
  ctr_error_t err;
  if (ctr_pipe(fds, flags, &err) < 0)
    return lctr_pusherr(L, &err);
  lctr_pushfd(L, fds[0], LCTR_FD_PIPE);
  lctr_pushfd(L, fds[1], LCTR_FD_PIPE);
  return 2;
}

/***
 * core.read(fd [, n=65536]) -> string | nil, err, errno
 * One read(2) of at most n bytes; "" at end of file. A non-blocking fd with
 * nothing to read returns nil, err, core.errno.EAGAIN.
 */
static int l_read(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  lua_Integer n = luaL_optinteger(L, 2, 65536);
  luaL_argcheck(L, n >= 0 && n <= READ_MAX, 2, "size out of range");
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, (size_t)n);
  ctr_error_t err;
  ssize_t r;
  lctr_eintr(L); /* a signal that came before the call */
  while ((r = ctr_read(fd, p, (size_t)n, &err)) < 0 && err.errnum == EINTR)
    lctr_eintr(L);
  if (r < 0)
    return lctr_pusherr(L, &err);
  luaL_pushresultsize(&b, (size_t)r);
  return 1;
}

/***
 * core.write(fd, s) -> n | nil, err, errno
 * Write all of s (retrying short writes); returns the bytes written, which is
 * less than #s only on a full non-blocking fd.
 */
static int l_write(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  size_t len;
  const char *s = luaL_checklstring(L, 2, &len);
  ctr_error_t err;
  ssize_t r = ctr_write(fd, s, len, &err);
  if (r < 0)
    return lctr_pusherr(L, &err);
  lua_pushinteger(L, r);
  return 1;
}

static int bool_arg(lua_State *L, int idx) {
  if (lua_isnoneornil(L, idx))
    return 1;
  luaL_checktype(L, idx, LUA_TBOOLEAN);
  return lua_toboolean(L, idx);
}

/***
 * core.set_cloexec(fd [, on=true]) -> true | nil, err, errno
 * Set or clear FD_CLOEXEC.
 */
static int l_set_cloexec(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  ctr_error_t err;
  if (ctr_set_cloexec(fd, bool_arg(L, 2), &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.set_nonblock(fd [, on=true]) -> true | nil, err, errno
 * Set or clear O_NONBLOCK.
 */
static int l_set_nonblock(lua_State *L) {
  int fd = lctr_checkfd(L, 1);
  ctr_error_t err;
  if (ctr_set_nonblock(fd, bool_arg(L, 2), &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.isatty(fd) -> boolean
 * Whether fd refers to a terminal.
 */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, ctr_isatty(lctr_checkfd(L, 1)));
  return 1;
}

static int64_t now_ms(void) {
  int64_t ns = 0;
  ctr_time_ns(CLOCK_MONOTONIC, &ns, NULL);
  return ns / 1000000;
}

/* poll until ready or timed out; a signal raises the pending interrupt or
 * polls again for what is left of the timeout. -1: nil, err, errno pushed. */
static int poll_intr(lua_State *L, struct pollfd *p, size_t n, int timeout) {
  int64_t deadline = timeout >= 0 ? now_ms() + timeout : -1;
  ctr_error_t err;
  lctr_eintr(L); /* a signal that came before the call */
  for (;;) {
    int r = ctr_poll(p, n, timeout, &err);
    if (r >= 0)
      return r;
    if (err.errnum != EINTR) {
      lctr_pusherr(L, &err);
      return -1;
    }
    lctr_eintr(L);
    if (deadline >= 0) {
      int64_t left = deadline - now_ms();
      timeout = left > 0 ? (int)left : 0;
    }
  }
}

static void push_revents(lua_State *L, short rev) {
  lua_newtable(L);
  int n = 0;
  for (const lctr_flag_t *f = poll_events; f->name; f++)
    if (rev & (short)f->value) {
      lua_pushstring(L, f->name);
      lua_rawseti(L, -2, ++n);
    }
}

/***
 * core.poll(list [, timeout_ms=-1]) -> ready | nil, err, errno
 * poll(2). list: { {fd, "in,out"}, ... } (events "in,out,pri,rdhup"). Returns a
 * list of { fd = <the fd given>, revents = {"in", "hup", ...} } for the ready
 * entries ({} on timeout).
 */
static int l_poll(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int timeout = (int)luaL_optinteger(L, 2, -1);
  int top = lua_gettop(L) + 1; /* after the pollfd array */
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 0 && n <= 4096, 1, "too many fds");
  struct pollfd *p = lua_newuserdatauv(L, sizeof *p * (size_t)(n ? n : 1), 0);
  for (lua_Integer i = 1; i <= n; i++) {
    if (lua_rawgeti(L, 1, i) != LUA_TTABLE)
      return luaL_error(L, "bad poll entry %d (table {fd, events} expected)", (int)i);
    lua_rawgeti(L, -1, 1);
    p[i - 1].fd = lctr_checkfd(L, -1);
    lua_rawgeti(L, -2, 2);
    p[i - 1].events = (short)lctr_optflags(L, -1, poll_events, POLLIN);
    p[i - 1].revents = 0;
    lua_pop(L, 3);
  }
  if (poll_intr(L, p, (size_t)n, timeout) < 0)
    return lua_gettop(L) - top;
  lua_newtable(L);
  int k = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    if (!p[i - 1].revents)
      continue;
    lua_createtable(L, 0, 2);
    lua_rawgeti(L, 1, i);
    lua_rawgeti(L, -1, 1);
    lua_setfield(L, -3, "fd");
    lua_pop(L, 1);
    push_revents(L, p[i - 1].revents);
    lua_setfield(L, -2, "revents");
    lua_rawseti(L, -2, ++k);
  }
  return 1;
}

/***
 * core.socketpair() -> a, b | nil, err, errno
 * A connected AF_UNIX stream socket pair (close-on-exec), for send_fd/recv_fd.
 */
static int l_socketpair(lua_State *L) {
  int sv[2];
  ctr_error_t err;
  if (ctr_socketpair(sv, &err) < 0)
    return lctr_pusherr(L, &err);
  lctr_pushfd(L, sv[0], LCTR_FD_SOCKET);
  lctr_pushfd(L, sv[1], LCTR_FD_SOCKET);
  return 2;
}

/***
 * core.send_fd(sock, fd) -> true | nil, err, errno
 * Pass fd to the peer of unix socket sock (SCM_RIGHTS).
 */
static int l_send_fd(lua_State *L) {
  int sock = lctr_checkfd(L, 1);
  int fd = lctr_checkfd(L, 2);
  ctr_error_t err;
  if (ctr_send_fd(sock, fd, &err) < 0)
    return lctr_pusherr(L, &err);
  lua_pushboolean(L, 1);
  return 1;
}

/***
 * core.recv_fd(sock) -> fd | nil, err, errno
 * Receive an fd sent with send_fd; returns a new (close-on-exec) fd object.
 */
static int l_recv_fd(lua_State *L) {
  int sock = lctr_checkfd(L, 1);
  ctr_error_t err;
  int fd = ctr_recv_fd(sock, &err);
  if (fd < 0)
    return lctr_pusherr(L, &err);
  lctr_pushfd(L, fd, LCTR_FD_FILE);
  return 1;
}

static int push_sock(lua_State *L, int fd, const ctr_error_t *err) {
  if (fd < 0)
    return lctr_pusherr(L, err);
  lctr_pushfd(L, fd, LCTR_FD_SOCKET);
  return 1;
}

/***
 * core.unix_connect(path) -> sock | nil, err, errno
 * Connect an AF_UNIX stream socket (close-on-exec) to path: luac-runc's
 * --console-socket.
 */
static int l_unix_connect(lua_State *L) {
  ctr_error_t err;
  int fd = ctr_unix_connect(luaL_checkstring(L, 1), &err);
  return push_sock(L, fd, &err);
}

/***
 * core.unix_listen(path) -> sock | nil, err, errno
 * A new AF_UNIX stream socket (close-on-exec) bound to path (mode 0600) and
 * listening: a --console-socket receiver.
 */
static int l_unix_listen(lua_State *L) {
  ctr_error_t err;
  int fd = ctr_unix_listen(luaL_checkstring(L, 1), &err);
  return push_sock(L, fd, &err);
}

/***
 * core.unix_accept(sock) -> sock | nil, err, errno
 * accept(2) one connection on a listening socket (close-on-exec).
 */
static int l_unix_accept(lua_State *L) {
  ctr_error_t err;
  int fd = ctr_unix_accept(lctr_checkfd(L, 1), &err);
  return push_sock(L, fd, &err);
}

/***
 * core.port_hold(ip, port, proto) -> sock, port | nil, err, errno
 * Reserve host port ip:port/proto ("tcp" or "udp") for a published port: a
 * close-on-exec socket bound there (TCP: not listening) to keep open for the
 * container's life. Fails with EADDRINUSE when the port is taken. Port 0:
 * a free port the kernel chooses (-P); the port bound is the second result.
 */
static int l_port_hold(lua_State *L) {
  ctr_error_t err;
  const char *proto = luaL_checkstring(L, 3);
  if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0)
    return luaL_argerror(L, 3, "\"tcp\" or \"udp\" expected");
  int fd = ctr_port_hold(luaL_checkstring(L, 1), (int)luaL_checkinteger(L, 2),
                         strcmp(proto, "udp") == 0, &err);
  if (fd < 0)
    return lctr_pusherr(L, &err);
  int port = ctr_sock_port(fd, &err);
  if (port < 0) {
    close(fd);
    return lctr_pusherr(L, &err);
  }
  push_sock(L, fd, &err);
  lua_pushinteger(L, port);
  return 2;
}

static const luaL_Reg funcs[] = {{"unix_connect", l_unix_connect},
                                 {"port_hold", l_port_hold},
                                 {"unix_listen", l_unix_listen},
                                 {"unix_accept", l_unix_accept},
                                 {"open", l_open},
                                 {"close", l_close},
                                 {"dup", l_dup},
                                 {"dup2", l_dup2},
                                 {"pipe", l_pipe},
                                 {"read", l_read},
                                 {"write", l_write},
                                 {"set_cloexec", l_set_cloexec},
                                 {"set_nonblock", l_set_nonblock},
                                 {"isatty", l_isatty},
                                 {"poll", l_poll},
                                 {"socketpair", l_socketpair},
                                 {"send_fd", l_send_fd},
                                 {"recv_fd", l_recv_fd},
                                 {NULL, NULL}};

/* fd objects also get these as methods: fd:read(n), fd:write(s), ... */
static const luaL_Reg methods[] = {{"read", l_read},
                                   {"write", l_write},
                                   {"set_cloexec", l_set_cloexec},
                                   {"set_nonblock", l_set_nonblock},
                                   {"isatty", l_isatty},
                                   {"dup", l_dup},
                                   {NULL, NULL}};

static void add_methods(lua_State *L) {
  lctr_pushfd(L, -1, LCTR_FD_FILE); /* makes sure the metatable exists */
  lua_getmetatable(L, -1);
  lua_getfield(L, -1, "methods");
  luaL_setfuncs(L, methods, 0);
  lua_pop(L, 3);
}

LCTR_AREA_DECL(fd) {
  luaL_setfuncs(L, funcs, 0);
  add_methods(L);
}
