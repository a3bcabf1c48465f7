/* tar_extract.c - libFuzzer target: ctr_archive_extract_fd (core/archive.c,
 * what `import` and image layers use) on hostile archives.
 *
 * Each input is extracted into <base>/target, a fresh directory; <base>
 * also holds a canary file and an empty directory "outside". Property: the
 * extraction fails or succeeds without a crash or memory error, and
 * nothing outside target changed (base lists exactly target, outside and
 * canary; outside is empty; the canary is intact). Absolute paths are
 * refused by the extractor; tools/fuzz.sh runs this target in a private
 * mount namespace with base on a tmpfs so that a bug cannot reach the host.
 *
 * libFuzzer's interface is process-global: the base path is the one global. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctr_archive.h"

#define CANARY "do not touch\n"

static char fuzz_base[4096];

static void die(const char *what) {
  fprintf(stderr, "fuzz_tar: %s: %s\n", what, strerror(errno));
  abort();
}

static void broken(const char *what, const char *name) {
  fprintf(stderr, "fuzz_tar: property broken: %s %s\n", what, name);
  abort();
}

static void path(char *out, size_t n, const char *name) {
  if ((size_t)snprintf(out, n, "%s/%s", fuzz_base, name) >= n)
    die("path too long");
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

static void remove_tree(const char *name) {
  char p[4200];
  path(p, sizeof p, name);
  if (nftw(p, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
    die("remove the extracted tree");
}

static void check_outside(void) {
  DIR *d = opendir(fuzz_base);
  if (d == NULL)
    die("open the base");
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    const char *n = e->d_name;
    if (strcmp(n, ".") && strcmp(n, "..") && strcmp(n, "target") && strcmp(n, "outside") &&
        strcmp(n, "canary"))
      broken("an entry appeared beside the target:", n);
  }
  closedir(d);
  char p[4200], buf[64] = {0};
  path(p, sizeof p, "outside");
  if (rmdir(p) < 0)
    broken("the outside directory is not empty or gone:", strerror(errno));
  if (mkdir(p, 0755) < 0)
    die("recreate outside");
  path(p, sizeof p, "canary");
  int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || read(fd, buf, sizeof buf - 1) < 0 || strcmp(buf, CANARY) != 0)
    broken("the canary changed", p);
  close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  const char *tmp = getenv("FUZZ_TAR_BASE");
  snprintf(fuzz_base, sizeof fuzz_base, "%s/fuzz-tar.XXXXXX", tmp ? tmp : "/tmp");
  if (mkdtemp(fuzz_base) == NULL)
    die("make the base directory");
  char p[4200];
  path(p, sizeof p, "outside");
  if (mkdir(p, 0755) < 0)
    die("make outside");
  path(p, sizeof p, "canary");
  int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, CANARY, strlen(CANARY)) < 0)
    die("write the canary");
  close(fd);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char target[4200];
  path(target, sizeof target, "target");
  if (mkdir(target, 0755) < 0)
    die("make the target");
  int fd = memfd_create("fuzz-tar", MFD_CLOEXEC);
  if (fd < 0)
    die("memfd_create");
  if (size && write(fd, data, size) != (ssize_t)size)
    die("write the input");
  if (lseek(fd, 0, SEEK_SET) < 0)
    die("rewind the input");
  ctr_error_t err;
  ctr_archive_extract_fd(fd, target, &err); /* failing is fine; escaping is not */
  close(fd);
  check_outside();
  remove_tree("target");
  return 0;
}
