/* oci_config.h - the runtime-spec config.json, parsed and checked by the core.
 *
 * The one contract between the Lua side and C: `luac-ctr run` builds the
 * config in Lua and writes it as JSON, `luac-runc create` takes a bundle's;
 * both hand the JSON (text or a path) to the core, which reads every field it
 * executes here, once, into its own structures (ctr_spawn_cfg_t,
 * ctr_seccomp_cfg_t). Each field is honoured, or rejected with an error that
 * names it ("process.user.uid: not an integer in 0..2147483647",
 * "linux.namespaces[2].type: unknown \"foo\""); a field that is not
 * implemented is refused when it is not empty, never ignored. Fields owned by
 * the caller (ociVersion, annotations, hooks, process.consoleSize,
 * linux.resources, linux.cgroupsPath: cgroups, hooks and the console are set
 * up on the Lua side) are skipped here, and only those.
 *
 * Everything parsed lives in the ctr_oci_t: strings point into the jansson
 * document it keeps, arrays are its allocations; ctr_oci_free() releases all.
 */
#ifndef CTR_OCI_CONFIG_H
#define CTR_OCI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "ctr_seccomp.h"
#include "error.h"
#include "spawn.h"

struct ctr_oci_block;

typedef struct ctr_oci {
  void *json;                   /* the parsed document (json_t *) */
  struct ctr_oci_block *blocks; /* the parser's allocations */
  ctr_spawn_cfg_t spawn;        /* the container (or, for a process alone, spawn.proc/rlimits) */
  ctr_seccomp_cfg_t seccomp;    /* linux.seccomp, when has_seccomp */
  bool has_seccomp;
} ctr_oci_t;

/* Parse a whole config.json (len bytes of text). A relative root.path is
 * taken relative to base (the bundle; NULL: the current directory). Fills
 * out (zeroed first, cgroup_into_fd -1, stdio fds -1); on failure out holds
 * nothing to free. */
int ctr_oci_parse(const char *text, size_t len, const char *base, ctr_oci_t *out, ctr_error_t *err);

/* The same from a file: its directory is the base. */
int ctr_oci_load(const char *path, ctr_oci_t *out, ctr_error_t *err);

/* A runtime-spec process object alone (runc exec --process, luac-ctr exec):
 * out->spawn.proc, rlimits, oom_score_adj (INT32_MIN when not given). */
int ctr_oci_parse_process(const char *text, size_t len, ctr_oci_t *out, ctr_error_t *err);

/* A linux.seccomp object alone: out->seccomp (has_seccomp). */
int ctr_oci_parse_seccomp(const char *text, size_t len, ctr_oci_t *out, ctr_error_t *err);

void ctr_oci_free(ctr_oci_t *c);

#endif
