/* http.c - HTTP(S) transfers with libcurl's multi interface: bodies to
 * memory (bounded) or to a file, sha256 of every body as it arrives. */
#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "ctr_http.h"

#define MAX_HEADERS (64 * 1024)
#define SYSTEM_CAPATH "/etc/ssl/certs"

/* One transfer in flight. */
typedef struct xfer {
  const ctr_http_req_t *req;
  ctr_http_resp_t *resp;
  CURL *easy;
  struct curl_slist *hdrs;
  EVP_MD_CTX *md;
  size_t body_cap;
  int overflow; /* body over max_body, or a write failed */
  size_t index;
  const ctr_http_cbs_t *cbs;
  double last_progress; /* monotonic seconds of the last progress call */
  char errbuf[CURL_ERROR_SIZE];
} xfer_t;

static int set_error(ctr_http_resp_t *r, const char *msg) {
  if (r->error == NULL)
    r->error = strdup(msg);
  return -1;
}

static int keep_body(xfer_t *x, const char *p, size_t n) {
  ctr_http_resp_t *r = x->resp;
  if (r->body_len + n + 1 > x->body_cap) {
    size_t cap = x->body_cap ? x->body_cap * 2 : 16384;
    while (cap < r->body_len + n + 1)
      cap *= 2;
    char *b = realloc(r->body, cap);
    if (b == NULL)
      return set_error(r, "out of memory for the response body");
    r->body = b;
    x->body_cap = cap;
  }
  memcpy(r->body + r->body_len, p, n);
  r->body_len += n;
  r->body[r->body_len] = '\0';
  return 0;
}

static int write_fully(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static size_t on_body(char *p, size_t sz, size_t nm, void *ud) {
  xfer_t *x = ud;
  size_t n = sz * nm;
  ctr_http_resp_t *r = x->resp;
  if (r->size + n > x->req->max_body) {
    x->overflow = 1;
    set_error(r, "the response is larger than expected");
    return 0;
  }
  if (x->req->out_fd >= 0 ? write_fully(x->req->out_fd, p, n) < 0 : keep_body(x, p, n) < 0) {
    x->overflow = 1;
    if (x->req->out_fd >= 0) {
      char msg[256];
      snprintf(msg, sizeof msg, "write the download: %s", strerror(errno));
      set_error(r, msg);
    }
    return 0;
  }
  EVP_DigestUpdate(x->md, p, n);
  r->size += n;
  return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud) {
  xfer_t *x = ud;
  ctr_http_resp_t *r = x->resp;
  size_t n = sz * nm;
  if (n >= 5 && strncmp(p, "HTTP/", 5) == 0)
    r->headers_len = 0; /* a new response (after a redirect or 100) */
  if (r->headers_len + n + 1 > MAX_HEADERS)
    return 0;
  if (r->headers == NULL && (r->headers = malloc(MAX_HEADERS)) == NULL)
    return 0;
  memcpy(r->headers + r->headers_len, p, n);
  r->headers_len += n;
  r->headers[r->headers_len] = '\0';
  return n;
}

static size_t on_read(char *p, size_t sz, size_t nm, void *ud) {
  const ctr_http_req_t *req = ud;
  ssize_t n;
  do
    n = read(req->body_fd, p, sz * nm);
  while (n < 0 && errno == EINTR);
  return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
  xfer_t *x = ud;
  (void)ultotal;
  (void)ulnow;
  double t = now_s();
  if (dlnow <= 0 || t - x->last_progress < 0.2)
    return 0;
  x->last_progress = t;
  x->cbs->progress(x->index, (uint64_t)dlnow, (uint64_t)(dltotal > 0 ? dltotal : 0), x->cbs->ctx);
  return 0;
}

/* The method and body options of x's request. */
static void set_method(xfer_t *x) {
  const ctr_http_req_t *q = x->req;
  CURL *e = x->easy;
  if (strcmp(q->method, "HEAD") == 0) {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else if (strcmp(q->method, "GET") != 0) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, q->method);
    if (q->body_fd >= 0) {
      curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(e, CURLOPT_READDATA, (void *)q);
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
    } else {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, q->body ? q->body : "");
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(q->body ? q->body_len : 0));
    }
  }
}

static int setup(xfer_t *x) {
  const ctr_http_req_t *q = x->req;
  CURL *e = x->easy = curl_easy_init();
  x->md = EVP_MD_CTX_new();
  if (e == NULL || x->md == NULL || EVP_DigestInit_ex(x->md, EVP_sha256(), NULL) != 1)
    return set_error(x->resp, "cannot start a transfer (out of memory)");
  for (const char *const *h = q->headers; h && *h; h++) {
    struct curl_slist *n = curl_slist_append(x->hdrs, *h);
    if (n == NULL)
      return set_error(x->resp, "out of memory for the request headers");
    x->hdrs = n;
  }
  curl_easy_setopt(e, CURLOPT_URL, q->url);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "luac-ctr");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, q->follow ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT, q->timeout);
  if (q->cainfo) {
    curl_easy_setopt(e, CURLOPT_CAINFO, q->cainfo);
    curl_easy_setopt(e, CURLOPT_CAPATH, SYSTEM_CAPATH);
  }
  if (x->cbs && x->cbs->progress) {
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  }
  set_method(x);
  return 0;
}

static void finish_one(xfer_t *x, CURLcode rc) {
  ctr_http_resp_t *r = x->resp;
  if (rc != CURLE_OK) {
    if (!x->overflow)
      set_error(r, x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
    r->status = 0;
    return;
  }
  curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_DigestFinal_ex(x->md, md, &len) == 1 && len == 32) {
    for (unsigned i = 0; i < 32; i++)
      snprintf(r->sha256 + 2 * i, 3, "%02x", md[i]);
  }
}

static void xfer_free(xfer_t *x) {
  if (x->easy)
    curl_easy_cleanup(x->easy);
  curl_slist_free_all(x->hdrs);
  if (x->md)
    EVP_MD_CTX_free(x->md);
  memset(x, 0, sizeof *x);
}

CTR_DEFINE_CLEANUP(multi_freep, CURLM, curl_multi_cleanup)

/* Start transfer i (setup failures finish it at once). */
static int start(CURLM *m, xfer_t *xs, size_t i, const ctr_http_cbs_t *cbs) {
  xs[i].index = i;
  xs[i].cbs = cbs;
  if (setup(&xs[i]) < 0 || curl_multi_add_handle(m, xs[i].easy) != CURLM_OK) {
    set_error(xs[i].resp, "cannot start the transfer");
    if (cbs && cbs->done)
      cbs->done(i, xs[i].resp, cbs->ctx);
    return 0;
  }
  return 1;
}

/* Collect finished transfers; returns how many finished. */
static size_t reap(CURLM *m, const xfer_t *xs, const ctr_http_cbs_t *cbs) {
  size_t finished = 0;
  int left;
  CURLMsg *msg;
  while ((msg = curl_multi_info_read(m, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    xfer_t *x = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
    CURLcode rc = msg->data.result;
    curl_multi_remove_handle(m, msg->easy_handle);
    finish_one(x, rc);
    if (cbs && cbs->done)
      cbs->done((size_t)(x - xs), x->resp, cbs->ctx);
    xfer_free(x);
    finished++;
  }
  return finished;
}

static int run(CURLM *m, xfer_t *xs, const ctr_http_req_t *reqs, ctr_http_resp_t *resps, size_t n,
               size_t parallel, const ctr_http_cbs_t *cbs, ctr_error_t *err) {
  size_t next = 0, running = 0, finished = 0;
  while (finished < n) {
    while (next < n && running < (parallel ? parallel : 1)) {
      xs[next].req = &reqs[next];
      xs[next].resp = &resps[next];
      if (start(m, xs, next, cbs)) {
        curl_easy_setopt(xs[next].easy, CURLOPT_PRIVATE, (char *)&xs[next]);
        running++;
      } else {
        xfer_free(&xs[next]);
        finished++;
      }
      next++;
    }
    int still = 0;
    if (curl_multi_perform(m, &still) != CURLM_OK)
      return ctr_fail(err, EIO, "http: curl_multi_perform failed");
    size_t r = reap(m, xs, cbs);
    running -= r;
    finished += r;
    if (still > 0 && curl_multi_poll(m, NULL, 0, 1000, NULL) != CURLM_OK)
      return ctr_fail(err, EIO, "http: curl_multi_poll failed");
  }
  return 0;
}

int ctr_http_perform(const ctr_http_req_t *reqs, ctr_http_resp_t *resps, size_t n, size_t parallel,
                     const ctr_http_cbs_t *cbs, ctr_error_t *err) {
  __attribute__((cleanup(multi_freep))) CURLM *m = curl_multi_init();
  cleanup_free xfer_t *xs = calloc(n ? n : 1, sizeof *xs);
  if (m == NULL || xs == NULL)
    return ctr_fail(err, ENOMEM, "http: cannot start transfers");
  memset(resps, 0, n * sizeof *resps);
  int r = run(m, xs, reqs, resps, n, parallel, cbs, err);
  for (size_t i = 0; i < n; i++) { /* left over when run failed */
    if (xs[i].easy)
      curl_multi_remove_handle(m, xs[i].easy);
    xfer_free(&xs[i]);
  }
  return r;
}

void ctr_http_resp_free(ctr_http_resp_t *r) {
  free(r->error);
  free(r->headers);
  free(r->body);
  memset(r, 0, sizeof *r);
}
