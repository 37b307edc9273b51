// Recording policy of a site (S5), a section of each site card on
// /admin/sites: always, on demand (the agent starts it) or never, and the
// notice the customer sees while recording runs (empty: the standard,
// translated notice). Saved with PUT /api/sites/:id/recording, audited as
// site.recording. The form part is shared with the queue dialog.

import { t } from '../lib/i18n.js';
import { api, idPath, errorMessage } from '../lib/api.js';
import { h, clear, button, field, openDialog, toast, uid } from '../lib/ui.js';

export const RECORDING_POLICIES = ['always', 'on_demand', 'never'];
const NOTICE_MAX = 500;

// Policy select and notice field. inherit adds "as the web site decides" (null).
export function recordingFields(idPrefix, value, { inherit = false } = {}) {
	const options = RECORDING_POLICIES.map((p) => ({ value: p, label: t(`recording.policy.${p}`) }));
	if (inherit)
		options.unshift({ value: '', label: t('recording.policy.inherit') });
	const policy = field({ id: `${idPrefix}-policy`, kind: 'select', label: t('recording.policy'),
	    value: value.policy ?? '', options, hint: inherit ? t('recording.queueHint') : null });
	const notice = field({ id: `${idPrefix}-notice`, kind: 'textarea', label: t('recording.notice'),
	    value: value.notice ?? '', hint: t('recording.noticeHint', { text: t('recording.noticeDefault') }),
	    attrs: { maxlength: String(NOTICE_MAX), rows: '2' } });
	return {
		policy, notice, fields: { policy, notice },
		value() {
			return { policy: policy.input.value || null, notice: notice.input.value.trim() || null };
		},
		// Client-side check mirroring the server's; false with the error shown.
		check() {
			policy.setError('');
			notice.setError('');
			if (notice.input.value.trim().length > NOTICE_MAX) {
				notice.setError(t('recording.errNotice'));
				notice.input.focus();
				return false;
			}
			return true;
		},
		// A server error on one of these fields; true when shown here.
		showError(err) {
			const f = err && err.field ? { policy, notice }[err.field] : null;
			if (!f)
				return false;
			f.setError(errorMessage(err));
			f.input.focus();
			return true;
		},
	};
}

export function recordingSummary(v) {
	return t('recording.summary', { policy: t(`recording.policy.${v.policy}`),
	    notice: v.notice || t('recording.noticeDefault') });
}

// The block for one site card; loads its settings itself.
export function recordingSection(site, { canWrite }) {
	const titleId = uid('site-recording');
	const body = h('div', { class: 'site-files__body' }, h('p', { class: 'muted' }, '…'));
	const el = h('div', { class: 'site__block site__block--wide site-recording',
	    'aria-labelledby': titleId, role: 'group' },
	    h('h3', { class: 'site__label', id: titleId }, t('recording.title')), body);
	let settings = null;

	function draw() {
		clear(body);
		body.append(h('p', { class: 'site-files__summary' }, recordingSummary(settings)));
		if (canWrite) {
			body.append(button(t('action.edit'), { size: 'sm', kind: 'secondary', iconName: 'edit',
			    srSuffix: `${t('recording.title')}, ${site.name}`,
			    attrs: { 'data-action': 'recording' }, onClick: edit }));
		}
	}

	async function load() {
		try {
			settings = (await api.get(idPath('/api/sites', site.id, '/recording'))).recording;
			draw();
		} catch (err) {
			if (err && err.redirecting)
				return;
			clear(body).append(h('p', { class: 'field__error' }, errorMessage(err)));
		}
	}

	function edit() {
		const form = recordingFields('site-recording', settings);
		openDialog({
			title: `${t('recording.title')}: ${site.name}`,
			description: t('recording.intro'),
			content: h('div', { class: 'form-stack' }, form.policy.el, form.notice.el),
			submitLabel: t('recording.save'),
			submitId: 'site-recording-save',
			async onSubmit() {
				if (!form.check())
					return false;
				try {
					const res = await api.put(idPath('/api/sites', site.id, '/recording'), form.value());
					settings = res.recording;
				} catch (err) {
					if (form.showError(err))
						return false;
					throw err;
				}
				draw();
				toast(t('recording.saved', { name: site.name }));
				return true;
			},
		});
	}

	load();
	return el;
}
