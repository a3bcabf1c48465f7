/* ctr_sha256.h - sha256 digests with OpenSSL's libcrypto (core/sha256.c).
 * Only linked into the Lua modules that hash: ctr.http (registry blobs) and
 * ctr.archive (a layer's uncompressed content against its diff_id). */
#ifndef CTR_SHA256_H
#define CTR_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* sha256 of len bytes at data, as 64 hex digits plus NUL in hex. */
int ctr_sha256_hex(const void *data, size_t len, char hex[65], ctr_error_t *err);

/* sha256 of the file at path (hex) and its size. */
int ctr_sha256_file(const char *path, char hex[65], uint64_t *size, ctr_error_t *err);

/* A digest fed piece by piece: new, update..., final (hex), free. */
typedef struct ctr_sha256 ctr_sha256_t;
ctr_sha256_t *ctr_sha256_new(ctr_error_t *err);
int ctr_sha256_update(ctr_sha256_t *h, const void *data, size_t len, ctr_error_t *err);
int ctr_sha256_final(ctr_sha256_t *h, char hex[65], ctr_error_t *err);
void ctr_sha256_free(ctr_sha256_t *h);

static inline void ctr_sha256_freep(ctr_sha256_t **h) {
  ctr_sha256_free(*h);
  *h = NULL;
}
#define cleanup_sha256 __attribute__((cleanup(ctr_sha256_freep)))

#endif
