// File transfer settings of a site (W7), a section of each site card on
// /admin/sites: whether customers and advisers may send files in chats, the
// largest file (1–50 MB) and the accepted types, from the fixed list the
// server knows (app/fileutil.c). Saved with PUT /api/sites/:id/files, which
// is audited as site.files.

import { t } from '../lib/i18n.js';
import { api, idPath, errorMessage } from '../lib/api.js';
import { h, clear, button, field, fieldset, checkbox, openDialog, toast, uid } from '../lib/ui.js';

export const FILE_TYPE_CODES = [
	'application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'text/plain',
	'text/csv', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
	'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
	'application/vnd.oasis.opendocument.text', 'application/vnd.oasis.opendocument.spreadsheet',
	'application/zip',
];
const MB = 1024 * 1024;

function mb(bytes) {
	return Math.round(bytes / MB * 10) / 10;
}

function summary(s) {
	if (!s.enabled)
		return t('siteFiles.summaryOff');
	return t('siteFiles.summaryOn', { max: mb(s.max_bytes), n: s.types.length });
}

// The block for one site card; loads its settings itself.
export function filesSection(site, { canWrite }) {
	const titleId = uid('site-files');
	const body = h('div', { class: 'site-files__body' }, h('p', { class: 'muted' }, '…'));
	const el = h('div', { class: 'site__block site__block--wide site-files',
	    'aria-labelledby': titleId, role: 'group' },
	    h('h3', { class: 'site__label', id: titleId }, t('siteFiles.title')), body);
	let settings = null;

	function draw() {
		clear(body);
		body.append(h('p', { class: 'site-files__summary' }, summary(settings)));
		if (settings.enabled && settings.types.length) {
			body.append(h('ul', { class: 'chips' }, settings.types.map((c) =>
			    h('li', { class: 'chip' }, t(`fileType.${c}`)))));
		}
		if (canWrite) {
			body.append(button(t('action.edit'), { size: 'sm', kind: 'secondary', iconName: 'edit',
			    srSuffix: `${t('siteFiles.title')}, ${site.name}`,
			    attrs: { 'data-action': 'files' }, onClick: edit }));
		}
	}

	async function load() {
		try {
			settings = (await api.get(idPath('/api/sites', site.id, '/files'))).files;
			draw();
		} catch (err) {
			if (err && err.redirecting)
				return;
			clear(body).append(h('p', { class: 'field__error' }, errorMessage(err)));
		}
	}

	function edit() {
		const enabled = checkbox({ name: 'files-enabled', value: '1', id: 'site-files-enabled',
		    label: t('siteFiles.enabled'), checked: settings.enabled });
		const max = field({ id: 'site-files-max', label: t('siteFiles.maxBytes'), type: 'number',
		    required: true, value: String(mb(settings.max_bytes)), hint: t('siteFiles.maxHint'),
		    attrs: { min: '1', max: '50', step: '0.1', inputmode: 'decimal' } });
		const types = fieldset(t('siteFiles.types'));
		const boxes = FILE_TYPE_CODES.map((c) => {
			const cb = checkbox({ name: 'files-types', value: c, label: t(`fileType.${c}`),
			    checked: settings.types.includes(c) });
			types.body.append(cb.el);
			return cb;
		});
		openDialog({
			title: `${t('siteFiles.title')}: ${site.name}`,
			description: t('siteFiles.intro'),
			content: h('div', { class: 'form-stack' }, enabled.el, max.el, types.el),
			submitLabel: t('siteFiles.save'),
			submitId: 'site-files-save',
			async onSubmit() {
				const v = Number(max.input.value);
				if (!Number.isFinite(v) || v < 1 || v > 50) {
					max.setError(t('siteFiles.errMax'));
					max.input.focus();
					return false;
				}
				const bodyJson = { enabled: enabled.input.checked,
				    max_bytes: Math.round(v * MB),
				    types: boxes.filter((b) => b.input.checked).map((b) => b.input.value) };
				const res = await api.put(idPath('/api/sites', site.id, '/files'), bodyJson);
				settings = res.files;
				draw();
				toast(t('siteFiles.saved', { name: site.name }));
				return true;
			},
		});
	}

	load();
	return el;
}
