/* pty.h - pseudo-terminals: openpty, raw mode and restore, window size,
 * controlling terminal. */
#ifndef CTR_PTY_H
#define CTR_PTY_H

#include <stddef.h>
#include <termios.h>

#include "error.h"

/* A new pty pair (both close-on-exec, O_NOCTTY); the slave's path into name. */
int ctr_openpty(int *master, int *slave, char *name, size_t size, ctr_error_t *err);
/* ptsname_r of a master into buf. */
int ctr_ptsname(int master, char *buf, size_t size, ctr_error_t *err);
/* Put fd in raw mode (cfmakeraw), saving the previous settings in *saved. */
int ctr_make_raw(int fd, struct termios *saved, ctr_error_t *err);
/* tcgetattr / tcsetattr(TCSANOW). */
int ctr_tcgetattr(int fd, struct termios *t, ctr_error_t *err);
int ctr_tcsetattr(int fd, const struct termios *t, ctr_error_t *err);
/* TIOCGWINSZ / TIOCSWINSZ. */
int ctr_get_winsize(int fd, unsigned short *rows, unsigned short *cols, ctr_error_t *err);
int ctr_set_winsize(int fd, unsigned short rows, unsigned short cols, ctr_error_t *err);
/* Make fd the controlling terminal of the calling process (TIOCSCTTY); with
 * new_session, call setsid() first (which fails for a group leader). */
int ctr_set_ctty(int fd, int new_session, ctr_error_t *err);

#endif
