/* oci_internal.h - helpers shared by the runtime-spec parser's files
 * (oci_config.c: the document and its top level; oci_process.c; oci_mounts.c;
 * oci_linux.c; oci_seccomp.c). Every reader takes the JSON path of what it reads
 * (`where`, e.g. "mounts[3]") for its errors. */
#ifndef CTR_OCI_INTERNAL_H
#define CTR_OCI_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "oci_config.h"

#define OCI_PATH_MAX 256
#define OCI_MAX_ID 2147483647LL

/* Fail with "where: <fmt>"; returns -1. */
int oci_bad(ctr_error_t *err, const char *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "where.key" / "where[i]" into buf (truncated if very long). */
const char *oci_field(char buf[OCI_PATH_MAX], const char *where, const char *key);
const char *oci_index(char buf[OCI_PATH_MAX], const char *where, size_t i);

/* n zeroed elements of size bytes owned by c (n may be 0: a valid pointer). */
void *oci_alloc(ctr_oci_t *c, size_t n, size_t size, ctr_error_t *err);

/* v is an object (an empty array is taken for {} too: Lua's encoder writes
 * an empty table as []); each key is in known (a NULL-terminated list), or in
 * todo and empty (not implemented: refused when set). */
int oci_keys(json_t *v, const char *where, const char *const *known, const char *const *todo,
             ctr_error_t *err);

/* Whether v is absent, null, false, "", 0, [] or {} (an unset field). */
bool oci_empty(const json_t *v);

/* Is v (absent/null: an empty one) usable as an array / object? */
int oci_array(json_t *v, const char *where, ctr_error_t *err);

/* obj.key as a string (absent or null: *out left alone); no NUL inside. */
int oci_string(json_t *obj, const char *key, const char *where, const char **out, ctr_error_t *err);

/* obj.key as an integer in min..max (absent or null: *out left alone,
 * *present false when present is given). */
int oci_int(json_t *obj, const char *key, const char *where, long long min, long long max,
            long long *out, bool *present, ctr_error_t *err);

int oci_bool(json_t *obj, const char *key, const char *where, bool *out, ctr_error_t *err);

/* obj.key, an array of strings, as a NULL-terminated vector (absent: *out NULL). */
int oci_strv(ctr_oci_t *c, json_t *obj, const char *key, const char *where, char ***out,
             ctr_error_t *err);

/* The parts (each checks its own keys). */
int oci_process(ctr_oci_t *c, json_t *p, ctr_error_t *err);
int oci_mounts(ctr_oci_t *c, json_t *mounts, ctr_error_t *err);
int oci_linux(ctr_oci_t *c, json_t *l, ctr_error_t *err);
int oci_seccomp(ctr_oci_t *c, json_t *s, const char *where, ctr_error_t *err);

#endif
