/* oci_mounts.c - the runtime-spec `mounts`: destination, type, source,
 * options (flags, propagation, bind/rbind, idmap; the rest is the
 * filesystem's data). */
#include <string.h>
#include <sys/mount.h>

#include "oci_internal.h"

static const struct {
  const char *name;
  unsigned long set, clear;
} flag_opts[] = {
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"noatime", MS_NOATIME, 0},
    {"atime", 0, MS_NOATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"diratime", 0, MS_NODIRATIME},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"mand", MS_MANDLOCK, 0},
    {"nomand", 0, MS_MANDLOCK},
    {"defaults", 0, 0},
};

static const struct {
  const char *name;
  unsigned long value;
} propagation_opts[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

#define NELEM(a) (sizeof(a) / sizeof *(a))

/* One option: a flag, a propagation, bind/rbind/idmap; false for data. */
static bool known_option(const char *o, ctr_mount_t *m) {
  for (size_t i = 0; i < NELEM(flag_opts); i++)
    if (strcmp(flag_opts[i].name, o) == 0) {
      m->flags = (m->flags | flag_opts[i].set) & ~flag_opts[i].clear;
      return true;
    }
  for (size_t i = 0; i < NELEM(propagation_opts); i++)
    if (strcmp(propagation_opts[i].name, o) == 0) {
      m->propagation = propagation_opts[i].value;
      return true;
    }
  if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
    m->bind = true;
    m->flags |= o[0] == 'r' ? MS_REC : 0;
    return true;
  }
  if (strcmp(o, "idmap") == 0 || strcmp(o, "ridmap") == 0) {
    m->idmap = true; /* with a user namespace (rbind: the whole tree) */
    return true;
  }
  return false;
}

/* The options: flags into m, the others joined with ',' as the data. */
static int read_options(ctr_oci_t *c, json_t *mt, const char *where, ctr_mount_t *m,
                        ctr_error_t *err) {
  char **opts = NULL;
  char buf[OCI_PATH_MAX], obuf[OCI_PATH_MAX];
  if (oci_strv(c, mt, "options", where, &opts, err) < 0)
    return -1;
  size_t len = 0;
  for (size_t i = 0; opts && opts[i]; i++)
    len += strlen(opts[i]) + 1;
  char *data = oci_alloc(c, len + 1, 1, err);
  if (data == NULL)
    return -1;
  char *end = data;
  for (size_t i = 0; opts && opts[i]; i++) {
    if (known_option(opts[i], m))
      continue;
    if (opts[i][0] == '\0' || strchr(opts[i], ','))
      return oci_bad(err, oci_index(buf, oci_field(obuf, where, "options"), i),
                     "\"%s\" is not a mount option", opts[i]);
    if (end != data)
      *end++ = ',';
    size_t n = strlen(opts[i]);
    memcpy(end, opts[i], n);
    end += n;
  }
  *end = '\0';
  m->data = end != data ? data : NULL;
  return 0;
}

static int read_mount(ctr_oci_t *c, json_t *mt, const char *where, ctr_mount_t *m,
                      ctr_error_t *err) {
  static const char *const keys[] = {"destination", "type", "source", "options", NULL};
  static const char *const todo[] = {"uidMappings", "gidMappings", NULL};
  char buf[OCI_PATH_MAX];
  m->type = "bind";
  if (oci_keys(mt, where, keys, todo, err) < 0 ||
      oci_string(mt, "destination", where, &m->destination, err) < 0 ||
      oci_string(mt, "type", where, &m->type, err) < 0 ||
      oci_string(mt, "source", where, &m->source, err) < 0 ||
      read_options(c, mt, where, m, err) < 0)
    return -1;
  if (m->destination == NULL || m->destination[0] != '/')
    return oci_bad(err, oci_field(buf, where, "destination"), "must be an absolute path");
  if (m->type[0] == '\0')
    m->type = "bind";
  if (strcmp(m->type, "bind") == 0)
    m->bind = true;
  if (m->bind && (m->source == NULL || m->source[0] == '\0'))
    return oci_bad(err, oci_field(buf, where, "source"), "a bind mount needs a source");
  return 0;
}

int oci_mounts(ctr_oci_t *c, json_t *mounts, ctr_error_t *err) {
  char where[OCI_PATH_MAX];
  if (oci_array(mounts, "mounts", err) < 0)
    return -1;
  size_t n = json_is_array(mounts) ? json_array_size(mounts) : 0;
  ctr_mount_t *m = oci_alloc(c, n, sizeof *m, err);
  if (m == NULL)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (read_mount(c, json_array_get(mounts, i), oci_index(where, "mounts", i), &m[i], err) < 0)
      return -1;
  c->spawn.mounts = m;
  c->spawn.nmounts = n;
  return 0;
}
