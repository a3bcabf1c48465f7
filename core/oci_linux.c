/* oci_linux.c - the runtime-spec `linux` object: namespaces (new or joined by
 * path), uidMappings/gidMappings, devices, maskedPaths, readonlyPaths, sysctl,
 * seccomp (oci_seccomp.c). resources and cgroupsPath are the caller's (the
 * cgroup is made on the Lua side); what is not implemented is refused. */
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "oci_internal.h"

static const char *const linux_keys[] = {"namespaces",  "uidMappings",   "gidMappings", "devices",
                                         "maskedPaths", "readonlyPaths", "sysctl",      "seccomp",
                                         "resources",   "cgroupsPath",   NULL};
static const char *const linux_todo[] = {"rootfsPropagation", "mountLabel",  "intelRdt",
                                         "personality",       "timeOffsets", "memoryPolicy",
                                         "netDevices",        NULL};

static const struct {
  const char *name, *proc; /* runtime-spec name, /proc/self/ns name */
  int flag;
} ns_types[] = {{"pid", "pid", CLONE_NEWPID},   {"network", "net", CLONE_NEWNET},
                {"mount", "mnt", CLONE_NEWNS},  {"ipc", "ipc", CLONE_NEWIPC},
                {"uts", "uts", CLONE_NEWUTS},   {"cgroup", "cgroup", CLONE_NEWCGROUP},
                {"user", "user", CLONE_NEWUSER}};
#define NTYPES (sizeof ns_types / sizeof *ns_types)

static int read_namespace(ctr_oci_t *c, json_t *e, const char *where, int *seen, ctr_error_t *err) {
  static const char *const keys[] = {"type", "path", NULL};
  const char *type = NULL, *path = NULL;
  char buf[OCI_PATH_MAX];
  if (oci_keys(e, where, keys, NULL, err) < 0 || oci_string(e, "type", where, &type, err) < 0 ||
      oci_string(e, "path", where, &path, err) < 0)
    return -1;
  size_t i = 0;
  while (type && i < NTYPES && strcmp(ns_types[i].name, type) != 0)
    i++;
  if (type && strcmp(type, "time") == 0)
    return oci_bad(err, oci_field(buf, where, "type"),
                   "time namespaces are not supported by luac-ctr");
  if (type == NULL || i == NTYPES)
    return oci_bad(err, oci_field(buf, where, "type"), "unknown \"%s\"", type ? type : "");
  int flag = ns_types[i].flag;
  if (*seen & flag)
    return oci_bad(err, oci_field(buf, where, "type"), "namespace \"%s\" given twice", type);
  *seen |= flag;
  if (path == NULL) {
    c->spawn.clone_flags |= flag;
    return 0;
  }
  if (path[0] != '/')
    return oci_bad(err, oci_field(buf, where, "path"), "must be an absolute path");
  if (flag == CLONE_NEWUSER)
    return oci_bad(err, oci_field(buf, where, "path"),
                   "joining a user namespace is not supported by luac-ctr");
  if (c->spawn.njoin_ns >= sizeof c->spawn.join_ns / sizeof *c->spawn.join_ns)
    return oci_bad(err, where, "too many namespaces to join");
  c->spawn.join_ns[c->spawn.njoin_ns++] = (ctr_ns_join_t){.path = path, .type = flag};
  return 0;
}

static int read_namespaces(ctr_oci_t *c, json_t *l, ctr_error_t *err) {
  json_t *v = json_object_get(l, "namespaces");
  char where[OCI_PATH_MAX];
  int seen = 0;
  if (oci_array(v, "linux.namespaces", err) < 0)
    return -1;
  for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++)
    if (read_namespace(c, json_array_get(v, i), oci_index(where, "linux.namespaces", i), &seen,
                       err) < 0)
      return -1;
  if (!(c->spawn.clone_flags & CLONE_NEWNS))
    return oci_bad(err, "linux.namespaces", "a new mount namespace is required");
  return 0;
}

/* uidMappings/gidMappings as the "inside outside count" lines of uid_map. */
static int read_idmap(ctr_oci_t *c, json_t *l, const char *key, const char **out,
                      ctr_error_t *err) {
  static const char *const keys[] = {"containerID", "hostID", "size", NULL};
  char where[OCI_PATH_MAX], buf[OCI_PATH_MAX];
  json_t *v = json_object_get(l, key);
  bool userns = (c->spawn.clone_flags & CLONE_NEWUSER) != 0;
  oci_field(where, "linux", key);
  if (oci_array(v, where, err) < 0)
    return -1;
  size_t n = json_is_array(v) ? json_array_size(v) : 0;
  if (n == 0)
    return userns ? oci_bad(err, where, "a user namespace needs id mappings") : 0;
  if (!userns)
    return oci_bad(err, where, "id mappings need a new user namespace");
  if (n > 340)
    return oci_bad(err, where, "at most 340 mappings");
  char *text = oci_alloc(c, n * 36 + 1, 1, err);
  if (text == NULL)
    return -1;
  *out = text;
  for (size_t i = 0; i < n; i++) {
    json_t *e = json_array_get(v, i);
    const char *w = oci_index(buf, where, i);
    long long in = -1, host = -1, size = -1;
    if (oci_keys(e, w, keys, NULL, err) < 0 ||
        oci_int(e, "containerID", w, 0, 4294967294LL, &in, NULL, err) < 0 ||
        oci_int(e, "hostID", w, 0, 4294967294LL, &host, NULL, err) < 0 ||
        oci_int(e, "size", w, 1, 4294967295LL, &size, NULL, err) < 0)
      return -1;
    if (in < 0 || host < 0 || size < 1 || in + size - 1 > 4294967294LL ||
        host + size - 1 > 4294967294LL)
      return oci_bad(err, w, "containerID, hostID, size: integers, ids below 2^32-1");
    text += sprintf(text, "%lld %lld %lld\n", in, host, size);
  }
  return 0;
}

static int read_device(json_t *d, const char *where, ctr_device_t *dv, ctr_error_t *err) {
  static const char *const keys[] = {"path",     "type", "major", "minor",
                                     "fileMode", "uid",  "gid",   NULL};
  const char *type = "c";
  long long major = 0, minor = 0, mode = 0666, uid = 0, gid = 0;
  char buf[OCI_PATH_MAX];
  if (oci_keys(d, where, keys, NULL, err) < 0 || oci_string(d, "path", where, &dv->path, err) < 0 ||
      oci_string(d, "type", where, &type, err) < 0 ||
      oci_int(d, "major", where, 0, 4095, &major, NULL, err) < 0 ||
      oci_int(d, "minor", where, 0, 1048575, &minor, NULL, err) < 0 ||
      oci_int(d, "fileMode", where, 0, 0177777, &mode, NULL, err) < 0 ||
      oci_int(d, "uid", where, 0, OCI_MAX_ID, &uid, NULL, err) < 0 ||
      oci_int(d, "gid", where, 0, OCI_MAX_ID, &gid, NULL, err) < 0)
    return -1;
  if (dv->path == NULL || strncmp(dv->path, "/dev/", 5) != 0 || strstr(dv->path, "/../"))
    return oci_bad(err, oci_field(buf, where, "path"), "must be below /dev");
  if (strcmp(type, "c") != 0 && strcmp(type, "u") != 0 && strcmp(type, "b") != 0)
    return oci_bad(err, oci_field(buf, where, "type"),
                   "\"%s\": only c, u and b devices are supported", type);
  dv->type = type[0] == 'u' ? 'c' : type[0];
  dv->major = (unsigned)major;
  dv->minor = (unsigned)minor;
  dv->mode = (unsigned)mode & 07777;
  dv->uid = (uid_t)uid;
  dv->gid = (gid_t)gid;
  return 0;
}

static int read_devices(ctr_oci_t *c, json_t *l, ctr_error_t *err) {
  json_t *v = json_object_get(l, "devices");
  char where[OCI_PATH_MAX];
  if (oci_array(v, "linux.devices", err) < 0)
    return -1;
  size_t n = json_is_array(v) ? json_array_size(v) : 0;
  if ((c->spawn.devices = oci_alloc(c, n, sizeof *c->spawn.devices, err)) == NULL)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (read_device(json_array_get(v, i), oci_index(where, "linux.devices", i),
                    &c->spawn.devices[i], err) < 0)
      return -1;
  c->spawn.ndevices = n;
  return 0;
}

/* The namespace a sysctl belongs to (runc's list), or NULL: not namespaced. */
static const char *sysctl_ns(const char *name) {
  static const char *const ipc[] = {"kernel.msgmax", "kernel.msgmnb",          "kernel.msgmni",
                                    "kernel.sem",    "kernel.shmall",          "kernel.shmmax",
                                    "kernel.shmmni", "kernel.shm_rmid_forced", NULL};
  for (const char *const *k = ipc; *k; k++)
    if (strcmp(*k, name) == 0)
      return "ipc";
  if (strcmp(name, "kernel.hostname") == 0 || strcmp(name, "kernel.domainname") == 0)
    return "uts";
  if (strncmp(name, "fs.mqueue.", 10) == 0)
    return "ipc";
  if (strncmp(name, "net.", 4) == 0)
    return "network";
  return NULL;
}

/* Whether the container has namespace `type` of its own: a new one, or a
 * path to one that is not ours. */
static bool own_ns(const ctr_spawn_cfg_t *s, const char *type) {
  size_t i = 0;
  while (i < NTYPES && strcmp(ns_types[i].name, type) != 0)
    i++;
  if (i == NTYPES)
    return false;
  if (s->clone_flags & ns_types[i].flag)
    return true;
  for (size_t j = 0; j < s->njoin_ns; j++)
    if (s->join_ns[j].type == ns_types[i].flag) {
      char self[64];
      struct stat a, b;
      snprintf(self, sizeof self, "/proc/self/ns/%s", ns_types[i].proc);
      return stat(s->join_ns[j].path, &a) == 0 && stat(self, &b) == 0 &&
             (a.st_dev != b.st_dev || a.st_ino != b.st_ino);
    }
  return false;
}

static int check_sysctl_name(const ctr_spawn_cfg_t *s, const char *k, const char *where,
                             ctr_error_t *err) {
  size_t n = strlen(k);
  bool ok = n > 1 && k[0] != '.' && k[n - 1] != '.' && strstr(k, "..") == NULL;
  for (size_t i = 0; ok && i < n; i++)
    ok = (k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
         (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '-' || k[i] == '.';
  if (!ok)
    return oci_bad(err, "linux.sysctl", "bad name \"%s\"", k);
  const char *t = sysctl_ns(k);
  if (t == NULL)
    return oci_bad(err, where, "not a namespaced sysctl: it would change the host");
  if (!own_ns(s, t))
    return oci_bad(err, where, "needs a %s namespace of the container's own", t);
  return 0;
}

/* linux.sysctl {name: value} -> "name=value" strings. */
static int read_sysctl(ctr_oci_t *c, json_t *l, ctr_error_t *err) {
  json_t *v = json_object_get(l, "sysctl");
  if (v == NULL || json_is_null(v) || (json_is_array(v) && json_array_size(v) == 0))
    return 0;
  if (!json_is_object(v))
    return oci_bad(err, "linux.sysctl", "must be an object");
  char **kv = oci_alloc(c, json_object_size(v) + 1, sizeof *kv, err);
  size_t n = 0;
  const char *k;
  json_t *e;
  char where[OCI_PATH_MAX];
  if (kv == NULL)
    return -1;
  json_object_foreach(v, k, e) {
    const char *val = NULL;
    if (oci_string(v, k, "linux.sysctl", &val, err) < 0 ||
        check_sysctl_name(&c->spawn, k, oci_field(where, "linux.sysctl", k), err) < 0)
      return -1;
    if (val == NULL)
      return oci_bad(err, where, "must be a string");
    size_t len = strlen(k) + strlen(val) + 2;
    if ((kv[n] = oci_alloc(c, len, 1, err)) == NULL)
      return -1;
    snprintf(kv[n++], len, "%s=%s", k, val);
  }
  c->spawn.sysctl = kv;
  return 0;
}

int oci_linux(ctr_oci_t *c, json_t *l, ctr_error_t *err) {
  json_t *sc;
  if (l == NULL || json_is_null(l))
    return oci_bad(err, "linux.namespaces", "a new mount namespace is required");
  if (oci_keys(l, "linux", linux_keys, linux_todo, err) < 0 || read_namespaces(c, l, err) < 0 ||
      read_idmap(c, l, "uidMappings", &c->spawn.uid_map, err) < 0 ||
      read_idmap(c, l, "gidMappings", &c->spawn.gid_map, err) < 0 || read_devices(c, l, err) < 0 ||
      oci_strv(c, l, "maskedPaths", "linux", &c->spawn.masked_paths, err) < 0 ||
      oci_strv(c, l, "readonlyPaths", "linux", &c->spawn.readonly_paths, err) < 0 ||
      read_sysctl(c, l, err) < 0)
    return -1;
  sc = json_object_get(l, "seccomp");
  if (sc != NULL && !json_is_null(sc) && oci_seccomp(c, sc, "linux.seccomp", err) < 0)
    return -1;
  return 0;
}
