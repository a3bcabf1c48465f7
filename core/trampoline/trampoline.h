/* trampoline.h - what core/selfexec.c and the trampoline agree on. */
#ifndef CTR_TRAMPOLINE_H
#define CTR_TRAMPOLINE_H

/* argv[0] the trampoline must be given: run any other way, it refuses. */
#define CTR_TRAMPOLINE_ARGV0 "luac-ctr-exec-trampoline"

/* argv[0] of the trampoline's init mode (core/init.c). */
#define CTR_INIT_ARGV0 "luac-ctr-init"

/* The layout of core/spawn.c's struct sync_msg ('F' + errno + message). */
struct ctr_tramp_msg {
  char kind;
  int errnum;
  char msg[512];
};

#endif
