/*
 * proc.c: fork/exec without a shell, output capture and stopping by pid.
 */
#include <errno.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "xalloc.h"
#include "banned.h"

long long proc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* written by proc_wake(), read by the waits below (see proc.h) */
static int wake_pipe[2] = { -1, -1 };

void proc_wake_init(void)
{
	if (wake_pipe[0] < 0 && pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		wake_pipe[0] = wake_pipe[1] = -1;
}

void proc_wake(void)
{
	int saved = errno;
	ssize_t n = 0;

	/* fails only when full: a wake is pending already */
	if (wake_pipe[1] >= 0)
		n = write(wake_pipe[1], "", 1);
	(void)n;
	errno = saved;
}

int proc_wake_fd(void)
{
	return wake_pipe[0];
}

int proc_wake_take(void)
{
	char b[64];
	int got = 0;

	while (wake_pipe[0] >= 0 && read(wake_pipe[0], b, sizeof(b)) > 0)
		got = 1;
	return got;
}

void proc_nap_ms(int ms)
{
	/* fd -1 (no proc_wake_init): poll only sleeps */
	struct pollfd pfd = { wake_pipe[0], POLLIN, 0 };

	if (ms > 0 && poll(&pfd, 1, ms) > 0)
		proc_wake_take();
}

static void proc_child(char *const *argv, const struct proc_opts *opts,
		       int outfd)
{
	if (opts && opts->new_session)
		setsid();
	if (opts && opts->die_with_parent)
		prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (outfd >= 0) {
		dup2(outfd, 1);
		dup2(outfd, 2);
		if (outfd > 2)
			close(outfd);
	}
	if (opts && opts->stdin_path) {
		int fd = open(opts->stdin_path, O_RDONLY);

		if (fd < 0 || dup2(fd, 0) < 0) {
			dprintf(2, "%s: %s\n", opts->stdin_path, strerror(errno));
			_exit(127);
		}
		if (fd > 0)
			close(fd);
	}
	if (opts && opts->cwd && chdir(opts->cwd) < 0) {
		dprintf(2, "chdir %s: %s\n", opts->cwd, strerror(errno));
		_exit(127);
	}
	if (opts && opts->env_add)
		for (char *const *e = opts->env_add; *e; e++)
			putenv(*e);
	signal(SIGPIPE, SIG_DFL);
	{
		/* daemons block signals to take them in one thread (and
		 * hangar up blocks them to wait for them): a mask is inherited
		 * across exec, and a child that cannot get SIGTERM cannot be
		 * stopped */
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	execvp(argv[0], argv);
	dprintf(2, "%s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int proc_open_null(void)
{
	return open("/dev/null", O_RDWR | O_CLOEXEC);
}

int proc_run(char *const *argv, const struct proc_opts *opts,
	     struct buf *out, struct err *err)
{
	int pipefd[2] = { -1, -1 };
	int status;
	pid_t pid;

	if (out) {
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			return err_errno(err, ERR_FAIL, "pipe");
	} else if (opts && opts->quiet) {
		pipefd[1] = proc_open_null();
	}
	pid = fork();
	if (pid < 0) {
		err_errno(err, ERR_FAIL, "fork");
		if (pipefd[0] >= 0)
			close(pipefd[0]);
		if (pipefd[1] >= 0)
			close(pipefd[1]);
		return ERR_FAIL;
	}
	if (pid == 0) {
		if (pipefd[0] >= 0)
			close(pipefd[0]);
		proc_child(argv, opts, pipefd[1]);
	}
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (pipefd[0] >= 0) {
		char chunk[4096];
		ssize_t n;

		while ((n = read(pipefd[0], chunk, sizeof(chunk))) != 0) {
			if (n < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			buf_add(out, chunk, (size_t)n);
		}
		close(pipefd[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return err_errno(err, ERR_FAIL, "waitpid %s", argv[0]);
	if (WIFEXITED(status)) {
		if (WEXITSTATUS(status) == 127)
			return err_set(err, ERR_FAIL, "%s: could not run it",
				       argv[0]);
		return WEXITSTATUS(status);
	}
	return err_set(err, ERR_FAIL, "%s: killed by signal %d", argv[0],
		       WTERMSIG(status));
}

pid_t proc_spawn(char *const *argv, const struct proc_opts *opts,
		 struct err *err)
{
	int nullfd = -1;
	pid_t pid;

	if (opts && opts->quiet)
		nullfd = proc_open_null();
	pid = fork();
	if (pid < 0) {
		if (nullfd >= 0)
			close(nullfd);
		return err_errno(err, ERR_FAIL, "fork");
	}
	if (pid == 0)
		proc_child(argv, opts, nullfd);
	if (nullfd >= 0)
		close(nullfd);
	return pid;
}

int proc_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* Reaps pid if it is our child; returns 1 when it is gone. */
static int proc_gone(pid_t pid)
{
	pid_t r = waitpid(pid, NULL, WNOHANG);

	if (r == pid)
		return 1;
	if (r < 0 && errno == ECHILD)
		return !proc_alive(pid);
	return 0;
}

int proc_stop_all(const pid_t *pids, size_t n, int timeout_ms, int *killed)
{
	long long deadline = proc_now_ms() + timeout_ms;
	int *group = xcalloc(n ? n : 1, sizeof(*group));
	int *gone = xcalloc(n ? n : 1, sizeof(*gone));
	int killing = 0;
	size_t left = 0;

	/* all at once: a slow one must not hold up the others' stop */
	for (size_t i = 0; i < n; i++) {
		if (killed)
			killed[i] = 0;
		gone[i] = pids[i] <= 0;
		if (gone[i])
			continue;
		group[i] = getpgid(pids[i]) == pids[i];
		kill(group[i] ? -pids[i] : pids[i], SIGTERM);
		left++;
	}
	while (left) {
		for (size_t i = 0; i < n; i++)
			if (!gone[i] && proc_gone(pids[i])) {
				gone[i] = 1;
				left--;
			}
		if (!left || (killing && proc_now_ms() >= deadline))
			break;
		if (!killing && proc_now_ms() >= deadline) {
			for (size_t i = 0; i < n; i++) {
				if (gone[i])
					continue;
				kill(group[i] ? -pids[i] : pids[i], SIGKILL);
				if (killed)
					killed[i] = 1;
			}
			killing = 1;
			deadline = proc_now_ms() + 1000;
		}
		poll(NULL, 0, 20);
	}
	free(group);
	free(gone);
	return left ? -1 : 0;
}

int proc_stop(pid_t pid, int timeout_ms)
{
	return proc_stop_all(&pid, 1, timeout_ms, NULL);
}

/*
 * The GNU build ID among the notes in [p, end) (aligned to align), in hex
 * into out; 0, or -1 when there is none or out is too small.
 */
static int proc_notes_build_id(const unsigned char *p, const unsigned char *end,
			       size_t align, char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	while ((size_t)(end - p) >= sizeof(ElfW(Nhdr))) {
		const ElfW(Nhdr) *nh = (const void *)p;
		const unsigned char *name = p + sizeof(*nh);
		const unsigned char *desc =
			name + ((nh->n_namesz + align - 1) & ~(align - 1));
		const unsigned char *next =
			desc + ((nh->n_descsz + align - 1) & ~(align - 1));

		if (next > end || next <= p)
			return -1;
		if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
		    !memcmp(name, "GNU", 4) && nh->n_descsz > 0) {
			if (nh->n_descsz * 2 >= n)
				return -1;
			for (size_t k = 0; k < nh->n_descsz; k++) {
				out[2 * k] = hex[desc[k] >> 4];
				out[2 * k + 1] = hex[desc[k] & 15];
			}
			out[2 * nh->n_descsz] = '\0';
			return 0;
		}
		p = next;
	}
	return -1;
}

struct proc_build_id_find {
	char *out;
	size_t n;
	int found;
};

static int proc_build_id_phdr(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct proc_build_id_find *f = arg;
	/* this code's own object: the executable, or hangar-core.so */
	uintptr_t self = (uintptr_t)proc_build_id - info->dlpi_addr;
	int mine = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && self >= ph->p_vaddr &&
		    self - ph->p_vaddr < ph->p_memsz)
			mine = 1;
	}
	if (!mine)
		return 0;
	for (int i = 0; i < info->dlpi_phnum && !f->found; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		const unsigned char *p;

		if (ph->p_type != PT_NOTE)
			continue;
		p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		f->found = proc_notes_build_id(p, p + ph->p_memsz,
					       ph->p_align == 8 ? 8 : 4,
					       f->out, f->n) == 0;
	}
	return 1;
}

int proc_build_id(char *out, size_t n)
{
	struct proc_build_id_find f = { .out = out, .n = n };

	dl_iterate_phdr(proc_build_id_phdr, &f);
	return f.found ? 0 : -1;
}

/* A note segment bigger than this is no build ID's. */
#define PROC_NOTES_MAX 65536

int proc_build_id_file(const char *path, char *out, size_t n)
{
	ElfW(Ehdr) eh;
	ElfW(Phdr) ph;
	unsigned char *notes;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0)
		return -1;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_phentsize != sizeof(ph))
		goto out;
	for (int i = 0; i < eh.e_phnum && rc < 0; i++) {
		off_t at = (off_t)eh.e_phoff + (off_t)i * (off_t)sizeof(ph);

		if (pread(fd, &ph, sizeof(ph), at) != (ssize_t)sizeof(ph))
			break;
		if (ph.p_type != PT_NOTE || ph.p_filesz > PROC_NOTES_MAX)
			continue;
		notes = xmalloc(ph.p_filesz);
		if (pread(fd, notes, ph.p_filesz, (off_t)ph.p_offset) ==
		    (ssize_t)ph.p_filesz)
			rc = proc_notes_build_id(notes, notes + ph.p_filesz,
						 ph.p_align == 8 ? 8 : 4, out, n);
		free(notes);
	}
out:
	close(fd);
	return rc;
}
