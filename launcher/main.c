/* main.c - luac-ctr: run a workflow script, or the REPL.
 *
 *   luac-ctr [--root DIR] [-e CODE] [-l MOD] [-i] [-W] [SCRIPT [ARGS...]]
 *
 * Start-up first re-executes the binary from a sealed memfd copy of itself
 * (seal_self, core/selfexec.h: the host file never enters a container; the
 * built-in commands that only read state skip it, runs_unsealed), then
 * does what lua5.4 does plus one readlink (build tree or installed),
 * two package.path edits and one stat (the user's init.lua); Lua files (the
 * script, init.lua, modules on package.path) are read with one open each
 * (loadfile.c). Nothing of ctr is
 * loaded unless the script requires it; libedit (ctr/readline.so) is loaded by the REPL only.
 *
 * Exit codes: the script's os.exit(n); 0 when it returns; on a Lua error 1, or
 * 125 when the script is a command run by name (a workflow, see run_script), after
 * "luac-ctr: <message>" on one line (ctr.errors.oneline; a traceback with
 * LUAC_CTR_DEBUG=1); 125 for the
 * launcher's own errors (bad option, unknown script). An error value that is a
 * table (ctr.errors: {code = N, msg = "..."}; {exit = N} is accepted too)
 * exits with N after printing msg (if any). A script that loaded ctr.core
 * gets SIGINT and SIGTERM as such an error value (kind "interrupted", 130 or
 * 143: bindings/l_intr.c), so its pcall, <close> and ctr.on_exit cleanups
 * run before the exit; ctr.on_exit's run as the state is closed below.
 */
#include "launcher.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "../core/selfexec.h"

typedef struct lc_opts {
  int script;      /* argv index of the script; argc when there is none */
  int interactive; /* -i */
  int has_code;    /* -e or -l given */
  int help, version, warn;
} lc_opts_t;

/* Write s to stderr on one line: control characters (newline, tab, escape
 * sequences, DEL) as \n, \t, \r or \xNN, as ctr.errors.oneline does for the
 * workflows' messages (which also escapes bytes that are not UTF-8). With
 * LUAC_CTR_DEBUG=1 (tracebacks) s is written as it is. */
static void put_escaped(const char *s) {
  const char *dbg = getenv("LUAC_CTR_DEBUG");
  if (dbg && strcmp(dbg, "1") == 0) {
    fputs(s, stderr);
    return;
  }
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '\n' || c == '\t' || c == '\r')
      fprintf(stderr, "\\%c", c == '\n' ? 'n' : c == '\t' ? 't' : 'r');
    else if (c < 0x20 || c == 0x7f)
      fprintf(stderr, "\\x%02x", c);
    else
      fputc(c, stderr);
  }
}

/* "luac-ctr: <before><what><after>" on one line, what escaped. */
static void error_line(const char *before, const char *what, const char *after) {
  fputs(LC_PROG ": ", stderr);
  fputs(before, stderr);
  put_escaped(what);
  fputs(after, stderr);
  fputc('\n', stderr);
}

static int usage_error(const char *before, const char *what, const char *after) {
  error_line(before, what, after);
  return LC_EXIT_USAGE;
}

/* The value of an option: "-eCODE", "--root=DIR" or the next argument. */
static const char *opt_value(int argc, char **argv, int *i, size_t optlen) {
  const char *a = argv[*i];
  if (a[optlen] == '=' && a[1] == '-')
    return a + optlen + 1;
  if (a[optlen] != '\0')
    return a + optlen;
  if (*i + 1 >= argc)
    return NULL;
  return argv[++*i];
}

static int parse_one(int argc, char **argv, int *i, lc_opts_t *o) {
  const char *a = argv[*i];
  const char *v;
  if (strcmp(a, "--root") == 0 || strncmp(a, "--root=", 7) == 0) {
    if (!(v = opt_value(argc, argv, i, 6)))
      return usage_error("option '", a, "' needs a directory (see " LC_PROG " --help)");
    if (setenv("LUAC_CTR_ROOT", v, 1) < 0)
      return usage_error("setting LUAC_CTR_ROOT to '", v, "' failed (see " LC_PROG " --help)");
  } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
    o->help = 1;
  } else if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
    o->version = 1;
  } else if (strcmp(a, "-i") == 0) {
    o->interactive = 1;
  } else if (strcmp(a, "-W") == 0) {
    o->warn = 1;
  } else if (a[1] == 'e' || a[1] == 'l') {
    if (!opt_value(argc, argv, i, 2))
      return usage_error("option '", a, "' needs an argument (see " LC_PROG " --help)");
    o->has_code = 1;
  } else {
    return usage_error("unrecognized option '", a, "' (see " LC_PROG " --help)");
  }
  return 0;
}

static int parse_args(int argc, char **argv, lc_opts_t *o) {
  memset(o, 0, sizeof *o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (a[0] != '-' || strcmp(a, "-") == 0) {
      o->script = i;
      return 0;
    }
    if (strcmp(a, "--") == 0) {
      o->script = i + 1;
      return 0;
    }
    int rc = parse_one(argc, argv, &i, o);
    if (rc)
      return rc;
  }
  o->script = argc;
  return 0;
}

/* ---- running Lua code ------------------------------------------------------ */

/* A table error value (ctr.errors: {msg =, code =}) is kept as it is so that
 * report() can take its exit code; with LUAC_CTR_DEBUG=1 its traceback is
 * printed here, where the stack is still there. */
static int msghandler(lua_State *L) {
  const char *dbg = getenv("LUAC_CTR_DEBUG");
  bool debug = dbg && strcmp(dbg, "1") == 0;
  if (lua_type(L, 1) == LUA_TTABLE) {
    if (debug) {
      const char *m = luaL_tolstring(L, 1, NULL);
      luaL_traceback(L, L, m, 1);
      fprintf(stderr, "%s\n", lua_tostring(L, -1));
      lua_pop(L, 2);
    }
    lua_settop(L, 1);
    return 1;
  }
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  if (debug)
    luaL_traceback(L, L, msg, 1);
  else
    lua_pushstring(L, msg);
  return 1;
}

static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  int status = lua_pcall(L, narg, nres, base);
  lua_remove(L, base);
  return status;
}

/* Push msg made one line by ctr.errors.oneline (so an uncaught error looks
 * as a workflow's own messages: "\nSee 'luac-ctr X --help'." at the end, bytes
 * that are not UTF-8); msg itself when ctr.errors cannot be loaded or with
 * LUAC_CTR_DEBUG=1 (a traceback is printed as it is). */
static const char *push_oneline(lua_State *L, const char *msg) {
  int top = lua_gettop(L);
  const char *dbg = getenv("LUAC_CTR_DEBUG");
  if (!(dbg && strcmp(dbg, "1") == 0) && lua_getglobal(L, "require") == LUA_TFUNCTION) {
    lua_pushliteral(L, "ctr.errors");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TTABLE &&
        lua_getfield(L, -1, "oneline") == LUA_TFUNCTION) {
      lua_pushstring(L, msg);
      if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) {
        lua_replace(L, top + 1);
        lua_settop(L, top + 1);
        return lua_tostring(L, -1);
      }
    }
  }
  lua_settop(L, top);
  return lua_pushstring(L, msg);
}

/* Print the error on top of the stack; returns the exit code for it
 * (def for an error that does not carry one). */
static int report(lua_State *L, int def) {
  if (lua_type(L, -1) == LUA_TTABLE) {
    int isnum = 0;
    lua_getfield(L, -1, "code");
    lua_Integer code = lua_tointegerx(L, -1, &isnum);
    lua_pop(L, 1);
    if (!isnum) {
      lua_getfield(L, -1, "exit");
      code = lua_tointegerx(L, -1, &isnum);
      lua_pop(L, 1);
    }
    lua_getfield(L, -1, "msg");
    if (lua_isstring(L, -1)) {
      error_line("", push_oneline(L, lua_tostring(L, -1)), "");
      lua_pop(L, 1);
    } else if (!isnum) {
      fprintf(stderr, LC_PROG ": (error object is a table value)\n");
    }
    lua_pop(L, 2);
    return isnum ? (int)(code & 0xff) : def;
  }
  const char *msg = lua_tostring(L, -1);
  error_line("", msg ? push_oneline(L, msg) : "(error object is not a string)", "");
  lua_pop(L, msg ? 2 : 1);
  return def;
}

static int run_chunk(lua_State *L, int status) {
  if (status == LUA_OK)
    status = docall(L, 0, 0);
  return status == LUA_OK ? 0 : report(L, 1);
}

/* The user's init.lua, if there is one (one stat when there is not). */
static int run_init(lua_State *L, const lc_layout_t *lay) {
  char path[PATH_MAX + 16];
  struct stat st;
  if (!lay->config_dir[0])
    return 0;
  snprintf(path, sizeof path, "%s/init.lua", lay->config_dir);
  if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
    return 0;
  return run_chunk(L, lc_loadfile(L, path));
}

/* -l MOD: require it and set the global (lua5.4 also accepts "g=mod"). */
static int run_require(lua_State *L, const char *spec) {
  const char *eq = strchr(spec, '=');
  const char *mod = eq ? eq + 1 : spec;
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  if (docall(L, 1, 1) != LUA_OK)
    return report(L, 1);
  if (eq)
    lua_pushlstring(L, spec, (size_t)(eq - spec));
  else
    lua_pushstring(L, mod);
  lua_insert(L, -2);
  lua_setglobal(L, lua_tostring(L, -2));
  lua_pop(L, 1);
  return 0;
}

/* Run -e and -l in order, like lua5.4. */
static int run_options(lua_State *L, int argc, char **argv, int script) {
  for (int i = 1; i < script && i < argc; i++) {
    const char *a = argv[i];
    int rc = 0;
    if (strcmp(a, "--") == 0)
      break;
    if (strcmp(a, "--root") == 0) {
      i++;
      continue;
    }
    if (a[0] != '-' || (a[1] != 'e' && a[1] != 'l'))
      continue;
    const char *v = opt_value(argc, argv, &i, 2);
    if (a[1] == 'e')
      rc = run_chunk(L, luaL_loadbuffer(L, v, strlen(v), "=(command line)"));
    else
      rc = run_require(L, v);
    if (rc)
      return rc;
  }
  return 0;
}

static void create_arg_table(lua_State *L, int argc, char **argv, int script, const char *path) {
  if (script == argc)
    script = 0;
  lua_createtable(L, argc - (script + 1), script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, (i == script && path) ? path : argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* A command run by name (a workflow: "run", not "./x.lua" or "-") exits 125
 * on an error that carries no code, docker's code for an error before the
 * command runs; a script given by path exits 1, as lua5.4 does. */
static int run_script(lua_State *L, int argc, char **argv, int script, const char *path) {
  int n = argc - script - 1;
  int def = strchr(argv[script], '/') || strcmp(argv[script], "-") == 0 ? 1 : LC_EXIT_USAGE;
  int status = strcmp(argv[script], "-") == 0 ? luaL_loadfile(L, NULL) : lc_loadfile(L, path);
  if (status != LUA_OK)
    return report(L, 1);
  luaL_checkstack(L, n, "too many arguments to script");
  for (int i = script + 1; i < argc; i++)
    lua_pushstring(L, argv[i]);
  status = docall(L, n, 0);
  return status == LUA_OK ? 0 : report(L, def);
}

static int run_repl(lua_State *L) {
  static const char code[] = "return require('ctr.repl').run()";
  if (luaL_loadbuffer(L, code, sizeof code - 1, "=repl") != LUA_OK || docall(L, 0, 1) != LUA_OK)
    return report(L, 1);
  int rc = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return rc;
}

static int lookup_script(const lc_layout_t *lay, const char *name, char *path, size_t n) {
  if (strcmp(name, "-") == 0) {
    snprintf(path, n, "-");
    return 0;
  }
  if (lc_find_script(lay, name, path, n) == 0)
    return 0;
  char after[160];
  snprintf(after, sizeof after, "': %s", strerror(errno));
  if (strchr(name, '/'))
    error_line("cannot open script '", name, after);
  else
    error_line("unknown command or script '", name, "' (see " LC_PROG " --help)");
  return LC_EXIT_USAGE;
}

/* Everything after option parsing, with the state open. */
static int run_all(lua_State *L, const lc_layout_t *lay, const lc_opts_t *o, int argc,
                   char **argv) {
  char path[PATH_MAX];
  const char *script = o->script < argc ? argv[o->script] : NULL;
  int rc;
  if (script && (rc = lookup_script(lay, script, path, sizeof path)))
    return rc;
  lc_set_paths(L, lay);
  lc_install_searcher(L);
  lc_register_preloads(L, lay);
  create_arg_table(L, argc, argv, o->script, script ? path : NULL);
  if (o->warn)
    lua_warning(L, "@on", 0);
  if ((rc = run_init(L, lay)) || (rc = run_options(L, argc, argv, o->script)))
    return rc;
  if (script && (rc = run_script(L, argc, argv, o->script, path)))
    return rc;
  if (o->interactive || (!script && !o->has_code))
    return run_repl(L);
  return 0;
}

/* Before anything can enter a container, run from a sealed memfd copy of
 * this binary (core/selfexec.h); LC_EXE_ENV keeps the file's own location for
 * the layout (paths.c). Already sealed (a re-executed or forked copy): one
 * open and fcntl. If the copy cannot be made, ctr.core's trampoline still
 * keeps the file out of containers (core/execguard.h). */
static void seal_self(char **argv) {
  char exe[PATH_MAX];
  if (ctr_running_sealed())
    return;
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    setenv(LC_EXE_ENV, exe, 1);
  }
  ctr_error_t err;
  ctr_selfexec_sealed(argv, &err);
  const char *dbg = getenv("LUAC_CTR_DEBUG");
  if (dbg && strcmp(dbg, "1") == 0)
    fprintf(stderr, LC_PROG ": running unsealed: %s\n", err.msg);
}

/* Built-in commands that only read the state root: they never create,
 * start or enter a container, nor run anything in one, so the sealed
 * re-exec (seal_self), which keeps container processes from reaching the
 * launcher's file, protects nothing there, and they skip its cost (a
 * second execve and dynamic link). Only the built-in script itself, run by
 * name with no -e, -l or -i and no user init.lua (code that could do
 * anything): a user script of that name, or any of those, runs sealed.
 * security_selfexec_spec checks that every other built-in script runs
 * sealed. Code that could enter a container anyway finds ctr.core's
 * trampoline (core/execguard.h). */
static const char *const read_only_cmds[] = {"ps",   "inspect", "logs",    "images",
                                             "port", "events",  "history", NULL};

static bool is_read_only_cmd(const char *name) {
  for (const char *const *c = read_only_cmds; *c; c++)
    if (strcmp(name, *c) == 0)
      return true;
  return false;
}

/* lay: the layout, set when this returns true (the caller's, not made again). */
static bool runs_unsealed(const lc_opts_t *o, int argc, char **argv, lc_layout_t *lay) {
  if (o->has_code || o->interactive || o->script >= argc || !is_read_only_cmd(argv[o->script]))
    return false;
  char found[PATH_MAX], builtin[PATH_MAX + 16], init[PATH_MAX + 16];
  struct stat st;
  lc_layout_init(lay);
  snprintf(builtin, sizeof builtin, "%s/%s.lua", lay->builtin_scripts, argv[o->script]);
  if (lc_find_script(lay, argv[o->script], found, sizeof found) != 0 || strcmp(found, builtin) != 0)
    return false; /* a user script of that name */
  snprintf(init, sizeof init, "%s/init.lua", lay->config_dir);
  return !lay->config_dir[0] || stat(init, &st) < 0 || !S_ISREG(st.st_mode); /* as run_init */
}

/* Called as luac-runc (a link to this binary, LC_RUNC_NAME): the OCI
 * runtime. argv[0] survives the sealed re-exec (execveat keeps argv), so the
 * name decides; runc's own options (--root is its state dir) go, untouched,
 * to the Lua dispatcher ctr.runc, whose return value is the exit code. */
static bool called_as_runc(const char *argv0) {
  const char *base = argv0 ? strrchr(argv0, '/') : NULL;
  base = base ? base + 1 : argv0;
  return base && strcmp(base, LC_RUNC_NAME) == 0;
}

static int run_runc(lua_State *L, const lc_layout_t *lay, int argc, char **argv) {
  static const char code[] = "return require('ctr.runc').main(...)";
  lc_set_paths(L, lay);
  lc_install_searcher(L);
  lc_register_preloads(L, lay);
  create_arg_table(L, argc, argv, 0, NULL);
  /* the user's init.lua: its ctr.hooks (config, prestart, ...) apply here too */
  if (run_init(L, lay) != 0)
    return 1;
  if (luaL_loadbuffer(L, code, sizeof code - 1, "=" LC_RUNC_NAME) != LUA_OK)
    return report(L, 1);
  luaL_checkstack(L, argc, "too many arguments");
  for (int i = 1; i < argc; i++)
    lua_pushstring(L, argv[i]);
  if (docall(L, argc - 1, 1) != LUA_OK)
    return report(L, 1);
  int rc = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  return rc;
}

static int main_runc(int argc, char **argv) {
  lc_layout_t lay;
  seal_self(argv);
  lc_layout_init(&lay);
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, LC_RUNC_NAME ": cannot create the Lua state: not enough memory\n");
    return 1;
  }
  lua_gc(L, LUA_GCGEN, 0, 0);
  luaL_openlibs(L);
  int rc = run_runc(L, &lay, argc, argv);
  lua_close(L);
  return rc;
}

int main(int argc, char **argv) {
  lc_opts_t o;
  lc_layout_t lay;
  if (argc > 0 && called_as_runc(argv[0]))
    return main_runc(argc, argv);
  int rc = parse_args(argc, argv, &o);
  if (rc)
    return rc;
  bool plain = o.help || o.version;
  bool unsealed = !plain && runs_unsealed(&o, argc, argv, &lay); /* lay made there */
  if (!plain && !unsealed)
    seal_self(argv);
  if (!unsealed)
    lc_layout_init(&lay);
  if (o.help) {
    lc_print_help(&lay);
    return 0;
  }
  if (o.version) {
    printf(LC_PROG " " LUACTR_VERSION " (" LUA_RELEASE ")\n");
    return 0;
  }
  lua_State *L = luaL_newstate();
  if (!L) {
    fprintf(stderr, LC_PROG ": cannot create the Lua state: not enough memory\n");
    return 1;
  }
  lua_gc(L, LUA_GCGEN, 0, 0);
  luaL_openlibs(L);
  rc = run_all(L, &lay, &o, argc, argv);
  lua_close(L);
  return rc;
}
