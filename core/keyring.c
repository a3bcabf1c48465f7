/* keyring.c - join a new session keyring. See keyring.h. */
#include "keyring.h"

#include <errno.h>
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int ctr_join_session_keyring(ctr_error_t *err) {
  if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, (char *)NULL, 0, 0, 0) < 0 &&
      errno != ENOSYS)
    return ctr_fail_errno(err, "join a new session keyring (keyctl KEYCTL_JOIN_SESSION_KEYRING)");
  return 0;
}
