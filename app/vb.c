/*
 * Module entry points. The parent maps the shared metrics; each worker then
 * opens its own database pool and Redis connection.
 */

#include "vb.h"

#include <kore/hooks.h>
#include <kore/seccomp.h>

/*
 * libpq, hiredis and libsodium need a few calls beyond Kore's default set,
 * and the argon2id task threads (pwtask.c) the thread-start calls.
 */
KORE_SECCOMP_FILTER("vb",
	KORE_SYSCALL_ALLOW(gettid),
	KORE_SYSCALL_ALLOW(clone),
	KORE_SYSCALL_ALLOW(clone3),
	KORE_SYSCALL_ALLOW(set_robust_list),
	KORE_SYSCALL_ALLOW(rseq),
	KORE_SYSCALL_ALLOW(futex),
	KORE_SYSCALL_ALLOW(mprotect),
	KORE_SYSCALL_ALLOW(munmap),
	KORE_SYSCALL_ALLOW(mmap),
	KORE_SYSCALL_ALLOW(rt_sigprocmask),
	KORE_SYSCALL_ALLOW(sigaltstack),
	KORE_SYSCALL_ALLOW(sched_getaffinity),
	KORE_SYSCALL_ALLOW(exit),
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(socket),
	KORE_SYSCALL_ALLOW(connect),
	KORE_SYSCALL_ALLOW(getsockopt),
	KORE_SYSCALL_ALLOW(setsockopt),
	KORE_SYSCALL_ALLOW(getsockname),
	KORE_SYSCALL_ALLOW(getpeername),
	KORE_SYSCALL_ALLOW(poll),
	KORE_SYSCALL_ALLOW(getrandom),
	KORE_SYSCALL_ALLOW(uname),
	KORE_SYSCALL_ALLOW(getuid),
	KORE_SYSCALL_ALLOW(geteuid),
	KORE_SYSCALL_ALLOW(getpid),
	KORE_SYSCALL_ALLOW(openat),
	KORE_SYSCALL_ALLOW(fstat),
	KORE_SYSCALL_ALLOW(lseek),
	KORE_SYSCALL_ALLOW(madvise),
	KORE_SYSCALL_ALLOW(mremap),
	KORE_SYSCALL_ALLOW(sendto),
	KORE_SYSCALL_ALLOW(recvfrom),
	KORE_SYSCALL_ALLOW(sched_yield),
	KORE_SYSCALL_ALLOW(clock_gettime),
	KORE_SYSCALL_ALLOW(gettimeofday),
	/* File transfer (files.c): spool, fsync, rename, zip, libmagic. */
	KORE_SYSCALL_ALLOW(mkdir),
	KORE_SYSCALL_ALLOW(mkdirat),
	KORE_SYSCALL_ALLOW(rename),
	KORE_SYSCALL_ALLOW(renameat),
	KORE_SYSCALL_ALLOW(renameat2),
	KORE_SYSCALL_ALLOW(unlink),
	KORE_SYSCALL_ALLOW(unlinkat),
	KORE_SYSCALL_ALLOW(fsync),
	KORE_SYSCALL_ALLOW(fdatasync),
	KORE_SYSCALL_ALLOW(ftruncate),
	KORE_SYSCALL_ALLOW(fchmod),
	KORE_SYSCALL_ALLOW(chmod),
	KORE_SYSCALL_ALLOW(umask),
	KORE_SYSCALL_ALLOW(pread64),
	KORE_SYSCALL_ALLOW(statx),
	KORE_SYSCALL_ALLOW(fcntl),
	KORE_SYSCALL_ALLOW(access),
	KORE_SYSCALL_ALLOW(faccessat),
	KORE_SYSCALL_ALLOW(faccessat2),
	KORE_SYSCALL_ALLOW(getdents64)
);

void
kore_parent_configure(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (!pwd_init())
		fatal("libsodium failed to initialise");
	ops_init();
}

void
kore_worker_configure(void)
{
	const char	*db, *redis, *pool;

	if (!pwd_init())
		fatal("libsodium failed to initialise");
	if ((db = getenv("VB_DATABASE_URL")) == NULL)
		fatal("VB_DATABASE_URL is not set");
	if ((redis = getenv("VB_REDIS_URL")) == NULL)
		fatal("VB_REDIS_URL is not set");
	pool = getenv("VB_DB_POOL");
	db_init(db, pool ? atoi(pool) : 16);
	rds_init(redis);
	auth_init();
	hub_init();
	media_init();
	wmail_init();
	files_init();
	cobrowse_init();
}

/*
 * Leave without running exit handlers: a library destructor (p11-kit, via
 * libpq's dependencies) can deadlock on glibc's locale lock at exit, which
 * hangs the worker and with it Kore's shutdown. Nothing of ours needs them:
 * logs are written unbuffered and the database pool is closed here.
 */
void
kore_worker_teardown(void)
{
	db_shutdown();
	_exit(0);
}
