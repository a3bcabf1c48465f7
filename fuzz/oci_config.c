/* oci_config.c - libFuzzer target: the core's runtime-spec config parser
 * (core/oci_config.h), without spawning anything.
 *
 * The input is JSON text (a config.json): ctr_oci_parse either fills the
 * structures or fails with an error naming a field; the same text is also
 * tried as a process object (exec) and as a linux.seccomp object. Properties:
 * no crash, no memory error or leak (ASan), no undefined behaviour (UBSan);
 * a filled structure is consistent (every string readable, every list
 * NULL-terminated, counts matching their arrays); a failure has a message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci_config.h"

static size_t touch(const char *s) {
  return s ? strlen(s) : 0;
}

static size_t touch_list(char **v) {
  size_t n = 0;
  for (; v && *v; v++)
    n += strlen(*v) + 1;
  return n;
}

static void broken(const char *what) {
  fprintf(stderr, "fuzz_oci: property broken: %s\n", what);
  abort();
}

static size_t walk_process(const ctr_oci_t *o) {
  const ctr_process_t *p = &o->spawn.proc;
  if (p->argv == NULL || p->argv[0] == NULL || p->env == NULL || p->cwd == NULL)
    broken("accepted a process without args, env or cwd");
  size_t n = touch_list(p->argv) + touch_list(p->env) + touch(p->cwd);
  for (size_t i = 0; i < p->ngroups; i++)
    n += p->groups[i] & 1;
  for (size_t i = 0; i < o->spawn.nrlimits; i++)
    n += (size_t)o->spawn.rlimits[i].resource + (o->spawn.rlimits[i].lim.rlim_cur & 1);
  return n;
}

static size_t walk_seccomp(const ctr_seccomp_cfg_t *s) {
  size_t n = touch(s->default_action) + touch_list(s->architectures) + touch_list(s->flags);
  for (size_t i = 0; i < s->nrules; i++) {
    n += touch_list(s->rules[i].names) + touch(s->rules[i].action);
    for (size_t j = 0; j < s->rules[i].nargs; j++)
      n += touch(s->rules[i].args[j].op) + s->rules[i].args[j].index;
  }
  return n;
}

/* Read every field a spawn would read; ASan reports what is not there. */
static size_t walk(const ctr_oci_t *o) {
  const ctr_spawn_cfg_t *c = &o->spawn;
  size_t n = walk_process(o) + touch(c->rootfs) + touch(c->overlay_lower) +
             touch(c->overlay_upper) + touch(c->overlay_work) + touch(c->hostname) +
             touch(c->domainname) + touch(c->uid_map) + touch(c->gid_map);
  if (c->rootfs == NULL)
    broken("accepted a config without root.path");
  if (c->njoin_ns > sizeof c->join_ns / sizeof c->join_ns[0])
    broken("njoin_ns overflows join_ns");
  for (size_t i = 0; i < c->njoin_ns; i++)
    n += touch(c->join_ns[i].path);
  for (size_t i = 0; i < c->nmounts; i++)
    n += touch(c->mounts[i].source) + touch(c->mounts[i].destination) + touch(c->mounts[i].type) +
         touch(c->mounts[i].data);
  n += touch_list(c->masked_paths) + touch_list(c->readonly_paths) + touch_list(c->sysctl);
  for (size_t i = 0; i < c->ndevices; i++)
    n += touch(c->devices[i].path) + (size_t)c->devices[i].type;
  return n + (o->has_seccomp ? walk_seccomp(&o->seccomp) : 0);
}

static void failed(const ctr_error_t *err) {
  if (err->msg[0] == '\0')
    broken("a failure without a message");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  ctr_oci_t o;
  ctr_error_t err;
  volatile size_t sink = 0;
  err.msg[0] = '\0';
  if (ctr_oci_parse(text, size, "/bundle", &o, &err) == 0) {
    sink += walk(&o);
    ctr_oci_free(&o);
  } else {
    failed(&err);
  }
  err.msg[0] = '\0';
  if (ctr_oci_parse_process(text, size, &o, &err) == 0) {
    sink += walk_process(&o);
    ctr_oci_free(&o);
  } else {
    failed(&err);
  }
  err.msg[0] = '\0';
  if (ctr_oci_parse_seccomp(text, size, &o, &err) == 0) {
    if (!o.has_seccomp)
      broken("a parsed seccomp object without has_seccomp");
    sink += walk_seccomp(&o.seccomp);
    ctr_oci_free(&o);
  } else {
    failed(&err);
  }
  (void)sink;
  return 0;
}
