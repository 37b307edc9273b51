/*
 * rec_io: recording files written by one writer thread per process.
 *
 * The caller's thread only copies bytes into 64 KiB chunks tagged with
 * their file offset and queues full chunks; the writer thread pwrite()s
 * them in order and hashes them while the file is written front to back.
 * A file written out of order (the WebM muxer seeks back to fill in sizes
 * and cues) is hashed again from disk when it is closed.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "rec_priv.h"

#define REC_CHUNK	(64 * 1024)

struct rec_chunk {
	struct rec_chunk	*next;
	struct rec_file		*f;
	uint64_t		 off;
	size_t			 len;
	size_t			 cap;
	uint8_t			 data[];
};

struct rec_file {
	int			 fd;
	char			*path;
	char			*part;
	uint64_t		 pos;		/* caller side */
	uint64_t		 size;
	struct rec_chunk	*cur;
	int			 dropped;	/* caller side: backlog overflow */
	/* Shared with the writer thread, under rec_io.lock. */
	unsigned		 pending;
	int			 err;
	int			 linear;
	uint64_t		 hashed;
	EVP_MD_CTX		*md;
};

static struct {
	pthread_once_t		 once;
	pthread_mutex_t		 lock;
	pthread_cond_t		 work;
	pthread_cond_t		 done;
	struct rec_chunk	*head;
	struct rec_chunk	**tail;
	size_t			 backlog;
	int			 started;
} rec_io = {
	.once = PTHREAD_ONCE_INIT,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.work = PTHREAD_COND_INITIALIZER,
	.done = PTHREAD_COND_INITIALIZER,
};

static void	*rec_io_thread(void *);
static void	 rec_io_start(void);
static void	 rec_file_submit(struct rec_file *);
static int	 rec_file_rehash(struct rec_file *, unsigned char *);
static void	 rec_file_free(struct rec_file *);

void
rec_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list		ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void
rec_io_start(void)
{
	pthread_t	t;
	pthread_attr_t	a;

	rec_io.tail = &rec_io.head;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, rec_io_thread, NULL) == 0)
		rec_io.started = 1;
	pthread_attr_destroy(&a);
}

static int
rec_io_pwrite(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	ssize_t		n;

	while (len > 0) {
		n = pwrite(fd, p, len, (off_t)off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (errno);
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return (0);
}

static void *
rec_io_thread(void *arg)
{
	struct rec_chunk	*c;
	struct rec_file		*f;
	int			 e;

	for (;;) {
		pthread_mutex_lock(&rec_io.lock);
		while (rec_io.head == NULL)
			pthread_cond_wait(&rec_io.work, &rec_io.lock);
		c = rec_io.head;
		rec_io.head = c->next;
		if (rec_io.head == NULL)
			rec_io.tail = &rec_io.head;
		f = c->f;
		e = f->err;
		pthread_mutex_unlock(&rec_io.lock);

		/* Only this thread writes f's data or hash while pending > 0. */
		if (e == 0)
			e = rec_io_pwrite(f->fd, c->data, c->len, c->off);
		if (e == 0 && f->linear) {
			if (c->off == f->hashed) {
				EVP_DigestUpdate(f->md, c->data, c->len);
				f->hashed += c->len;
			} else {
				f->linear = 0;
			}
		}

		pthread_mutex_lock(&rec_io.lock);
		if (e != 0 && f->err == 0)
			f->err = e;
		rec_io.backlog -= c->cap;
		f->pending--;
		pthread_cond_broadcast(&rec_io.done);
		pthread_mutex_unlock(&rec_io.lock);
		free(c);
	}
	return (arg);
}

struct rec_file *
rec_file_open(const char *path, char *err, size_t errlen)
{
	struct rec_file		*f;
	struct stat		 st;
	size_t			 n;

	pthread_once(&rec_io.once, rec_io_start);
	if (!rec_io.started) {
		rec_errf(err, errlen, "cannot start the writer thread");
		return (NULL);
	}
	if (stat(path, &st) == 0) {
		rec_errf(err, errlen, "%s exists", path);
		return (NULL);
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		goto nomem;
	f->fd = -1;
	n = strlen(path) + sizeof(".part");
	if ((f->path = strdup(path)) == NULL || (f->part = malloc(n)) == NULL ||
	    (f->md = EVP_MD_CTX_new()) == NULL)
		goto nomem;
	snprintf(f->part, n, "%s.part", path);
	if (EVP_DigestInit_ex(f->md, EVP_sha256(), NULL) != 1) {
		rec_errf(err, errlen, "sha256 unavailable");
		rec_file_free(f);
		return (NULL);
	}
	f->linear = 1;
	f->fd = open(f->part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (f->fd == -1) {
		rec_errf(err, errlen, "%s: %s", f->part, strerror(errno));
		rec_file_free(f);
		return (NULL);
	}
	return (f);
nomem:
	rec_errf(err, errlen, "out of memory");
	rec_file_free(f);
	return (NULL);
}

static void
rec_file_free(struct rec_file *f)
{
	if (f == NULL)
		return;
	if (f->fd != -1)
		close(f->fd);
	free(f->cur);
	free(f->path);
	free(f->part);
	EVP_MD_CTX_free(f->md);
	free(f);
}

static void
rec_file_submit(struct rec_file *f)
{
	struct rec_chunk	*c = f->cur;

	if (c == NULL)
		return;
	f->cur = NULL;
	if (c->len == 0) {
		free(c);
		return;
	}
	pthread_mutex_lock(&rec_io.lock);
	if (rec_io.backlog + c->cap > REC_BACKLOG_MAX) {
		pthread_mutex_unlock(&rec_io.lock);
		free(c);
		f->dropped = 1;
		return;
	}
	rec_io.backlog += c->cap;
	f->pending++;
	c->next = NULL;
	*rec_io.tail = c;
	rec_io.tail = &c->next;
	pthread_cond_signal(&rec_io.work);
	pthread_mutex_unlock(&rec_io.lock);
}

void
rec_file_write(struct rec_file *f, const void *data, size_t len)
{
	const uint8_t		*p = data;
	struct rec_chunk	*c;
	size_t			 n, cap;

	while (len > 0) {
		c = f->cur;
		if (c != NULL && (c->off + c->len != f->pos || c->len == c->cap)) {
			rec_file_submit(f);
			c = NULL;
		}
		if (c == NULL) {
			cap = REC_CHUNK;
			if ((c = malloc(sizeof(*c) + cap)) == NULL) {
				f->dropped = 1;
				return;
			}
			c->f = f;
			c->off = f->pos;
			c->len = 0;
			c->cap = cap;
			f->cur = c;
		}
		n = c->cap - c->len;
		if (n > len)
			n = len;
		memcpy(c->data + c->len, p, n);
		c->len += n;
		p += n;
		len -= n;
		f->pos += n;
		if (f->pos > f->size)
			f->size = f->pos;
	}
}

void
rec_file_seek(struct rec_file *f, uint64_t off)
{
	f->pos = off;
}

uint64_t
rec_file_pos(const struct rec_file *f)
{
	return (f->pos);
}

uint64_t
rec_file_size(const struct rec_file *f)
{
	return (f->size);
}

int
rec_file_failed(const struct rec_file *f)
{
	return (f->dropped);
}

static int
rec_file_rehash(struct rec_file *f, unsigned char *md)
{
	uint8_t		buf[65536];
	unsigned	mdlen;
	ssize_t		n;
	uint64_t	off = 0;
	int		fd;

	if ((fd = open(f->part, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	if (EVP_DigestInit_ex(f->md, EVP_sha256(), NULL) != 1) {
		close(fd);
		return (-1);
	}
	for (;;) {
		n = pread(fd, buf, sizeof(buf), (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		EVP_DigestUpdate(f->md, buf, (size_t)n);
		off += (uint64_t)n;
	}
	close(fd);
	if (n == -1 || off != f->size)
		return (-1);
	return (EVP_DigestFinal_ex(f->md, md, &mdlen) == 1 ? 0 : -1);
}

static int
rec_file_syncdir(const char *path)
{
	char	*copy;
	int	 fd, rc;

	if ((copy = strdup(path)) == NULL)
		return (-1);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd == -1)
		return (-1);
	rc = fsync(fd);
	close(fd);
	return (rc);
}

int
rec_file_close(struct rec_file *f, int keep, struct rec_info *info)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned	mdlen, i;
	int		rc = 0;

	rec_file_submit(f);
	pthread_mutex_lock(&rec_io.lock);
	while (f->pending > 0)
		pthread_cond_wait(&rec_io.done, &rec_io.lock);
	if (f->err != 0 || f->dropped)
		rc = -1;
	pthread_mutex_unlock(&rec_io.lock);

	if (rc == 0 && keep) {
		if (f->hashed != f->size)
			f->linear = 0;
		if (fsync(f->fd) == -1)
			rc = -1;
		else if (f->linear)
			rc = EVP_DigestFinal_ex(f->md, md, &mdlen) == 1 ? 0 : -1;
		else
			rc = rec_file_rehash(f, md);
	}
	if (rc == 0 && keep) {
		if (rename(f->part, f->path) == -1 || rec_file_syncdir(f->path) == -1)
			rc = -1;
	}
	if (rc == -1 || !keep)
		unlink(f->part);
	if (info != NULL) {
		info->bytes = rc == 0 && keep ? f->size : 0;
		info->sha256[0] = '\0';
		if (rc == 0 && keep) {
			for (i = 0; i < 32; i++)
				snprintf(info->sha256 + i * 2, 3, "%02x", md[i]);
		}
	}
	rec_file_free(f);
	return (rc);
}
