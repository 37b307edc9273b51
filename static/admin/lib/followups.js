// The console's "Follow-up" section (A7, W18): messages customers left when
// nobody could answer, and contacts who left the queue before anyone did.
// Each shows who, the e-mail address, the subject, the first words and when;
// "Transcript" opens the conversation (the console's own dialog, passed in),
// "Reply by message" joins the agent to it (POST .../:id/reply, audited) and
// opens it as a chat tab (the console's own, passed in as open(id)): what
// the agent writes persists, and a signed-in customer sees it next visit;
// "Done" marks it handled (POST /api/console/followups/:id/done, audited).
// "Reply by e-mail" (when the customer left an address) opens a dialog and
// sends the answer through the organisation's mail server (POST
// /api/console/followups/:id/email): stored in the conversation only once
// sent, the item then shows who answered by e-mail and when.
// Read over REST (GET /api/console/followups); the hub nudges the consoles
// of the organisation ({"type":"followups"}) when the list changes, and the
// list is refetched (debounced). A slow poll runs only while the hub is down.

import { t, fmtDateTime } from './i18n.js';
import { api } from './api.js';
import { h, clear, button, badge, toast, toastError, openDialog, field } from './ui.js';
import { ticker } from './chatui.js';

const POLL_MS = 30000;
const NUDGE_MS = 400;
const TEXT_MAX = 4000;

export function followupsSection({ transcript, open, hub }) {
	const list = h('ul', { class: 'waitlist followups', id: 'followups', 'aria-labelledby': 'followups-h' });
	const count = h('span', { class: 'followups__count' });
	const section = h('section', { class: 'console__block' },
	    h('h2', { class: 'console__h', id: 'followups-h', tabindex: '-1' }, t('followups.title'), count), list);

	function itemEl(x) {
		const done = Boolean(x.handled_at);
		const who = x.customer || t('console.customer');
		return h('li', { class: ['waitlist__item', 'followups__item', done ? 'is-done' : ''], dataset: { conv: x.id } },
		    h('span', { class: 'waitlist__text' },
			h('span', { class: 'waitlist__name' }, who, ' ',
			    badge(t(x.kind === 'offline' ? 'followups.offline' : 'followups.abandoned'),
				x.kind === 'offline' ? 'info' : 'warning')),
			x.email ? h('a', { class: 'followups__email', href: `mailto:${x.email}` }, x.email) : null,
			h('span', { class: 'waitlist__meta muted' }, [x.subject, x.at ? fmtDateTime(x.at) : null]
			    .filter(Boolean).join(' · ')),
			x.preview ? h('span', { class: 'waitlist__preview' }, x.preview) : null,
			x.emailed ? h('span', { class: 'waitlist__meta followups__emailed' },
			    t('followups.emailedBy', { name: x.emailed.by?.name || '', at: fmtDateTime(x.emailed.at) })) : null,
			done && !x.emailed ? h('span', { class: 'waitlist__meta muted' },
			    t('followups.doneBy', { name: x.handled_by?.name || '' })) : null,
			h('span', { class: 'followups__actions' },
			    button(t('followups.transcript'), { size: 'sm', kind: 'ghost', srSuffix: who,
				onClick: () => transcript({ id: x.id, created_at: x.at }) }),
			    done || !x.email ? null : button(t('followups.email'), { size: 'sm', kind: 'ghost', srSuffix: who,
				attrs: { 'data-action': 'email' }, onClick: () => emailDialog(x) }),
			    done || x.status === 'closed' ? null : button(t('followups.reply'), { size: 'sm', kind: 'ghost', srSuffix: who,
				attrs: { 'data-action': 'reply' }, onClick: (e) => reply(x, e.currentTarget) }),
			    done ? null : button(t('followups.done'), { size: 'sm', srSuffix: who,
				attrs: { 'data-action': 'done' }, onClick: (e) => markDone(x, e.currentTarget) }))));
	}

	// The focused button survives a refetch (the list is redrawn).
	const focusKey = () => {
		const a = document.activeElement;
		const li = a && list.contains(a) ? a.closest('[data-conv]') : null;
		return li && a.dataset.action ? [li.dataset.conv, a.dataset.action] : null;
	};
	const findButton = (conv, action) => list.querySelector(`[data-conv="${conv}"] [data-action="${action}"]`);

	function draw(items) {
		const keep = focusKey();
		clear(list);
		const open = items.filter((x) => !x.handled_at).length;
		count.textContent = open ? ` (${open})` : '';
		if (!items.length) {
			list.append(h('li', { class: 'waitlist__empty muted' }, t('followups.none')));
			return;
		}
		for (const x of items)
			list.append(itemEl(x));
		if (keep)
			(findButton(...keep) || section.querySelector('#followups-h')).focus();
	}

	async function refresh() {
		try {
			draw((await api.get('/api/console/followups')).items || []);
		} catch { /* the next poll retries */ }
	}

	async function reply(x, btn) {
		btn.disabled = true;
		try {
			await api.post(`/api/console/followups/${x.id}/reply`);
			open(x.id);
		} catch (err) {
			toastError(err);
		}
		btn.disabled = false;
	}

	async function markDone(x, btn) {
		btn.disabled = true;
		try {
			await api.post(`/api/console/followups/${x.id}/done`);
			toast(t('followups.marked', { name: x.customer || t('console.customer') }));
			await refresh();
			section.querySelector('#followups-h').focus();
		} catch (err) {
			btn.disabled = false;
			toastError(err);
		}
	}

	function emailDialog(x) {
		const who = x.customer || t('console.customer');
		const text = field({ id: 'followup-email-text', kind: 'textarea', label: t('followups.emailText'),
		    required: true, hint: t('followups.emailHint'), attrs: { maxLength: TEXT_MAX, rows: 8 } });
		const content = h('div', { class: 'form-stack' },
		    h('dl', { class: 'followups__to' },
			h('dt', null, t('followups.emailTo')), h('dd', { id: 'followup-email-to' }, `${who} <${x.email}>`)),
		    x.preview ? h('blockquote', { class: 'followups__quote muted' }, x.preview) : null,
		    text.el);
		const dlg = openDialog({
			title: t('followups.emailTitle', { name: who }), content, size: 'lg',
			submitLabel: t('followups.emailSend'), submitId: 'followup-email-send',
			initialFocus: text.input,
			onSubmit: async () => {
				const v = text.input.value;
				if (!v.trim()) {
					text.setError(t('followups.emailEmpty'));
					text.input.focus();
					return false;
				}
				await api.post(`/api/console/followups/${x.id}/email`, { text: v });
				toast(t('followups.emailSent', { email: x.email }));
				await refresh();
				return true;
			},
		});
		// Back to the item's button (the list may have been redrawn), or the
		// list's heading once the item is answered.
		dlg.returnFocus = () => findButton(x.id, 'email') || section.querySelector('#followups-h');
	}

	// Live: a nudge refetches (several close together, once); the poll
	// runs only while the hub is down.
	let nudgeTimer = null, pollTimer = null;
	function nudged() {
		clearTimeout(nudgeTimer);
		nudgeTimer = setTimeout(refresh, NUDGE_MS);
	}
	function poll(on) {
		if (on && !pollTimer)
			pollTimer = ticker(POLL_MS, refresh);
		else if (!on && pollTimer) {
			clearInterval(pollTimer);
			pollTimer = null;
		}
	}
	refresh();
	if (hub) {
		hub.on('followups', nudged);
		hub.on('connection', (f) => {
			poll(!f.up);
			if (f.up)
				nudged();	/* what changed while we were away */
		});
	} else {
		poll(true);
	}
	return section;
}
