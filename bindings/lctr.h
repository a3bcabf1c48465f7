/* lctr.h - shared helpers for the Lua bindings (ctr.core and friends).
 *
 * Conventions (luaposix / io.open):
 *  - a failing primitive returns nil, message, errno  (lctr_pusherr*)
 *  - a wrong argument type raises (luaL_check*)
 *  - releasable resources (fds, ptys, pidfds) are "ctr.fd" userdata with
 *    __gc and __close, so `local fd <close> = core.open(...)` works.
 */
#ifndef LCTR_H
#define LCTR_H

#include <lauxlib.h>
#include <lua.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* An area of ctr.core: bindings/l_<name>.c defines this, adding its
 * functions (and constants) to the module table at the top of the stack. */
#define LCTR_AREA_FN(name) lctr_open_##name
#define LCTR_AREA_DECL(name) void lctr_open_##name(lua_State *L)

/* nil, err->msg, err->errnum; returns 3 */
int lctr_pusherr(lua_State *L, const ctr_error_t *err);
/* nil, "<what>: strerror(errno)", errno; returns 3 */
int lctr_pusherrno(lua_State *L, const char *what);
/* nil, msg, errnum; returns 3 */
int lctr_pushfail(lua_State *L, int errnum, const char *msg);

/* After a blocking call failed with EINTR: raises the pending interrupt
 * (SIGINT/SIGTERM, see l_intr.c) if there is one, else returns (retry). */
void lctr_eintr(lua_State *L);
/* In a forked child: stop catching interrupts (default dispositions, no hook). */
void lctr_interrupts_child(lua_State *L);
/* Around fork/clone: SIGINT and SIGTERM are blocked from before the fork until
 * the child has its default dispositions back (so a signal sent to the child
 * at once kills it instead of reaching the inherited handler, which would
 * only set a flag that the child then forgets). begin saves the mask in old;
 * end (in parent and child; pid from fork) resets the child and restores it. */
void lctr_fork_begin(sigset_t *old);
void lctr_fork_end(lua_State *L, pid_t pid, const sigset_t *old);
/* Where the handler records an interrupt (SIGINT/SIGTERM) not raised yet
 * (0: none); a caller that acts on it itself clears it. */
volatile sig_atomic_t *lctr_interrupt_flag(void);

/* The kind of a file mode, as ctr.core's stat and ctr.archive's list name it:
 * "file", "dir", "link", "chr", "blk", "fifo", "sock" or "unknown". */
const char *lctr_mode_type(mode_t m);

/* A signal argument: a number (0 to SIGRTMAX) or a name ("TERM", "SIGTERM",
 * "RTMIN+1"); raises an argument error on anything else. In l_sig.c: for
 * the areas of ctr.core only. */
int lctr_checksig(lua_State *L, int idx);

/* The arguments (dir, names, file) of the core.*_under functions, checked
 * (file: a name without "/"; raises on a bad one), *dir and *file set, and
 * one open of dir: its fd, or -1 with err set. */
int lctr_open_under(lua_State *L, const char **dir, const char **file, ctr_error_t *err);
/* names[i] of a core.*_under call (name, len bytes) is one entry of dir:
 * no NUL, no "/", not "." or "..". */
bool lctr_entry_name(const char *name, size_t len);

/* ---- fds: "ctr.fd" userdata owning one file descriptor. */
#define LCTR_FD_MT "ctr.fd"
typedef struct lctr_fd {
  int fd;   /* -1 once closed or released */
  int kind; /* LCTR_FD_* : what it is, for tostring */
} lctr_fd_t;
enum { LCTR_FD_FILE = 0, LCTR_FD_PIPE, LCTR_FD_PTY, LCTR_FD_PIDFD, LCTR_FD_NS, LCTR_FD_SOCKET };

/* Push a new owning fd object. */
lctr_fd_t *lctr_pushfd(lua_State *L, int fd, int kind);
/* Accept an fd object or a plain integer; raises on anything else or on a closed fd. */
int lctr_checkfd(lua_State *L, int idx);
/* Like lctr_checkfd, but nil/none gives def. */
int lctr_optfd(lua_State *L, int idx, int def);
/* The fd object at idx (raises if it is not one). */
lctr_fd_t *lctr_tofdobj(lua_State *L, int idx);

/* ---- argv / env tables -> NULL-terminated char* arrays. The array lives in
 * a userdata pushed on the stack (so the GC frees it); strings are pinned by
 * the table at idx, which must stay on the stack while the array is used. */
char **lctr_checkstrv(lua_State *L, int idx, const char *what);
/* env may also be a map {NAME="value"}; the formatted strings are kept in a
 * table pushed on the stack below the array userdata (2 stack slots). */
char **lctr_checkenv(lua_State *L, int idx);

/* ---- flags by name. A table {name=value} terminated by {NULL,0}. The Lua
 * value may be an integer, a string "a,b,c", or a list {"a","b"}. Unknown
 * names raise an argument error listing the bad name. */
typedef struct lctr_flag {
  const char *name;
  unsigned long value;
} lctr_flag_t;
unsigned long lctr_checkflags(lua_State *L, int idx, const lctr_flag_t *names);
unsigned long lctr_optflags(lua_State *L, int idx, const lctr_flag_t *names, unsigned long def);

/* Set t[name] = value for every entry (constants tables). */
void lctr_setflags(lua_State *L, int t, const lctr_flag_t *names);

/* Field helpers for option tables: missing/nil gives def; a wrong type raises
 * "bad field 'name' (string expected, got number)". */
const char *lctr_optfield_string(lua_State *L, int t, const char *name, const char *def);
lua_Integer lctr_optfield_integer(lua_State *L, int t, const char *name, lua_Integer def);
int lctr_optfield_boolean(lua_State *L, int t, const char *name, int def);

#endif
