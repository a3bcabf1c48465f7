/* ctr_http.h - HTTP(S) transfers with libcurl, sha256 with libcrypto.
 * Only linked into the ctr.http Lua module (registry client). */
#ifndef CTR_HTTP_H
#define CTR_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "ctr_sha256.h"
#include "error.h"

/* One request. Everything is borrowed for the duration of the call. */
typedef struct ctr_http_req {
  const char *method;         /* "GET", "HEAD", "PUT", "POST", "PATCH" */
  const char *url;            /* http:// or https:// only */
  const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL */
  const char *body;           /* request body in memory, or NULL */
  size_t body_len;            /* its length (or the length of body_fd's data) */
  int body_fd;                /* request body read from this fd (-1: none) */
  int out_fd;                 /* response body written here (-1: kept in memory) */
  uint64_t max_body;          /* the response body may not exceed this */
  const char *cainfo;         /* an extra CA certificate file, or NULL */
  long timeout;               /* seconds for the whole transfer (0: none) */
  int follow;                 /* follow redirects (GET of blobs) */
} ctr_http_req_t;

/* Its result. free with ctr_http_resp_free. */
typedef struct ctr_http_resp {
  long status;   /* HTTP status, 0 when the transfer failed */
  char *error;   /* why the transfer failed, or NULL */
  char *headers; /* the final response's header lines */
  size_t headers_len;
  char *body; /* the body when kept in memory */
  size_t body_len;
  uint64_t size;   /* bytes of body received */
  char sha256[65]; /* hex sha256 of the body received */
} ctr_http_resp_t;

/* Callbacks of a batch (each may be NULL): done after each transfer
 * finishes; progress with the bytes received so far and the expected total
 * (0: unknown), at most every 200 ms per transfer. */
typedef void (*ctr_http_done_fn)(size_t index, const ctr_http_resp_t *resp, void *ctx);
typedef void (*ctr_http_progress_fn)(size_t index, uint64_t now, uint64_t total, void *ctx);
typedef struct ctr_http_cbs {
  ctr_http_done_fn done;
  ctr_http_progress_fn progress;
  void *ctx;
} ctr_http_cbs_t;

/* Perform n requests, at most parallel at a time (curl multi). Every
 * response is filled (status 0 and error set when that one failed); the
 * return is -1 only when the batch could not run at all. */
int ctr_http_perform(const ctr_http_req_t *reqs, ctr_http_resp_t *resps, size_t n, size_t parallel,
                     const ctr_http_cbs_t *cbs, ctr_error_t *err);

void ctr_http_resp_free(ctr_http_resp_t *r);

#endif
