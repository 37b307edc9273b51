/*
 * argon2id off the event loop. A hash or a verification costs ~10 ms of CPU
 * and 19 MiB; done inline it would stall every other request of the worker,
 * so it runs on one of Kore's task threads. The request sleeps until the
 * thread finishes and the handler resumes at the step it named.
 *
 * The thread touches only the struct pwtask it was given; Kore does not free
 * a request while one of its tasks runs, so the struct outlives the thread.
 */

#include "vb.h"

#include <kore/tasks.h>
#include <sodium.h>

struct pwtask {
	struct kore_task	task;	/* first: Kore's task code casts to it */
	int			op;
	char			hash[256];
	char			pw[256];
	int			ok;
};

static int
pwtask_run(struct kore_task *t)
{
	struct pwtask	*p = (struct pwtask *)t;

	if (p->op == PWTASK_VERIFY)
		p->ok = pwd_verify(p->hash, p->pw);
	else
		p->ok = pwd_hash(p->pw, p->hash, sizeof(p->hash));
	sodium_memzero(p->pw, sizeof(p->pw));
	return (KORE_RESULT_OK);
}

/*
 * Starts a verification of pw against hash (PWTASK_VERIFY) or a new hash of
 * pw (PWTASK_HASH; hash is ignored). The handler runs again at step next.
 */
int
pwtask_start(struct vbreq *r, int op, const char *hash, const char *pw, int next)
{
	struct pwtask	*p;

	if (r->pw != NULL)
		fatal("pwtask_start: one at a time");
	p = kore_calloc(1, sizeof(*p));
	p->op = op;
	if (hash != NULL)
		kore_strlcpy(p->hash, hash, sizeof(p->hash));
	kore_strlcpy(p->pw, pw, sizeof(p->pw));
	kore_task_create(&p->task, pwtask_run);
	kore_task_bind_request(&p->task, r->req);
	r->pw = p;
	r->step = next;
	http_request_sleep(r->req);
	kore_task_run(&p->task);
	return (VB_WAIT);
}

/*
 * On resume: 1 when done (result in *ok, new hash copied to out), 0 when the
 * wake-up was early and the handler must wait again.
 */
int
pwtask_result(struct vbreq *r, int *ok, char *out, size_t outlen)
{
	struct pwtask	*p = r->pw;

	if (p == NULL)
		fatal("pwtask_result: no task");
	if (!kore_task_finished(&p->task)) {
		http_request_sleep(r->req);
		return (0);
	}
	*ok = p->ok;
	if (out != NULL)
		kore_strlcpy(out, p->hash, outlen);
	pwtask_free(r);
	return (1);
}

void
pwtask_free(struct vbreq *r)
{
	struct pwtask	*p = r->pw;

	if (p == NULL)
		return;
	/* Never free under a running thread: leak instead (cannot happen). */
	if (!kore_task_finished(&p->task))
		return;
	kore_task_destroy(&p->task);
	sodium_memzero(p, sizeof(*p));
	kore_free(p);
	r->pw = NULL;
}
