/* paths.c - where luac-ctr finds its Lua modules, C modules and scripts.
 *
 * Build tree (the directory of the binary, /proc/self/exe or $LUAC_CTR_EXE
 * when that is a sealed memfd copy, is LUACTR_BINARY_DIR): Lua
 * modules and built-in scripts come from the source tree, C modules from the
 * build dir. Installed: the prefix is the binary's directory less
 * LUACTR_BINDIR (so `cmake --install build --prefix DIR` can go anywhere and
 * be moved), else the configured LUACTR_PREFIX; the Lua modules, C modules and
 * data are LUACTR_LUA_SUBDIR, LUACTR_CMOD_SUBDIR and LUACTR_DATA_SUBDIR below
 * it (GNUInstallDirs, relative unless configured absolute).
 *
 * Scripts are looked up by name in LUAC_CTR_PATH (colon-separated dirs), then
 * CONFIG/scripts, then the built-in scripts. CONFIG is $LUAC_CTR_CONFIG, else
 * $XDG_CONFIG_HOME/luac-ctr, else ~/.config/luac-ctr.
 */
#include "launcher.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>

#include "../core/cleanup.h"

static int same_dir(const char *a, const char *b) {
  char rb[PATH_MAX];
  if (strcmp(a, b) == 0)
    return 1;
  if (!realpath(b, rb))
    return 0;
  return strcmp(a, rb) == 0;
}

/* The binary's own file: /proc/self/exe, or, when that is the sealed memfd
 * copy the launcher runs from (main.c), the location it was copied from. */
static int exe_path(char *exe, size_t len) {
  ssize_t n = readlink("/proc/self/exe", exe, len - 1);
  if (n <= 0)
    return -1;
  exe[n] = '\0';
  if (strncmp(exe, "/memfd:", 7) != 0)
    return 0;
  const char *orig = getenv(LC_EXE_ENV);
  if (!orig || orig[0] != '/' || strlen(orig) >= len)
    return -1;
  snprintf(exe, len, "%s", orig);
  return 0;
}

/* The directory holding the binary ("" when unknown). */
static void exe_dir(char *dir, size_t len) {
  char *slash;
  if (exe_path(dir, len) < 0 || !(slash = strrchr(dir, '/')))
    dir[0] = '\0';
  else
    *slash = '\0';
}

/* The install prefix: dir less its "/LUACTR_BINDIR" tail. */
static void install_prefix(const char *dir, char *out, size_t len) {
  size_t n = strlen(dir), b = strlen(LUACTR_BINDIR);
  if (LUACTR_BINDIR[0] != '/' && n > b && dir[n - b - 1] == '/' &&
      strcmp(dir + n - b, LUACTR_BINDIR) == 0 && n - b - 1 < len)
    snprintf(out, len, "%.*s", (int)(n - b - 1), dir);
  else
    snprintf(out, len, "%s", LUACTR_PREFIX);
}

/* out = prefix/sub (sub when absolute); "" when that does not fit. */
static void under(char *out, size_t len, const char *prefix, const char *sub) {
  int n = snprintf(out, len, "%s%s%s", sub[0] == '/' ? "" : prefix, sub[0] == '/' ? "" : "/", sub);
  if (n < 0 || (size_t)n >= len)
    out[0] = '\0';
}

static void config_dir(char *out, size_t n) {
  const char *c = getenv("LUAC_CTR_CONFIG");
  const char *x = getenv("XDG_CONFIG_HOME");
  const char *h = getenv("HOME");
  out[0] = '\0';
  if (c && *c)
    snprintf(out, n, "%s", c);
  else if (x && x[0] == '/')
    snprintf(out, n, "%s/luac-ctr", x);
  else if (h && *h)
    snprintf(out, n, "%s/.config/luac-ctr", h);
}

void lc_layout_init(lc_layout_t *lay) {
  char dir[PATH_MAX], prefix[PATH_MAX];
  exe_dir(dir, sizeof dir);
  lay->build_tree = dir[0] && same_dir(dir, LUACTR_BINARY_DIR);
  install_prefix(dir, prefix, sizeof prefix);
  under(lay->data_dir, sizeof lay->data_dir, prefix, LUACTR_DATA_SUBDIR);
  if (lay->build_tree) {
    snprintf(lay->lua_dir, sizeof lay->lua_dir, "%s", LUACTR_SOURCE_DIR "/lua");
    snprintf(lay->cmod_dir, sizeof lay->cmod_dir, "%s", LUACTR_BINARY_DIR);
    snprintf(lay->builtin_scripts, sizeof lay->builtin_scripts, "%s", LUACTR_SOURCE_DIR "/scripts");
  } else {
    under(lay->lua_dir, sizeof lay->lua_dir, prefix, LUACTR_LUA_SUBDIR);
    under(lay->cmod_dir, sizeof lay->cmod_dir, prefix, LUACTR_CMOD_SUBDIR);
    under(lay->builtin_scripts, sizeof lay->builtin_scripts, lay->data_dir, "scripts");
  }
  config_dir(lay->config_dir, sizeof lay->config_dir);
}

static void prepend_field(lua_State *L, const char *field, const char *front) {
  lua_getfield(L, -1, field);
  const char *old = lua_tostring(L, -1);
  lua_pushfstring(L, "%s;%s", front, old ? old : "");
  lua_setfield(L, -3, field);
  lua_pop(L, 1);
}

void lc_set_paths(lua_State *L, const lc_layout_t *lay) {
  char front[3 * PATH_MAX];
  lua_getglobal(L, "package");
  snprintf(front, sizeof front, "%s/?.lua;%s/?/init.lua", lay->lua_dir, lay->lua_dir);
  prepend_field(L, "path", front);
  snprintf(front, sizeof front, "%s/?.so", lay->cmod_dir);
  prepend_field(L, "cpath", front);
  lua_pop(L, 1);
}

/* ---- script lookup -------------------------------------------------------- */

static int is_file(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int has_lua_suffix(const char *s) {
  size_t n = strlen(s);
  return n > 4 && strcmp(s + n - 4, ".lua") == 0;
}

int lc_user_dirs(const lc_layout_t *lay, char *buf, size_t buflen) {
  const char *p = getenv("LUAC_CTR_PATH");
  size_t used = 0;
  int count = 0;
  while (p && *p) {
    size_t len = strcspn(p, ":");
    if (len > 0 && used + len + 2 < buflen) {
      memcpy(buf + used, p, len);
      buf[used + len] = '\0';
      used += len + 1;
      count++;
    }
    p += len;
    if (*p == ':')
      p++;
  }
  if (lay->config_dir[0]) {
    int n = snprintf(buf + used, buflen - used, "%s/scripts", lay->config_dir);
    if (n > 0 && used + (size_t)n + 2 < buflen) {
      used += (size_t)n + 1;
      count++;
    }
  }
  buf[used] = '\0';
  return count;
}

/* dir/file into out when that is a file. Built in a local buffer: with
 * -fsanitize=undefined at -O3, GCC 12 warns that out might be NULL in a
 * snprintf into it here (-Wformat-truncation). */
static int try_dir(const char *dir, const char *file, char *out, size_t outlen) {
  char p[PATH_MAX];
  int n = snprintf(p, sizeof p, "%s/%s", dir, file);
  if (n < 0 || (size_t)n >= sizeof p || (size_t)n >= outlen || !is_file(p))
    return 0;
  memcpy(out, p, (size_t)n + 1);
  return 1;
}

int lc_find_script(const lc_layout_t *lay, const char *name, char *out, size_t outlen) {
  char file[NAME_MAX + 1];
  char dirs[4 * PATH_MAX];
  if (strchr(name, '/')) {
    if (access(name, R_OK) < 0)
      return -1;
    snprintf(out, outlen, "%s", name);
    return 0;
  }
  if (!*name || snprintf(file, sizeof file, has_lua_suffix(name) ? "%s" : "%s.lua", name) >=
                    (int)sizeof file) {
    errno = ENOENT;
    return -1;
  }
  lc_user_dirs(lay, dirs, sizeof dirs);
  for (const char *d = dirs; *d; d += strlen(d) + 1)
    if (try_dir(d, file, out, outlen))
      return 0;
  if (try_dir(lay->builtin_scripts, file, out, outlen))
    return 0;
  if (has_lua_suffix(name) && is_file(name)) { /* like lua5.4: a file in the cwd */
    snprintf(out, outlen, "%s", name);
    return 0;
  }
  errno = ENOENT;
  return -1;
}

/* ---- --help ---------------------------------------------------------------- */

typedef struct script_entry {
  char name[NAME_MAX + 1];
  char desc[256];
  int overrides; /* user script hiding a built-in / built-in hidden by a user script */
} script_entry_t;

typedef struct script_list {
  script_entry_t *v;
  size_t n, cap;
} script_list_t;

static void list_free(script_list_t *l) {
  free(l->v);
  l->v = NULL;
}
#define cleanup_list __attribute__((cleanup(list_free)))

static void trim_end(char *s) {
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
    s[--n] = '\0';
}

/* The description: the first line after an optional "#!" line, either
 * "--- Description" or "-- name: Description". */
static void script_desc(const char *path, char *out, size_t n) {
  char line[512];
  cleanup_file FILE *f = fopen(path, "r");
  out[0] = '\0';
  if (!f || !fgets(line, sizeof line, f))
    return;
  if (strncmp(line, "#!", 2) == 0 && !fgets(line, sizeof line, f))
    return;
  trim_end(line);
  if (strncmp(line, "--", 2) != 0)
    return;
  const char *p = line + 2;
  if (*p == '-') {
    p += strspn(p, "-");
  } else {
    p += strspn(p, " \t");
    size_t w = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
    if (w > 0 && p[w] == ':')
      p += w + 1;
  }
  p += strspn(p, " \t");
  snprintf(out, n, "%s", p);
}

static script_entry_t *list_find(script_list_t *l, const char *name) {
  for (size_t i = 0; i < l->n; i++)
    if (strcmp(l->v[i].name, name) == 0)
      return &l->v[i];
  return NULL;
}

static void list_add(script_list_t *l, const char *dir, const char *file) {
  char path[PATH_MAX];
  char name[NAME_MAX + 1];
  snprintf(name, sizeof name, "%.*s", (int)(strlen(file) - 4), file);
  if (list_find(l, name) || snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path ||
      !is_file(path))
    return;
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    script_entry_t *v = realloc(l->v, cap * sizeof *v);
    if (!v)
      return;
    l->v = v;
    l->cap = cap;
  }
  script_entry_t *e = &l->v[l->n++];
  snprintf(e->name, sizeof e->name, "%s", name);
  script_desc(path, e->desc, sizeof e->desc);
  e->overrides = 0;
}

static void list_dir(script_list_t *l, const char *dir) {
  cleanup_dir DIR *d = opendir(dir);
  struct dirent *de;
  while (d && (de = readdir(d)))
    if (de->d_name[0] != '.' && has_lua_suffix(de->d_name))
      list_add(l, dir, de->d_name);
}

static int entry_cmp(const void *a, const void *b) {
  return strcmp(((const script_entry_t *)a)->name, ((const script_entry_t *)b)->name);
}

static void print_list(const script_list_t *l, const char *mark) {
  if (l->n == 0)
    printf("  (none)\n");
  for (size_t i = 0; i < l->n; i++)
    printf("  %-14s %s%s\n", l->v[i].name, l->v[i].desc, l->v[i].overrides ? mark : "");
}

static void print_usage(void) {
  printf("Usage: " LC_PROG " [OPTIONS] [SCRIPT [ARGS...]]\n"
         "\n"
         "Run a luac-ctr workflow script, or the Lua REPL when no SCRIPT is given.\n"
         "SCRIPT is a path (it contains '/') or a name ('run' or 'run.lua') looked up\n"
         "in $LUAC_CTR_PATH, then the user script dir, then the built-in scripts.\n"
         "\n"
         "Options:\n"
         "  --root DIR      state root for the script and its children (LUAC_CTR_ROOT)\n"
         "  -e CODE         run the Lua CODE\n"
         "  -l MODULE       require MODULE and set the global of that name\n"
         "  -i              enter the REPL after running the script\n"
         "  -W              turn Lua warnings on\n"
         "  -v, --version   print the version and exit\n"
         "  -h, --help      print this help and exit\n"
         "  --              stop handling options\n");
}

void lc_print_help(const lc_layout_t *lay) {
  cleanup_list script_list_t user = {0};
  cleanup_list script_list_t builtin = {0};
  char dirs[4 * PATH_MAX];
  print_usage();
  lc_user_dirs(lay, dirs, sizeof dirs);
  for (const char *d = dirs; *d; d += strlen(d) + 1)
    list_dir(&user, d);
  list_dir(&builtin, lay->builtin_scripts);
  for (size_t i = 0; i < user.n; i++) {
    script_entry_t *b = list_find(&builtin, user.v[i].name);
    if (b)
      b->overrides = user.v[i].overrides = 1;
  }
  if (user.n) /* qsort(NULL, 0, ...) is undefined (UBSan: nonnull-attribute) */
    qsort(user.v, user.n, sizeof *user.v, entry_cmp);
  if (builtin.n)
    qsort(builtin.v, builtin.n, sizeof *builtin.v, entry_cmp);
  printf("\nBuilt-in scripts (%s):\n", lay->builtin_scripts);
  print_list(&builtin, " [overridden by a user script]");
  printf("\nUser scripts (");
  for (const char *d = dirs; *d; d += strlen(d) + 1)
    printf("%s%s", d == dirs ? "" : ":", d);
  printf("):\n");
  print_list(&user, " [overrides built-in]");
  printf("\nUser config: %s/init.lua (runs before every script and the REPL)\n"
         "Environment: LUAC_CTR_ROOT, LUAC_CTR_PATH, LUAC_CTR_CONFIG, LUAC_CTR_HISTORY,\n"
         "             LUAC_CTR_DEBUG=1 (tracebacks)\n",
         lay->config_dir[0] ? lay->config_dir : "~/.config/luac-ctr");
}
