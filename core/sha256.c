/* sha256.c - sha256 digests with OpenSSL's libcrypto (EVP). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr_sha256.h"

CTR_DEFINE_CLEANUP(md_freep, EVP_MD_CTX, EVP_MD_CTX_free)
#define cleanup_md __attribute__((cleanup(md_freep)))

static void to_hex(const unsigned char *md, unsigned len, char hex[65]) {
  static const char digits[] = "0123456789abcdef";
  for (unsigned i = 0; i < len && i < 32; i++) {
    hex[2 * i] = digits[md[i] >> 4];
    hex[2 * i + 1] = digits[md[i] & 15];
  }
  hex[64] = '\0';
}

static int finish(EVP_MD_CTX *c, char hex[65], ctr_error_t *err) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_DigestFinal_ex(c, md, &len) != 1 || len != 32)
    return ctr_fail(err, EIO, "sha256: EVP_DigestFinal_ex failed");
  to_hex(md, len, hex);
  return 0;
}

int ctr_sha256_hex(const void *data, size_t len, char hex[65], ctr_error_t *err) {
  cleanup_md EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
      EVP_DigestUpdate(c, data, len) != 1)
    return ctr_fail(err, ENOMEM, "sha256: cannot start a digest");
  return finish(c, hex, err);
}

int ctr_sha256_file(const char *path, char hex[65], uint64_t *size, ctr_error_t *err) {
  cleanup_fd int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return ctr_fail_errno(err, "sha256: open %s", path);
  cleanup_md EVP_MD_CTX *c = EVP_MD_CTX_new();
  if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
    return ctr_fail(err, ENOMEM, "sha256: cannot start a digest");
  const size_t bufsize = 256 * 1024;
  cleanup_free char *buf = malloc(bufsize);
  if (buf == NULL)
    return ctr_fail_errno(err, "sha256: %s", path);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, bufsize);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return ctr_fail_errno(err, "sha256: read %s", path);
    if (n == 0)
      break;
    if (EVP_DigestUpdate(c, buf, (size_t)n) != 1)
      return ctr_fail(err, EIO, "sha256: digest update failed");
    total += (uint64_t)n;
  }
  if (size)
    *size = total;
  return finish(c, hex, err);
}

struct ctr_sha256 {
  EVP_MD_CTX *md;
};

ctr_sha256_t *ctr_sha256_new(ctr_error_t *err) {
  ctr_sha256_t *h = calloc(1, sizeof *h);
  if (h == NULL) {
    ctr_fail_errno(err, "sha256: allocate a digest");
    return NULL;
  }
  h->md = EVP_MD_CTX_new();
  if (h->md == NULL || EVP_DigestInit_ex(h->md, EVP_sha256(), NULL) != 1) {
    ctr_sha256_free(h);
    ctr_fail(err, ENOMEM, "sha256: cannot start a digest");
    return NULL;
  }
  return h;
}

int ctr_sha256_update(ctr_sha256_t *h, const void *data, size_t len, ctr_error_t *err) {
  if (EVP_DigestUpdate(h->md, data, len) != 1)
    return ctr_fail(err, EIO, "sha256: digest update failed");
  return 0;
}

int ctr_sha256_final(ctr_sha256_t *h, char hex[65], ctr_error_t *err) {
  return finish(h->md, hex, err);
}

void ctr_sha256_free(ctr_sha256_t *h) {
  if (h == NULL)
    return;
  if (h->md)
    EVP_MD_CTX_free(h->md);
  free(h);
}
