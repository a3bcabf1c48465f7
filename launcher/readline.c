/* readline.c - `ctr.readline`: line editing for the REPL, with libedit's
 * readline-compatible API. Only the REPL requires it, so scripts never
 * initialise libedit. It is a C module of its own (ctr/readline.so, found on
 * package.cpath like ctr/core.so), not part of the launcher: the launcher
 * links no libedit, so neither its start nor its sealed re-exec maps libedit
 * and the libraries it brings (libtinfo, libbsd, libmd).
 *
 *   rl.init{history_size = 1000}   set up libedit (word breaks for Lua paths)
 *   rl.readline(prompt) -> line | nil at end of input | false on Ctrl-C
 *   rl.add_history(line)
 *   rl.read_history(path) -> true | nil, err    (creates the parent dirs)
 *   rl.write_history(path) -> true | nil, err
 *   rl.set_completer(fn)  fn(word, line, start) -> {full words}
 *   rl.isatty(fd) -> boolean
 *   rl.interruptible(on)  while on, Ctrl-C raises "interrupted!" in running Lua code
 */
#include "launcher.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <editline/readline.h>
#include <lauxlib.h>

/* libedit's completion callbacks carry no user data: the state and the
 * completer (a registry ref) live here. There is one REPL per process. */
static lua_State *completion_L;
static int completer_ref = LUA_NOREF;
static int matches_ref = LUA_NOREF;
static volatile sig_atomic_t got_sigint;
static volatile sig_atomic_t sigint_mode; /* what a Ctrl-C does now */
enum { MODE_IDLE = 0, MODE_PROMPT, MODE_EVAL };

/* ---- Ctrl-C: at the prompt it discards the line; while Lua code runs it
 * raises "interrupted!" (lua.c's technique: a hook set from the handler).
 * The handler stays installed for the whole REPL session. */

static void lstop(lua_State *L, lua_Debug *ar) {
  (void)ar;
  lua_sethook(L, NULL, 0, 0);
  luaL_error(L, "interrupted!");
}

static void on_sigint(int sig) {
  (void)sig;
  if (sigint_mode == MODE_EVAL && completion_L)
    lua_sethook(completion_L, lstop, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
  else
    got_sigint = 1;
}

static int install_sigint(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  return sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: read() returns EINTR */
}

/* libedit reads keys through this: a Ctrl-C ends the line like an EOF. */
static int repl_getc(FILE *f) {
  unsigned char c;
  for (;;) {
    ssize_t n = read(fileno(f), &c, 1);
    if (n == 1)
      return c;
    if (n < 0 && errno == EINTR && !got_sigint)
      continue;
    return EOF;
  }
}

static char *match_generator(const char *text, int state) {
  static lua_Integer idx;
  lua_State *L = completion_L;
  char *r = NULL;
  (void)text;
  int top = lua_gettop(L);
  if (state == 0)
    idx = 0;
  lua_rawgeti(L, LUA_REGISTRYINDEX, matches_ref);
  if (lua_istable(L, -1) && lua_rawgeti(L, -1, ++idx) == LUA_TSTRING)
    r = strdup(lua_tostring(L, -1));
  lua_settop(L, top);
  return r;
}

static char **attempt_completion(const char *text, int start, int end) {
  lua_State *L = completion_L;
  (void)end;
  rl_attempted_completion_over = 1;
  if (!L || completer_ref == LUA_NOREF)
    return NULL;
  int top = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, completer_ref);
  lua_pushstring(L, text);
  lua_pushstring(L, rl_line_buffer ? rl_line_buffer : "");
  lua_pushinteger(L, start);
  if (lua_pcall(L, 3, 1, 0) != LUA_OK || !lua_istable(L, -1) || lua_rawlen(L, -1) == 0) {
    lua_settop(L, top);
    return NULL;
  }
  luaL_unref(L, LUA_REGISTRYINDEX, matches_ref);
  matches_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  lua_settop(L, top);
  return rl_completion_matches(text, match_generator);
}

static int l_init(lua_State *L) {
  lua_Integer n = 1000;
  if (lua_istable(L, 1)) {
    lua_getfield(L, 1, "history_size");
    n = luaL_optinteger(L, -1, 1000);
  }
  completion_L = L;
  rl_readline_name = "luac-ctr";
  rl_basic_word_break_characters = " \t\n\"\\'`><=;|&{(,+-*/%^~#[]";
  rl_completion_append_character = '\0';
  rl_attempted_completion_function = attempt_completion;
  rl_catch_signals = 0;
  rl_getc_function = repl_getc;
  rl_initialize();
  stifle_history((int)n);
  if (install_sigint() < 0)
    return luaL_error(L, "installing the SIGINT handler: %s", strerror(errno));
  return 0;
}

static int l_readline(lua_State *L) {
  const char *prompt = luaL_optstring(L, 1, "");
  got_sigint = 0;
  sigint_mode = MODE_PROMPT;
  char *line = readline(prompt);
  sigint_mode = MODE_IDLE;
  if (got_sigint) {
    free(line);
    fputs("^C\n", stdout);
    fflush(stdout);
    lua_pushboolean(L, 0);
    return 1;
  }
  if (!line) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushstring(L, line);
  free(line);
  return 1;
}

static int l_interruptible(lua_State *L) {
  completion_L = L;
  if (lua_toboolean(L, 1)) {
    sigint_mode = MODE_EVAL;
  } else {
    sigint_mode = MODE_IDLE;
    if (lua_gethook(L) == lstop) /* leave a user's debug.sethook alone */
      lua_sethook(L, NULL, 0, 0);
  }
  return 0;
}

static int l_add_history(lua_State *L) {
  const char *s = luaL_checkstring(L, 1);
  if (*s)
    add_history(s);
  return 0;
}

/* mkdir -p of the directory part of path (mode 0700). */
static int make_parents(lua_State *L, const char *path) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    return luaL_fileresult(L, 0, path);
  }
  for (char *p = strchr(buf + 1, '/'); p; p = strchr(p + 1, '/')) {
    *p = '\0';
    if (mkdir(buf, 0700) < 0 && errno != EEXIST) {
      lua_pushnil(L);
      lua_pushfstring(L, "creating %s: %s", buf, strerror(errno));
      lua_pushinteger(L, errno);
      return 3;
    }
    *p = '/';
  }
  return 0;
}

static int l_read_history(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int n = make_parents(L, path);
  if (n)
    return n;
  int e = read_history(path);
  if (e != 0 && e != ENOENT && access(path, F_OK) == 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "reading history %s: %s", path, strerror(e > 0 ? e : EIO));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_write_history(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int e = write_history(path);
  if (e != 0) {
    lua_pushnil(L);
    lua_pushfstring(L, "writing history %s: %s", path, strerror(e > 0 ? e : EIO));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int l_set_completer(lua_State *L) {
  if (!lua_isnil(L, 1))
    luaL_checktype(L, 1, LUA_TFUNCTION);
  completion_L = L;
  luaL_unref(L, LUA_REGISTRYINDEX, completer_ref);
  lua_settop(L, 1);
  completer_ref = lua_isnil(L, 1) ? LUA_NOREF : luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 0)));
  return 1;
}

int luaopen_ctr_readline(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"init", l_init},
      {"readline", l_readline},
      {"add_history", l_add_history},
      {"read_history", l_read_history},
      {"write_history", l_write_history},
      {"set_completer", l_set_completer},
      {"isatty", l_isatty},
      {"interruptible", l_interruptible},
      {NULL, NULL},
  };
  luaL_newlib(L, fns);
  return 1;
}
