/*
 * Follow-ups answered by e-mail, and the live follow-up list (W18, A7).
 *
 *   POST /api/console/followups/:id/email {text}   [console.agent]
 *   POST /api/console/followups/:id/done           [console.agent]
 *
 * A customer who left a message while nobody could answer gave an e-mail
 * address; an answer written in the conversation never reaches an anonymous
 * customer. This sends it by mail through the organisation's SMTP server
 * (wmail.c, on a task thread), in three steps:
 *
 *   1. vb_followup_email_prepare (read-only, 0023_followup_email.sql): the
 *      follow-up is the caller organisation's, the customer has an address,
 *      the organisation has SMTP settings; answers them (password sealed,
 *      unsealed by widget_smtp_open) with the customer's original message.
 *   2. the mail: headers we write ourselves (nothing taken from input goes
 *      into a header unencoded: the site's name is an RFC 2047 encoded word,
 *      the addresses are checked), the body in base64 (UTF-8, any length).
 *   3. only once the server took it, vb_followup_email_sent stores the reply
 *      as a staff message (meta via/to), joins the agent, marks the
 *      follow-up handled and audits 'followup.email', in one transaction;
 *      the message frame goes to the conversation's followers. A refused
 *      mail answers 502 mail_failed and stores nothing.
 *
 * Every change to the list (a message left, a contact abandoned, one
 * handled) nudges the organisation's consoles over the hub
 * (hub_followups: {"type":"followups"}), which refetch the list.
 */

#include <time.h>

#include <sodium.h>

#include "vb.h"
#include "queries.h"

#define FM_TEXT_MAX	4000
#define FM_B64_LINE	76

/* Step 1's answer, parsed. */
struct fm_prep {
	struct kore_json	 json;
	const char		*to;
	const char		*customer;
	const char		*original;
	const char		*original_at;
};

static const char *
fm_str(struct kore_json_item *root, const char *name)
{
	struct kore_json_item	*it;

	TAILQ_FOREACH(it, &root->data.items, list)
		if (it->name != NULL && strcmp(it->name, name) == 0)
			return (it->type == KORE_JSON_TYPE_STRING ? it->data.string : NULL);
	return (NULL);
}

/* An address we put between angle brackets: no space, control or bracket. */
static int
fm_addr_ok(const char *a)
{
	const unsigned char	*p;

	if (a == NULL || !util_email_valid(a))
		return (0);
	for (p = (const unsigned char *)a; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>' || *p == '"' ||
		    *p == '(' || *p == ')' || *p == ',' || *p == ';' || *p == '\\')
			return (0);
	return (1);
}

/*
 * Text for a header as RFC 2047 encoded words (UTF-8, base64), folded; C0
 * controls and DEL become spaces first. Encoded words hold no CR, LF or
 * anything a mail reader parses as header syntax.
 */
static void
fm_header_words(struct sbuf *m, const char *text)
{
	char		 clean[800], b64[128];
	size_t		 n, i, take;
	const unsigned char	*p;

	for (n = 0, p = (const unsigned char *)text; *p != '\0' && n < sizeof(clean) - 1; p++)
		clean[n++] = (*p < 0x20 || *p == 0x7f) ? ' ' : (char)*p;
	clean[n] = '\0';
	for (i = 0; i < n; i += take) {
		/* At most 45 bytes a word, never cutting a UTF-8 sequence. */
		take = n - i > 45 ? 45 : n - i;
		while (take > 1 && i + take < n && ((unsigned char)clean[i + take] & 0xc0) == 0x80)
			take--;
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)clean + i, take,
		    sodium_base64_VARIANT_ORIGINAL);
		sbuf_addf(m, "%s=?utf-8?B?%s?=", i == 0 ? "" : "\r\n ", b64);
	}
	sodium_memzero(clean, sizeof(clean));
}

/* Plain text with CRLF line ends: \r\n, \r and \n all end a line. */
static void
fm_text_crlf(struct sbuf *b, const char *s, const char *prefix)
{
	if (prefix != NULL)
		sbuf_adds(b, prefix);
	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n') {
			if (*s == '\r' && s[1] == '\n')
				s++;
			sbuf_adds(b, "\r\n");
			if (prefix != NULL)
				sbuf_adds(b, prefix);
			continue;
		}
		sbuf_addc(b, *s);
	}
	sbuf_adds(b, "\r\n");
}

/* Text on one line: controls become spaces. */
static void
fm_line(struct sbuf *b, const char *s)
{
	for (; *s != '\0'; s++)
		sbuf_addc(b, ((unsigned char)*s < 0x20 || *s == 0x7f) ? ' ' : *s);
}

/* The body in base64, 76 characters a line. */
static void
fm_base64(struct sbuf *m, const struct sbuf *body)
{
	char	line[FM_B64_LINE + 1];
	size_t	i, take;

	for (i = 0; i < body->len; i += take) {
		take = body->len - i > FM_B64_LINE / 4 * 3 ? FM_B64_LINE / 4 * 3 : body->len - i;
		sodium_bin2base64(line, sizeof(line), (const unsigned char *)body->data + i, take,
		    sodium_base64_VARIANT_ORIGINAL);
		sbuf_adds(m, line);
		sbuf_adds(m, "\r\n");
	}
}

/* The whole mail: headers, the answer, the customer's message quoted. */
static void
fm_message(struct sbuf *m, const struct widget_smtp *s, const struct fm_prep *p,
    const char *text, const char *msgid)
{
	struct sbuf	 body, subj;
	char		 date[64];
	const char	*domain;
	time_t		 now = time(NULL);
	struct tm	 tm;

	(void)gmtime_r(&now, &tm);
	(void)strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	domain = strrchr(s->from, '@') + 1;
	sbuf_addf(m, "Date: %s\r\nFrom: ", date);
	if (s->site[0] != '\0') {
		fm_header_words(m, s->site);
		sbuf_adds(m, " ");
	}
	sbuf_addf(m, "<%s>\r\nTo: <%s>\r\nMessage-ID: <%s@%s>\r\nSubject: ", s->from, p->to,
	    msgid, domain);
	sbuf_init(&subj);
	sbuf_adds(&subj, "Re: your message to ");
	sbuf_adds(&subj, s->site[0] != '\0' ? s->site : domain);
	fm_header_words(m, subj.data);
	sbuf_free(&subj);
	sbuf_adds(m, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\nAuto-Submitted: no\r\n\r\n");

	sbuf_init(&body);
	fm_text_crlf(&body, text, NULL);
	if (p->original != NULL && p->original[0] != '\0') {
		sbuf_adds(&body, "\r\n");
		if (p->original_at != NULL)
			sbuf_addf(&body, "On %s, ", p->original_at);
		fm_line(&body, p->customer != NULL && p->customer[0] != '\0' ?
		    p->customer : "you");
		sbuf_adds(&body, " wrote:\r\n");
		fm_text_crlf(&body, p->original, "> ");
	}
	fm_base64(m, &body);
	sbuf_free(&body);
}

/* Step 1 answered: parse it, build the mail, start sending (step 2). */
static int
fm_send(struct vbreq *r)
{
	struct widget_smtp	 s;
	struct fm_prep		 p;
	struct sbuf		 msg;
	const char		*v;
	int			 rc;

	if (vb_db_error(r))
		return (VB_DONE);
	v = db_value(r->job, 0, 0, 0);
	memset(&p, 0, sizeof(p));
	kore_json_init(&p.json, v ? v : "", v ? strlen(v) : 0);
	if (v == NULL || !kore_json_parse(&p.json) || p.json.root == NULL ||
	    p.json.root->type != KORE_JSON_TYPE_OBJECT) {
		kore_json_cleanup(&p.json);
		vb_error(r, 500, "internal", "Something went wrong on our side");
		return (VB_DONE);
	}
	p.to = fm_str(p.json.root, "to");
	p.customer = fm_str(p.json.root, "customer");
	p.original = fm_str(p.json.root, "original");
	p.original_at = fm_str(p.json.root, "original_at");
	if (!fm_addr_ok(p.to)) {
		kore_json_cleanup(&p.json);
		vb_error(r, 409, "no_email", "The customer's e-mail address is not usable");
		return (VB_DONE);
	}
	if (!widget_smtp_open(r, v, &s)) {
		kore_json_cleanup(&p.json);
		vb_error(r, 503, "mail_not_configured", "Outgoing e-mail is not usable; check the SMTP settings");
		return (VB_DONE);
	}
	if (!fm_addr_ok(s.from)) {
		kore_json_cleanup(&p.json);
		widget_smtp_clear(&s);
		vb_error(r, 503, "mail_not_configured", "The sender address is not usable");
		return (VB_DONE);
	}
	kore_strlcpy(r->scratch, p.to, sizeof(r->scratch));
	util_random_token(r->scratch2, 18);
	sbuf_init(&msg);
	fm_message(&msg, &s, &p, vb_field(r, "text", 0)->data.string, r->scratch2);
	rc = wmail_start(r, s.host, s.port, s.starttls, s.user[0] != '\0' ? s.user : NULL,
	    s.pass, s.from, r->scratch, &msg, 2);
	sbuf_free(&msg);
	widget_smtp_clear(&s);
	kore_json_cleanup(&p.json);
	return (rc);
}

/*
 * POST /api/console/followups/:id/email. Steps: 0 checks (WIDGET_KEY_STEP
 * while the keys load), 1 prepared, 2 sent (task thread), 3 stored.
 */
int
followmail_email(struct vbreq *r)
{
	struct db_job	*j;
	const char	*v;
	char		 id[24], err[256];
	int		 rc, ok;
	struct sbuf	 b;

	switch (r->step) {
	case WIDGET_KEY_STEP:
		if (!widget_keys_loaded(r))
			return (VB_DONE);
		/* FALLTHROUGH */
	case 0:
		if (!vb_body_json(r) || vb_str_field(r, "text", 1, FM_TEXT_MAX) == NULL)
			return (VB_DONE);
		if (!widget_keys(r, &rc))
			return (rc);
		(void)snprintf(id, sizeof(id), "%lld", (long long)r->path_id[0]);
		j = vb_job(r);
		db_add(j, Q_FOLLOWUP_EMAIL_PREPARE, 2, id, vb_field(r, "text", 0)->data.string);
		return (vb_db_submit(r, j, 1));
	case 1:
		return (fm_send(r));
	case 2:
		if (!wmail_result(r, &ok, err, sizeof(err)))
			return (VB_WAIT);
		if (!ok) {
			vb_log(LOG_NOTICE, "req %s: follow-up mail not sent: %s", r->reqid, err);
			vb_error(r, 502, "mail_failed",
			    "The mail server did not take the message; nothing was stored");
			return (VB_DONE);
		}
		(void)snprintf(id, sizeof(id), "%lld", (long long)r->path_id[0]);
		j = vb_job(r);
		db_add(j, Q_FOLLOWUP_EMAIL_SENT, 4, id, vb_field(r, "text", 0)->data.string,
		    r->scratch, r->scratch2);
		return (vb_db_submit(r, j, 3));
	case 3:
		if (vb_db_error(r)) {
			vb_log(LOG_ERR, "req %s: follow-up %lld mailed to the customer but not stored",
			    r->reqid, (long long)r->path_id[0]);
			return (VB_DONE);
		}
		if ((v = db_value(r->job, 0, 0, 0)) == NULL || v[0] != '{') {
			vb_error(r, 500, "internal", "Something went wrong on our side");
			return (VB_DONE);
		}
		sbuf_init(&b);
		sbuf_adds(&b, "{\"message\":");
		sbuf_adds(&b, v);
		sbuf_addc(&b, '}');
		vb_json(r, 201, b.data, b.len);
		sbuf_free(&b);
		hub_publish(r->path_id[0], v, strlen(v), 0);
		hub_followups(r->sess.tenant_id);
		return (VB_DONE);
	}
	fatal("followmail_email: step %d", r->step);
}

/* POST /api/console/followups/:id/done: as the table-driven call was, plus the nudge. */
int
followmail_done(struct vbreq *r)
{
	struct db_job	*j;
	const char	*v;
	char		 id[24];
	struct sbuf	 b;

	switch (r->step) {
	case 0:
		(void)snprintf(id, sizeof(id), "%lld", (long long)r->path_id[0]);
		j = vb_job(r);
		db_add(j, Q_FOLLOWUP_DONE, 1, id);
		return (vb_db_submit(r, j, 1));
	case 1:
		if (vb_db_error(r))
			return (VB_DONE);
		if ((v = db_value(r->job, 0, 0, 0)) == NULL) {
			vb_error(r, 404, "not_found", "No such follow-up");
			return (VB_DONE);
		}
		sbuf_init(&b);
		sbuf_adds(&b, "{\"item\":");
		sbuf_adds(&b, v);
		sbuf_addc(&b, '}');
		vb_json(r, 200, b.data, b.len);
		sbuf_free(&b);
		hub_followups(r->sess.tenant_id);
		return (VB_DONE);
	}
	fatal("followmail_done: step %d", r->step);
}
