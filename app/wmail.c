/*
 * Outgoing mail with libcurl's SMTP on a Kore task thread: a transfer can
 * take seconds (DNS, STARTTLS, a slow server), and must not stall the
 * worker's event loop. The request sleeps until the thread is done and the
 * handler resumes at the step it named, as with pwtask.c.
 *
 * The thread touches only the struct wmail it was given; Kore does not free
 * a request while one of its tasks runs, so the struct outlives the thread.
 * The SMTP password is in it only for the transfer, then wiped.
 */

#include "vb.h"

#include <kore/tasks.h>
#include <curl/curl.h>
#include <sodium.h>

struct wmail {
	struct kore_task	task;	/* first: Kore's task code casts to it */
	char			url[320];
	char			user[256];
	char			pass[256];
	char			from[256];
	char			to[256];
	int			starttls;
	struct sbuf		msg;
	size_t			off;
	int			ok;
	char			err[CURL_ERROR_SIZE];
};

static size_t
wmail_read(char *buf, size_t size, size_t n, void *arg)
{
	struct wmail	*m = arg;
	size_t		 len = size * n;

	if (len > m->msg.len - m->off)
		len = m->msg.len - m->off;
	memcpy(buf, m->msg.data + m->off, len);
	m->off += len;
	return (len);
}

static int
wmail_run(struct kore_task *t)
{
	struct wmail		*m = (struct wmail *)t;
	struct curl_slist	*rcpt = NULL;
	CURL			*c;
	CURLcode		 rc;
	char			 addr[264];

	if ((c = curl_easy_init()) == NULL) {
		kore_strlcpy(m->err, "curl_easy_init failed", sizeof(m->err));
		return (KORE_RESULT_OK);
	}
	(void)snprintf(addr, sizeof(addr), "<%s>", m->to);
	rcpt = curl_slist_append(NULL, addr);
	(void)snprintf(addr, sizeof(addr), "<%s>", m->from);
	curl_easy_setopt(c, CURLOPT_URL, m->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp");
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, addr);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, wmail_read);
	curl_easy_setopt(c, CURLOPT_READDATA, m);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, m->err);
	if (m->starttls)
		curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (m->user[0] != '\0') {
		curl_easy_setopt(c, CURLOPT_USERNAME, m->user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, m->pass);
	}
	rc = curl_easy_perform(c);
	m->ok = rc == CURLE_OK;
	if (!m->ok && m->err[0] == '\0')
		kore_strlcpy(m->err, curl_easy_strerror(rc), sizeof(m->err));
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	sodium_memzero(m->pass, sizeof(m->pass));
	return (KORE_RESULT_OK);
}

/*
 * Sends msg (headers and body, CRLF lines) from from to to through
 * host:port. The handler runs again at step next; wmail_result() says how
 * it went.
 */
int
wmail_start(struct vbreq *r, const char *host, int port, int starttls, const char *user,
    const char *pass, const char *from, const char *to, const struct sbuf *msg, int next)
{
	struct wmail	*m;

	if (r->mail != NULL)
		fatal("wmail_start: one at a time");
	m = kore_calloc(1, sizeof(*m));
	(void)snprintf(m->url, sizeof(m->url), "smtp://%s:%d", host, port);
	kore_strlcpy(m->user, user ? user : "", sizeof(m->user));
	kore_strlcpy(m->pass, pass ? pass : "", sizeof(m->pass));
	kore_strlcpy(m->from, from, sizeof(m->from));
	kore_strlcpy(m->to, to, sizeof(m->to));
	m->starttls = starttls;
	sbuf_init(&m->msg);
	sbuf_add(&m->msg, msg->data, msg->len);
	kore_task_create(&m->task, wmail_run);
	kore_task_bind_request(&m->task, r->req);
	r->mail = m;
	r->step = next;
	http_request_sleep(r->req);
	kore_task_run(&m->task);
	return (VB_WAIT);
}

/* 1 when done (*ok, and the error text when not), 0 to wait again. */
int
wmail_result(struct vbreq *r, int *ok, char *err, size_t errlen)
{
	struct wmail	*m = r->mail;

	if (m == NULL)
		fatal("wmail_result: no task");
	if (!kore_task_finished(&m->task)) {
		http_request_sleep(r->req);
		return (0);
	}
	*ok = m->ok;
	kore_strlcpy(err, m->err, errlen);
	wmail_free(r);
	return (1);
}

void
wmail_free(struct vbreq *r)
{
	struct wmail	*m = r->mail;

	if (m == NULL || !kore_task_finished(&m->task))
		return;
	kore_task_destroy(&m->task);
	sbuf_free(&m->msg);
	sodium_memzero(m, sizeof(*m));
	kore_free(m);
	r->mail = NULL;
}

void
wmail_init(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatal("curl_global_init failed");
}
