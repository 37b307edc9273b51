// Co-browsing settings of a site (issue 5), a section of each site card on
// /admin/sites: co-browsing on or off, extra CSS selectors whose text is
// masked and whose elements are blocked in the customer's browser (on top of
// every input, passwords, data-vb-mask and data-vb-block), remote control
// (off by default) and the largest page snapshot. Saved with
// PUT /api/sites/:id/cobrowse, audited as site.cobrowse. Storing sessions
// for replay (off by default) and their retention in days:
// PUT /api/sites/:id/cobrowse-storage, audited as site.cobrowse_storage.

import { t } from '../lib/i18n.js';
import { api, idPath, errorMessage } from '../lib/api.js';
import { h, clear, button, field, checkbox, openDialog, toast, uid } from '../lib/ui.js';

const MB = 1024 * 1024;
const mb = (bytes) => Math.round(bytes / MB * 10) / 10;

function summary(s) {
	if (!s.enabled)
		return t('siteCobrowse.summaryOff');
	return t(s.remote_control ? 'siteCobrowse.summaryControl' : 'siteCobrowse.summaryOn', { max: mb(s.max_snapshot_bytes) });
}

export function cobrowseSection(site, { canWrite }) {
	const titleId = uid('site-cobrowse');
	const body = h('div', { class: 'site-files__body' }, h('p', { class: 'muted' }, '…'));
	const el = h('div', { class: 'site__block site__block--wide site-cobrowse', 'aria-labelledby': titleId, role: 'group' },
	    h('h3', { class: 'site__label', id: titleId }, t('siteCobrowse.title')), body);
	let settings = null, storage = null;

	function draw() {
		clear(body);
		body.append(h('p', { class: 'site-files__summary' }, summary(settings)),
		    h('p', { class: 'site-files__summary', id: `site-cb-storage-${site.id}` }, storage.enabled ?
			t('siteCobrowse.stored', { days: storage.retention_days }) : t('siteCobrowse.notStored')));
		const sel = [settings.mask_selectors && t('siteCobrowse.masks', { s: settings.mask_selectors }),
		    settings.block_selectors && t('siteCobrowse.blocks', { s: settings.block_selectors })].filter(Boolean);
		if (sel.length)
			body.append(h('ul', { class: 'chips' }, sel.map((x) => h('li', { class: 'chip' }, x))));
		if (canWrite)
			body.append(button(t('action.edit'), { size: 'sm', kind: 'secondary', iconName: 'edit',
			    srSuffix: `${t('siteCobrowse.title')}, ${site.name}`, attrs: { 'data-action': 'cobrowse' }, onClick: edit }));
	}

	async function load() {
		try {
			const [a, b] = await Promise.all([api.get(idPath('/api/sites', site.id, '/cobrowse')),
			    api.get(idPath('/api/sites', site.id, '/cobrowse-storage'))]);
			settings = a.cobrowse;
			storage = b.storage;
			draw();
		} catch (err) {
			if (err && err.redirecting)
				return;
			clear(body).append(h('p', { class: 'field__error' }, errorMessage(err)));
		}
	}

	function edit() {
		const enabled = checkbox({ name: 'cb-enabled', value: '1', id: 'site-cb-enabled',
		    label: t('siteCobrowse.enabled'), checked: settings.enabled });
		const masks = field({ id: 'site-cb-mask', label: t('siteCobrowse.maskLabel'), value: settings.mask_selectors,
		    hint: t('siteCobrowse.maskHint'), attrs: { maxLength: 2000, spellcheck: 'false' } });
		const blocks = field({ id: 'site-cb-block', label: t('siteCobrowse.blockLabel'), value: settings.block_selectors,
		    hint: t('siteCobrowse.blockHint'), attrs: { maxLength: 2000, spellcheck: 'false' } });
		const control = checkbox({ name: 'cb-control', value: '1', id: 'site-cb-control',
		    label: t('siteCobrowse.control'), checked: settings.remote_control });
		const max = field({ id: 'site-cb-max', label: t('siteCobrowse.max'), type: 'number', required: true,
		    value: String(mb(settings.max_snapshot_bytes)), hint: t('siteCobrowse.maxHint'),
		    attrs: { min: '0.1', max: '32', step: '0.1', inputmode: 'decimal' } });
		const store = checkbox({ name: 'cb-store', value: '1', id: 'site-cb-store', describedBy: 'site-cb-store-hint',
		    label: t('siteCobrowse.store'), checked: storage.enabled });
		const storeHint = h('p', { class: 'field__hint', id: 'site-cb-store-hint' }, t('siteCobrowse.storeHint'));
		const days = field({ id: 'site-cb-days', label: t('siteCobrowse.retention'), type: 'number', required: true,
		    value: String(storage.retention_days), hint: t('siteCobrowse.retentionHint'),
		    attrs: { min: '1', max: '3650', step: '1', inputmode: 'numeric' } });
		openDialog({
			title: `${t('siteCobrowse.title')}: ${site.name}`,
			description: t('siteCobrowse.intro'),
			content: h('div', { class: 'form-stack' }, enabled.el, masks.el, blocks.el, control.el, max.el,
			    h('div', null, store.el, storeHint), days.el),
			submitLabel: t('siteCobrowse.save'), submitId: 'site-cb-save',
			async onSubmit() {
				const v = Number(max.input.value);
				if (!Number.isFinite(v) || v < 0.1 || v > 32) {
					max.setError(t('siteCobrowse.errMax'));
					max.input.focus();
					return false;
				}
				for (const f of [masks, blocks]) {
					try {
						if (f.input.value.trim())
							document.createDocumentFragment().querySelector(f.input.value);
					} catch {
						f.setError(t('siteCobrowse.errSelector'));
						f.input.focus();
						return false;
					}
				}
				const nd = Number(days.input.value);
				if (!Number.isInteger(nd) || nd < 1 || nd > 3650) {
					days.setError(t('siteCobrowse.errRetention'));
					days.input.focus();
					return false;
				}
				if (store.input.checked !== storage.enabled || nd !== storage.retention_days)
					storage = (await api.put(idPath('/api/sites', site.id, '/cobrowse-storage'),
					    { enabled: store.input.checked, retention_days: nd })).storage;
				const res = await api.put(idPath('/api/sites', site.id, '/cobrowse'), {
				    enabled: enabled.input.checked, remote_control: control.input.checked,
				    mask_selectors: masks.input.value.trim(), block_selectors: blocks.input.value.trim(),
				    max_snapshot_bytes: Math.max(65536, Math.round(v * MB)) });
				settings = res.cobrowse;
				draw();
				toast(t('siteCobrowse.saved', { name: site.name }));
				return true;
			},
		});
	}

	load();
	return el;
}
