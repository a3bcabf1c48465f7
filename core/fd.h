/* fd.h - file descriptors: open/close/dup, pipes, read/write, fd flags,
 * poll, unix socketpairs and passing fds over them (SCM_RIGHTS). */
#ifndef CTR_FD_H
#define CTR_FD_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* open(2); returns the new fd. */
int ctr_open(const char *path, int flags, mode_t mode, ctr_error_t *err);
/* close(2); EINTR is not retried (the fd is gone either way on Linux). */
int ctr_close(int fd, ctr_error_t *err);
/* dup(2) with F_DUPFD_CLOEXEC when cloexec; returns the new fd. */
int ctr_dup(int fd, int cloexec, ctr_error_t *err);
/* dup3(2) (dup2 when old == new or !cloexec); returns newfd. */
int ctr_dup2(int oldfd, int newfd, int cloexec, ctr_error_t *err);
/* pipe2(2): fds[0] read end, fds[1] write end. */
int ctr_pipe(int fds[2], int flags, ctr_error_t *err);
/* read(2); returns bytes read (0 at EOF). A signal fails it with EINTR (not
 * retried: ctr.core checks for an interrupt, then reads again). */
ssize_t ctr_read(int fd, void *buf, size_t n, ctr_error_t *err);
/* write(2) of the whole buffer, retried on EINTR and short writes; a
 * non-blocking fd that fills up returns the bytes written so far (or fails
 * with EAGAIN when none were). */
ssize_t ctr_write(int fd, const void *buf, size_t n, ctr_error_t *err);
/* write(2) of all n bytes of p, retried on EINTR and short writes: 0, or -1
 * with errno (EAGAIN included). For callers that make their own message. */
int ctr_write_all(int fd, const void *p, size_t n);
/* Set or clear FD_CLOEXEC / O_NONBLOCK. */
int ctr_set_cloexec(int fd, int on, ctr_error_t *err);
int ctr_set_nonblock(int fd, int on, ctr_error_t *err);
/* poll(2); returns the ready count. A signal fails it with EINTR (not retried:
 * the caller checks for an interrupt and polls again with what is left). */
int ctr_poll(struct pollfd *fds, size_t n, int timeout_ms, ctr_error_t *err);
/* isatty(3): 1 or 0 (never fails). */
int ctr_isatty(int fd);
/* socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC). */
int ctr_socketpair(int sv[2], ctr_error_t *err);
/* Send fd over a unix socket with SCM_RIGHTS (one byte of payload). */
int ctr_send_fd(int sock, int fd, ctr_error_t *err);
/* One sendmsg(2) (MSG_NOSIGNAL, EINTR not retried) of the byte tag with fd
 * (SCM_RIGHTS): what sendmsg returns, -1 with errno. For protocols whose
 * first byte says what the fd is (core/spawn.c's sync socket). */
ssize_t ctr_sendmsg_fd(int sock, char tag, int fd);
/* Receive one fd sent by ctr_send_fd; returns it (close-on-exec). */
int ctr_recv_fd(int sock, ctr_error_t *err);

/* AF_UNIX stream sockets by path (runc's --console-socket): connect to one,
 * or bind and listen on a new one (mode 0600). Close-on-exec. */
int ctr_unix_connect(const char *path, ctr_error_t *err);
int ctr_unix_listen(const char *path, ctr_error_t *err);
/* accept(2) one connection (close-on-exec). */
int ctr_unix_accept(int sock, ctr_error_t *err);

#endif
