/* ns.h - namespaces: unshare, setns (by fd or by pid + names), namespace
 * fds and ids. Names are the /proc/<pid>/ns entries: user mnt uts ipc net
 * pid cgroup time. */
#ifndef CTR_NS_H
#define CTR_NS_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* CLONE_NEW* flag for a namespace name ("mnt", ...); 0 when unknown. */
unsigned long ctr_ns_flag(const char *name);
/* The i-th namespace name in join order (user first, mnt last), NULL past the end. */
const char *ctr_ns_name_at(int i, unsigned long *flag);
/* unshare(2). */
int ctr_unshare(unsigned long flags, ctr_error_t *err);
/* setns(2); nstype 0 accepts any namespace type. */
int ctr_setns(int fd, unsigned long nstype, ctr_error_t *err);
/* Open /proc/<pid>/ns/<name> (pid <= 0: self); returns the fd. */
int ctr_ns_open(pid_t pid, const char *name, ctr_error_t *err);
/* Join the namespaces of pid named by flags (CLONE_NEW* bits): all are opened
 * first, then joined user first and mnt last. Namespaces we already share with
 * pid are skipped (joining one's own user namespace fails). */
int ctr_setns_pid(pid_t pid, unsigned long flags, ctr_error_t *err);
/* The ns link text, e.g. "mnt:[4026531840]", into buf. */
int ctr_ns_id(pid_t pid, const char *name, char *buf, size_t size, ctr_error_t *err);

#endif
