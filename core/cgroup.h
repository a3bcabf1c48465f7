/* cgroup.h - one cgroup per container on cgroup v1, v2 and hybrid layouts.
 *
 * A ctr_cg_layout_t describes the mounted hierarchies (found by statfs on
 * /sys/fs/cgroup and /sys/fs/cgroup/unified plus /proc/self/mountinfo); every
 * other function takes it, so there is no global state. A cgroup is named by
 * a relative path ("luac-ctr/<id>") that exists below every hierarchy's mount
 * point. Each limit goes to the hierarchy that owns its controller: a v1
 * mount that has it (co-mounts like cpu,cpuacct work) or the v2 hierarchy
 * when its root lists it in cgroup.controllers. On hybrid layouts the cgroup
 * is created in the cgroup2 hierarchy too, even when that one has no
 * controllers, so /proc/<pid>/cgroup's 0:: line names the container.
 */
#ifndef CTR_CGROUP_H
#define CTR_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define CTR_CG_MAX_HIER 16
#define CTR_CG_PATH_MAX 512

enum { CTR_CG_V1 = 1, CTR_CG_V2 = 2, CTR_CG_HYBRID = 3 };

typedef struct ctr_cg_hier {
  int version;                 /* 1 or 2 */
  char mount[CTR_CG_PATH_MAX]; /* mount point */
  char controllers[256];       /* comma-separated: "cpu,cpuacct", "name=systemd";
                                  v2: what the root's cgroup.controllers lists */
} ctr_cg_hier_t;

typedef struct ctr_cg_layout {
  int kind; /* CTR_CG_V1, CTR_CG_V2 or CTR_CG_HYBRID */
  int n;    /* hierarchies in hier[] */
  ctr_cg_hier_t hier[CTR_CG_MAX_HIER];
} ctr_cg_layout_t;

/* Limits for ctr_cg_create. 0 / NULL means "not set". */
typedef struct ctr_cg_limits {
  int64_t memory;          /* bytes */
  int64_t memory_swap;     /* memory + swap in bytes (docker), -1 = unlimited swap */
  int64_t cpu_quota;       /* microseconds per period */
  int64_t cpu_period;      /* microseconds, 0 = 100000 */
  const char *cpuset_cpus; /* "0-1"; v1: copied from the parent when NULL */
  const char *cpuset_mems; /* "0";   v1: copied from the parent when NULL */
  int64_t pids;            /* maximum number of tasks, -1 = unlimited */
} ctr_cg_limits_t;

#define CTR_CG_UNKNOWN INT64_MIN

/* Usage figures; CTR_CG_UNKNOWN when the controller is not available. */
typedef struct ctr_cg_stats {
  int64_t memory;     /* bytes charged now */
  int64_t memory_max; /* limit in bytes, -1 unlimited */
  int64_t pids;       /* tasks now */
  int64_t cpu_usec;   /* CPU time consumed */
  int64_t oom_kills;  /* processes killed by the OOM killer in this cgroup */
} ctr_cg_stats_t;

/* Find the mounted hierarchies. */
int ctr_cg_detect(ctr_cg_layout_t *l, ctr_error_t *err);
/* "v1", "v2" or "hybrid". */
const char *ctr_cg_kind_name(int kind);
/* Reject absolute paths, "..", "." and empty components. */
int ctr_cg_check_path(const char *path, ctr_error_t *err);
/* Index of the hierarchy that owns controller name, or -1. */
int ctr_cg_owner(const ctr_cg_layout_t *l, const char *controller);
/* Absolute directory of path in hierarchy i (into buf of size n). */
int ctr_cg_dir(const ctr_cg_layout_t *l, int i, const char *path, char *buf, size_t n,
               ctr_error_t *err);
/* Number of hierarchies where path exists. */
int ctr_cg_exists(const ctr_cg_layout_t *l, const char *path);

/* Create path in every hierarchy (parents as needed) and apply lim. Fails with
 * EEXIST if it exists anywhere (a cgroup is never shared). On failure removes
 * the leaf directories it made. */
int ctr_cg_create(const ctr_cg_layout_t *l, const char *path, const ctr_cg_limits_t *lim,
                  ctr_error_t *err);
/* Apply the set limits of lim to the existing cgroup path (unset ones are left as they are). */
int ctr_cg_update(const ctr_cg_layout_t *l, const char *path, const ctr_cg_limits_t *lim,
                  ctr_error_t *err);
/* Move pid into path on every hierarchy where path exists. */
int ctr_cg_add(const ctr_cg_layout_t *l, const char *path, pid_t pid, ctr_error_t *err);
/* The pids in path (union over the hierarchies), malloc'ed into *out; returns
 * their number. */
ssize_t ctr_cg_pids(const ctr_cg_layout_t *l, const char *path, pid_t **out, ctr_error_t *err);
int ctr_cg_stats(const ctr_cg_layout_t *l, const char *path, ctr_cg_stats_t *st, ctr_error_t *err);
/* Only oom_kills of ctr_cg_stats (one file read): *n is CTR_CG_UNKNOWN when
 * the memory controller or the cgroup's directory in it is missing. */
int ctr_cg_oom_kills(const ctr_cg_layout_t *l, const char *path, int64_t *n, ctr_error_t *err);
/* SIGKILL everything in path (v2: cgroup.kill; then kill(2) in a loop) and
 * wait until it is empty; ETIMEDOUT after timeout_ms. */
int ctr_cg_kill(const ctr_cg_layout_t *l, const char *path, int timeout_ms, ctr_error_t *err);
/* rmdir path on every hierarchy; missing directories are fine; EBUSY when
 * processes are still inside. */
int ctr_cg_remove(const ctr_cg_layout_t *l, const char *path, ctr_error_t *err);

#endif
