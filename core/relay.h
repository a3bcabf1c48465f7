/* relay.h - move bytes between the caller's fds and a container's pipes.
 *
 * The caller's own stdin/stdout/stderr never enter a container: without a
 * tty the container gets pipes, and the supervisor moves the bytes with
 * these two primitives (splice(2) where both ends allow it, read/write
 * otherwise). The caller's fds are never made non-blocking (their file
 * descriptions are shared with the caller's shell). */
#ifndef CTR_RELAY_H
#define CTR_RELAY_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

#define CTR_RELAY_CHUNK 65536

/* Move what a pipe holds to `to` (a blocking write). Returns the bytes
 * moved, 0 at end of file, -1 with err when reading the pipe failed (EIO:
 * a pty whose slave side is gone). A
 * failing `to` (closed terminal, full disk) makes *to = -1: the pipe is
 * then drained and the data dropped, so the container never blocks on it. */
ssize_t ctr_relay_out(int pipe_fd, int *to, bool *no_splice, ctr_error_t *err);

/* Input towards a container: from `from` (the caller's fd, blocking) into
 * `to` (a pipe write end or pty master, made non-blocking), buffered so
 * that a container that does not read its stdin never blocks the relay. */
typedef struct ctr_pump {
  int from, to;
  bool no_splice; /* from/to do not support splice: read/write */
  bool wait_out;  /* to was full: wait for POLLOUT before reading more */
  size_t off, len;
  char buf[CTR_RELAY_CHUNK];
} ctr_pump_t;

/* Set up a pump; `to` becomes non-blocking. */
int ctr_pump_init(ctr_pump_t *p, int from, int to, ctr_error_t *err);

/* The pollfds the pump waits on (fd -1 when not wanted). */
void ctr_pump_pollfds(const ctr_pump_t *p, struct pollfd *in, struct pollfd *out);

/* One step after poll: returns 1 to go on, 0 when the pump is done: end of
 * file on from (a read error, e.g. EIO from a terminal that hung up, counts
 * as the end of the input, as docker does), or nobody reads `to` any more. */
int ctr_pump_step(ctr_pump_t *p);

#endif
