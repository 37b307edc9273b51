// Small DOM helpers for the staff UI.
//
// Rules kept here so pages cannot break them:
// - Data reaches the DOM only as text (textContent / text nodes / attribute
//   values); nothing here ever assigns innerHTML.
// - No inline style attributes (CSP style-src 'self'); looks come from
//   classes in app.css.
// - Dialogs are native <dialog> opened with showModal(): the rest of the page
//   is inert, Escape closes, focus returns to the opener.

import { t } from './i18n.js';
import { errorMessage } from './api.js';

let uidCounter = 0;
export function uid(prefix = 'vb') {
	uidCounter += 1;
	return `${prefix}-${uidCounter}`;
}

const BOOL_PROPS = new Set(['checked', 'disabled', 'hidden', 'required', 'readOnly',
    'selected', 'multiple', 'open', 'autofocus', 'indeterminate']);
const PROPS = new Set(['value', 'htmlFor', 'className', 'type', 'name', 'id',
    'placeholder', 'href', 'src', 'alt', 'title', 'rows', 'min', 'max', 'maxLength',
    'minLength', 'pattern', 'autocomplete', 'inputMode', 'tabIndex', 'colSpan',
    'rowSpan', 'scope', 'spellcheck', 'download', 'rel', 'target', 'width', 'height',
    'step', 'size', 'lang', 'dir']);

function append(el, child) {
	if (child === null || child === undefined || child === false || child === true)
		return;
	if (Array.isArray(child)) {
		for (const c of child)
			append(el, c);
		return;
	}
	if (child instanceof Node) {
		el.appendChild(child);
		return;
	}
	el.appendChild(document.createTextNode(String(child)));
}

// h('button', {class: 'btn', onClick: fn, 'aria-label': 'x'}, 'text', node …)
// Strings become text nodes; attributes are set as attributes or properties,
// never parsed as HTML. A 'style' attribute is refused (CSP).
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	if (attrs) {
		for (const [k, v] of Object.entries(attrs)) {
			if (v === undefined || v === null || v === false)
				continue;
			if (k === 'style')
				throw new Error('inline style is not allowed; use a class');
			if (k === 'class') {
				el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
			} else if (k === 'for') {
				el.htmlFor = v;
			} else if (k === 'dataset') {
				for (const [dk, dv] of Object.entries(v))
					if (dv !== undefined && dv !== null)
						el.dataset[dk] = String(dv);
			} else if (k.startsWith('on') && typeof v === 'function') {
				el.addEventListener(k.slice(2).toLowerCase(), v);
			} else if (BOOL_PROPS.has(k)) {
				el[k] = Boolean(v);
			} else if (PROPS.has(k)) {
				el[k] = v;
			} else {
				el.setAttribute(k, v === true ? '' : String(v));
			}
		}
	}
	append(el, children);
	return el;
}

export function clear(el) {
	while (el.firstChild)
		el.removeChild(el.firstChild);
	return el;
}

export function replaceChildren(el, ...children) {
	clear(el);
	append(el, children);
	return el;
}

// ---------------------------------------------------------------- icons
// Line icons on a 24-unit grid (after Feather, MIT). Decorative: aria-hidden.
const ICONS = {
	users: [['path', 'M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2'], ['circle', 9, 7, 4],
	    ['path', 'M23 21v-2a4 4 0 0 0-3-3.87'], ['path', 'M16 3.13a4 4 0 0 1 0 7.75']],
	units: [['rect', 9, 2, 6, 5], ['rect', 2, 17, 6, 5], ['rect', 16, 17, 6, 5],
	    ['path', 'M12 7v5M5 17v-5h14v5']],
	roles: [['path', 'M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z'], ['path', 'M9 12l2 2 4-4']],
	skills: [['circle', 12, 8, 7], ['path', 'M8.21 13.89L7 23l5-3 5 3-1.21-9.12']],
	sites: [['circle', 12, 12, 10], ['path', 'M2 12h20'],
	    ['path', 'M12 2a15.3 15.3 0 0 1 4 10 15.3 15.3 0 0 1-4 10 15.3 15.3 0 0 1-4-10 15.3 15.3 0 0 1 4-10z']],
	audit: [['path', 'M14 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V8z'],
	    ['path', 'M14 2v6h6M16 13H8M16 17H8M10 9H8']],
	orgs: [['rect', 4, 2, 16, 20], ['path', 'M9 22v-4h6v4M8 6h.01M12 6h.01M16 6h.01M8 10h.01M12 10h.01M16 10h.01M8 14h.01M12 14h.01M16 14h.01']],
	account: [['path', 'M20 21v-2a4 4 0 0 0-4-4H8a4 4 0 0 0-4 4v2'], ['circle', 12, 7, 4]],
	logout: [['path', 'M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4'], ['path', 'M16 17l5-5-5-5M21 12H9']],
	menu: [['path', 'M3 12h18M3 6h18M3 18h18']],
	close: [['path', 'M18 6L6 18M6 6l12 12']],
	copy: [['rect', 9, 9, 13, 13], ['path', 'M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1']],
	check: [['path', 'M20 6L9 17l-5-5']],
	chevronRight: [['path', 'M9 18l6-6-6-6']],
	chevronDown: [['path', 'M6 9l6 6 6-6']],
	plus: [['path', 'M12 5v14M5 12h14']],
	search: [['circle', 11, 11, 8], ['path', 'M21 21l-4.35-4.35']],
	edit: [['path', 'M12 20h9'], ['path', 'M16.5 3.5a2.121 2.121 0 0 1 3 3L7 19l-4 1 1-4L16.5 3.5z']],
	trash: [['path', 'M3 6h18M19 6v14a2 2 0 0 1-2 2H7a2 2 0 0 1-2-2V6m3 0V4a2 2 0 0 1 2-2h4a2 2 0 0 1 2 2v2']],
	refresh: [['path', 'M23 4v6h-6'], ['path', 'M20.49 15a9 9 0 1 1-2.12-9.36L23 10']],
	key: [['circle', 7.5, 15.5, 5.5], ['path', 'M11.4 11.6L21 2M15.5 7.5l3 3L22 7l-3-3']],
	lock: [['rect', 3, 11, 18, 11], ['path', 'M7 11V7a5 5 0 0 1 10 0v4']],
	alert: [['circle', 12, 12, 10], ['path', 'M12 8v4M12 16h.01']],
	ban: [['circle', 12, 12, 10], ['path', 'M4.93 4.93l14.14 14.14']],
	checkCircle: [['path', 'M22 11.08V12a10 10 0 1 1-5.93-9.14'], ['path', 'M22 4L12 14.01l-3-3']],
	info: [['circle', 12, 12, 10], ['path', 'M12 16v-4M12 8h.01']],
	shield: [['path', 'M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z']],
	code: [['path', 'M16 18l6-6-6-6M8 6l-6 6 6 6']],
	filter: [['path', 'M22 3H2l8 9.46V19l4 2v-8.54L22 3z']],
	inbox: [['path', 'M22 12h-6l-2 3h-4l-2-3H2'],
	    ['path', 'M5.45 5.11L2 12v6a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2v-6l-3.45-6.89A2 2 0 0 0 16.76 4H7.24a2 2 0 0 0-1.79 1.11z']],
	// Calls (issue 4): a microphone for recordings, a play triangle.
	mic: [['path', 'M12 1a3 3 0 0 0-3 3v8a3 3 0 0 0 6 0V4a3 3 0 0 0-3-3z'],
	    ['path', 'M19 10v2a7 7 0 0 1-14 0v-2M12 19v4M8 23h8']],
	play: [['path', 'M5 3l14 9-14 9V3z']],
};

const SVGNS = 'http://www.w3.org/2000/svg';

export function icon(name, cls = '') {
	const svg = document.createElementNS(SVGNS, 'svg');
	svg.setAttribute('viewBox', '0 0 24 24');
	svg.setAttribute('fill', 'none');
	svg.setAttribute('stroke', 'currentColor');
	svg.setAttribute('stroke-width', '2');
	svg.setAttribute('stroke-linecap', 'round');
	svg.setAttribute('stroke-linejoin', 'round');
	svg.setAttribute('aria-hidden', 'true');
	svg.setAttribute('focusable', 'false');
	svg.setAttribute('class', `icon ${cls}`.trim());
	for (const [kind, ...a] of ICONS[name] || []) {
		const el = document.createElementNS(SVGNS, kind);
		if (kind === 'path') {
			el.setAttribute('d', a[0]);
		} else if (kind === 'circle') {
			el.setAttribute('cx', a[0]);
			el.setAttribute('cy', a[1]);
			el.setAttribute('r', a[2]);
		} else if (kind === 'rect') {
			el.setAttribute('x', a[0]);
			el.setAttribute('y', a[1]);
			el.setAttribute('width', a[2]);
			el.setAttribute('height', a[3]);
			el.setAttribute('rx', '2');
		}
		svg.appendChild(el);
	}
	return svg;
}

// The product mark: a speech bubble in a rounded square.
export function brandMark(cls = 'brand__mark') {
	const svg = document.createElementNS(SVGNS, 'svg');
	svg.setAttribute('viewBox', '0 0 32 32');
	svg.setAttribute('aria-hidden', 'true');
	svg.setAttribute('focusable', 'false');
	svg.setAttribute('class', cls);
	const bg = document.createElementNS(SVGNS, 'rect');
	for (const [k, v] of Object.entries({ width: 32, height: 32, rx: 8, class: 'brand__bg' }))
		bg.setAttribute(k, v);
	const bubble = document.createElementNS(SVGNS, 'path');
	bubble.setAttribute('d', 'M9 10.5A2.5 2.5 0 0 1 11.5 8h9A2.5 2.5 0 0 1 23 10.5v6a2.5 2.5 0 0 1-2.5 2.5H15l-4 3.5V19h.5A2.5 2.5 0 0 1 9 16.5z');
	bubble.setAttribute('class', 'brand__fg');
	svg.append(bg, bubble);
	return svg;
}

// ---------------------------------------------------------------- buttons
// kind: primary | secondary | danger | ghost | danger-ghost; size: sm
export function button(label, { kind = 'secondary', size, iconName, type = 'button',
    onClick, id, srSuffix, attrs = {} } = {}) {
	return h('button', {
		type, id, class: ['btn', `btn--${kind}`, size ? `btn--${size}` : ''],
		onClick, ...attrs,
	}, iconName ? icon(iconName) : null, h('span', null, label),
	srSuffix ? h('span', { class: 'sr-only' }, ` ${srSuffix}`) : null);
}

// Icon-only button: the label becomes its accessible name.
export function iconButton(iconName, label, { onClick, id, cls = '', attrs = {} } = {}) {
	return h('button', { type: 'button', class: `icon-btn ${cls}`.trim(), 'aria-label': label,
	    title: label, id, onClick, ...attrs }, icon(iconName));
}

// Icon button whose name is real (visually hidden) text, with a tooltip.
export function iconTextButton(iconName, label, { onClick, cls = '', attrs = {} } = {}) {
	return h('button', { type: 'button', class: `icon-btn ${cls}`.trim(), title: label,
	    onClick, ...attrs }, icon(iconName), h('span', { class: 'sr-only' }, label));
}

export function badge(text, tone = 'neutral') {
	return h('span', { class: `badge badge--${tone}` }, text);
}

export function avatar(name, cls = '') {
	const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
	const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] :
	    (parts[0] || '?').slice(0, 2);
	return h('span', { class: `avatar ${cls}`.trim(), 'aria-hidden': 'true' },
	    letters.toUpperCase());
}

// ---------------------------------------------------------------- toasts
function toastRegion() {
	let region = document.getElementById('toasts');
	if (!region) {
		region = h('div', { id: 'toasts', class: 'toasts', role: 'status',
		    'aria-live': 'polite' });
		document.body.appendChild(region);
	}
	return region;
}

// A short message in the polite live region; tone: success | error | info.
export function toast(message, tone = 'success') {
	// A modal dialog makes the page behind it inert, and inert live regions
	// are not announced: repeat the message in the open dialog's own region.
	const inDialog = document.querySelector('dialog[open] .dialog__live');
	if (inDialog) {
		inDialog.textContent = '';
		setTimeout(() => {
			inDialog.textContent = message;
		}, 50);
	}
	const region = toastRegion();
	const item = h('div', { class: `toast toast--${tone}` },
	    icon(tone === 'error' ? 'alert' : tone === 'info' ? 'info' : 'check'),
	    h('span', { class: 'toast__text' }, message));
	region.appendChild(item);
	const ttl = tone === 'error' ? 8000 : 4500;
	setTimeout(() => {
		item.classList.add('toast--leaving');
		setTimeout(() => item.remove(), 250);
	}, ttl);
}

export function toastError(err, overrides) {
	if (err && err.redirecting)
		return;
	toast(errorMessage(err, overrides), 'error');
}

// ---------------------------------------------------------------- forms
// A labelled control with hint and an error slot bound via aria-describedby.
// kind: input (default) | select | textarea. Returns {el, input, setError}.
export function field({ id, label, kind = 'input', type = 'text', name, value,
    required = false, hint, autocomplete, options, attrs = {}, cls = '',
    optionalLabel = true } = {}) {
	id = id || uid('f');
	const hintId = hint ? `${id}-hint` : null;
	const errId = `${id}-error`;
	let input;
	const common = { id, name: name || id, required, 'aria-describedby':
	    [hintId, errId].filter(Boolean).join(' '), ...attrs };
	if (kind === 'select') {
		input = h('select', { class: 'select', ...common });
		for (const o of options || []) {
			input.appendChild(h('option', { value: String(o.value),
			    selected: value !== undefined && String(o.value) === String(value),
			    disabled: o.disabled }, o.label));
		}
	} else if (kind === 'textarea') {
		input = h('textarea', { class: 'textarea', ...common });
		if (value !== undefined && value !== null)
			input.value = value;
	} else {
		input = h('input', { class: 'input', type, autocomplete, ...common });
		if (value !== undefined && value !== null)
			input.value = value;
	}
	const err = h('p', { id: errId, class: 'field__error' });
	const lab = h('label', { class: 'field__label', for: id }, label,
	    !required && optionalLabel && kind !== 'select' ?
	    h('span', { class: 'field__optional' }, ` ${t('form.optional')}`) : null);
	const el = h('div', { class: ['field', cls] }, lab,
	    hint ? h('p', { id: hintId, class: 'field__hint' }, hint) : null, input, err);
	const setError = (msg) => {
		err.textContent = msg || '';
		if (msg) {
			input.setAttribute('aria-invalid', 'true');
			el.classList.add('field--invalid');
		} else {
			input.removeAttribute('aria-invalid');
			el.classList.remove('field--invalid');
		}
	};
	input.addEventListener('input', () => setError(''));
	return { el, input, setError, errorEl: err };
}

// A fieldset for groups of checkboxes; the error slot is described by the legend group.
export function fieldset(legend, { hint, cls = '', id } = {}) {
	id = id || uid('fs');
	const errId = `${id}-error`;
	const hintId = hint ? `${id}-hint` : null;
	const body = h('div', { class: 'fieldset__body' });
	const err = h('p', { id: errId, class: 'field__error' });
	const el = h('fieldset', { class: ['fieldset', cls], id,
	    'aria-describedby': [hintId, errId].filter(Boolean).join(' ') },
	h('legend', { class: 'fieldset__legend' }, legend),
	hint ? h('p', { id: hintId, class: 'field__hint' }, hint) : null, body, err);
	const setError = (msg) => {
		err.textContent = msg || '';
		el.classList.toggle('field--invalid', Boolean(msg));
	};
	return { el, body, setError };
}

export function checkbox({ name, value, label, checked = false, id, disabled = false,
    cls = '', describedBy, extra } = {}) {
	id = id || uid('cb');
	const input = h('input', { type: 'checkbox', class: 'checkbox__input', id, name,
	    value: String(value), checked, disabled, 'aria-describedby': describedBy });
	const el = h('div', { class: ['checkbox', cls] }, input,
	    h('label', { for: id, class: 'checkbox__label' }, label), extra || null);
	return { el, input };
}

// Show an ApiError on the form: on the named field when the server names one,
// else in the form-level slot. fields maps API field names to field objects.
export function showFormError(err, fields, setFormError, overrides) {
	if (err && err.redirecting)
		return;
	const msg = errorMessage(err, overrides);
	const f = err && err.field ? fields[err.field] : null;
	if (f) {
		f.setError(msg);
		if (f.input)
			f.input.focus();
		setFormError('');
	} else {
		setFormError(msg);
	}
}

// ---------------------------------------------------------------- dialogs
// openDialog({title, description, content, submitLabel, submitId, danger,
//   onSubmit(ctl), cancelLabel, size, initialFocus, closeLabel})
// onSubmit may throw; the error shows in the dialog's alert slot. Return
// value of onSubmit other than false closes the dialog.
export function openDialog({ title, description, content, submitLabel, submitId,
    danger = false, onSubmit, cancelLabel, size = 'md', initialFocus, onClose,
    footerExtra, hideCancel = false } = {}) {
	const titleId = uid('dlg-title');
	const descId = description ? uid('dlg-desc') : null;
	const opener = document.activeElement;
	const formError = h('div', { class: 'dialog__error', role: 'alert' });
	const body = h('div', { class: 'dialog__body' },
	    description ? h('p', { id: descId, class: 'dialog__desc' }, description) : null,
	    content, formError);
	let busy = false;
	const submitBtn = submitLabel ? h('button', { type: 'submit', id: submitId,
	    class: ['btn', danger ? 'btn--danger' : 'btn--primary'] },
	h('span', { class: 'btn__spinner', 'aria-hidden': 'true' }),
	h('span', null, submitLabel)) : null;
	const cancelBtn = hideCancel ? null : h('button', { type: 'button',
	    class: 'btn btn--secondary', onClick: () => close() },
	cancelLabel || (submitLabel ? t('action.cancel') : t('action.close')));
	const form = h('form', { class: 'dialog__form', novalidate: true },
	    h('div', { class: 'dialog__header' },
		h('h2', { id: titleId, class: 'dialog__title' }, title),
		iconButton('close', t('action.close'), { cls: 'dialog__close',
		    onClick: () => close() })),
	    body,
	    h('div', { class: 'dialog__footer' }, footerExtra || null,
		h('span', { class: 'dialog__spacer' }), cancelBtn, submitBtn));
	const dialog = h('dialog', { class: `dialog dialog--${size}`,
	    'aria-labelledby': titleId, 'aria-describedby': descId }, form,
	h('div', { class: 'dialog__live sr-only', role: 'status', 'aria-live': 'polite' }));

	const ctl = {
		dialog, form, body, submitButton: submitBtn,
		setError(msg) {
			formError.textContent = msg || '';
			formError.classList.toggle('dialog__error--shown', Boolean(msg));
		},
		setBusy(on) {
			busy = on;
			if (submitBtn) {
				submitBtn.setAttribute('aria-disabled', on ? 'true' : 'false');
				submitBtn.classList.toggle('is-busy', on);
			}
			form.setAttribute('aria-busy', on ? 'true' : 'false');
		},
		close,
	};

	function close(result) {
		if (!dialog.open)
			return;
		dialog.close(result === undefined ? '' : String(result));
	}

	dialog.addEventListener('cancel', (e) => {
		if (busy)
			e.preventDefault();
	});
	dialog.addEventListener('close', () => {
		dialog.remove();
		if (onClose)
			onClose(dialog.returnValue);
		const back = typeof ctl.returnFocus === 'function' ? ctl.returnFocus() : opener;
		if (back && back.isConnected && typeof back.focus === 'function') {
			back.focus();
		} else {
			const main = document.getElementById('main');
			if (main)
				main.focus();
		}
		if (typeof ctl.afterClose === 'function')
			ctl.afterClose(dialog.returnValue);
	});
	form.addEventListener('submit', async (e) => {
		e.preventDefault();
		if (busy || !onSubmit)
			return;
		ctl.setError('');
		ctl.setBusy(true);
		let result;
		try {
			result = await onSubmit(ctl);
		} catch (err) {
			ctl.setBusy(false);
			if (err && err.redirecting)
				return;
			ctl.setError(errorMessage(err));
			return;
		}
		ctl.setBusy(false);
		if (result !== false)
			close('ok');
	});

	document.body.appendChild(dialog);
	dialog.showModal();
	const first = typeof initialFocus === 'function' ? initialFocus() : initialFocus;
	if (first && typeof first.focus === 'function') {
		first.focus();
	} else {
		const auto = form.querySelector('.dialog__body input:not([type=hidden]):not([disabled]):not([readonly]), .dialog__body select, .dialog__body textarea, .dialog__body button');
		(auto || submitBtn || cancelBtn).focus();
	}
	return ctl;
}

// Ask before something irreversible. Resolves true when confirmed (and
// onConfirm, if given, succeeded), false when cancelled.
export function confirmDialog({ title, message, confirmLabel, danger = true, onConfirm,
    content } = {}) {
	return new Promise((resolve) => {
		let done = false;
		openDialog({
			title,
			description: message,
			content,
			submitLabel: confirmLabel || t('action.confirm'),
			danger,
			size: 'sm',
			initialFocus: () => null,
			async onSubmit(ctl) {
				if (onConfirm)
					await onConfirm(ctl);
				done = true;
			},
			onClose: () => resolve(done),
		});
	});
}

// Show a secret (temporary password, key) once, with a copy button.
export function secretDialog({ title, intro, secret, secretId = 'temp-password',
    label, note }) {
	const secretEl = h('code', { id: secretId, class: 'secret__value' }, secret);
	const labelId = uid('secret-label');
	const box = h('div', { class: 'secret' },
	    h('p', { id: labelId, class: 'secret__label' }, label || t('secret.tempPassword')),
	    h('div', { class: 'secret__row', role: 'group', 'aria-labelledby': labelId },
		secretEl, copyButton(() => secret, { label: t('action.copy'),
		    what: label || t('secret.tempPassword') })));
	return openDialog({
		title,
		content: [intro ? h('p', null, intro) : null, box,
		    h('div', { class: 'callout callout--warning' }, icon('alert'),
			h('p', null, note || t('secret.onceNote')))],
		cancelLabel: t('action.done'),
		size: 'sm',
		initialFocus: () => box.querySelector('button'),
	});
}

// ---------------------------------------------------------------- clipboard
async function writeClipboard(text) {
	try {
		if (navigator.clipboard && window.isSecureContext) {
			await navigator.clipboard.writeText(text);
			return true;
		}
	} catch {
		// fall through to the selection fallback
	}
	const ta = h('textarea', { class: 'clipboard-scratch', readOnly: true,
	    'aria-hidden': 'true', tabIndex: -1 });
	ta.value = text;
	(document.querySelector('dialog[open]') || document.body).appendChild(ta);
	ta.select();
	let ok = false;
	try {
		ok = document.execCommand('copy');
	} catch {
		ok = false;
	}
	ta.remove();
	return ok;
}

export function copyButton(getText, { label, what, size = 'sm', id } = {}) {
	const text = h('span', null, label || t('action.copy'));
	const btn = h('button', { type: 'button', id, class: `btn btn--secondary btn--${size} copy-btn` },
	    icon('copy'), text,
	    what ? h('span', { class: 'sr-only' }, ` ${what}`) : null);
	let timer = null;
	btn.addEventListener('click', async () => {
		const ok = await writeClipboard(typeof getText === 'function' ? getText() : getText);
		toast(ok ? t('copy.done') : t('copy.failed'), ok ? 'success' : 'error');
		if (ok) {
			text.textContent = t('copy.copied');
			btn.classList.add('is-copied');
			clearTimeout(timer);
			timer = setTimeout(() => {
				text.textContent = label || t('action.copy');
				btn.classList.remove('is-copied');
			}, 2000);
		}
	});
	return btn;
}

// ---------------------------------------------------------------- page parts
export function pageHeader({ title, description, actions } = {}) {
	return h('div', { class: 'page-header' },
	    h('div', { class: 'page-header__text' },
		h('h1', { class: 'page-header__title', id: 'page-title' }, title),
		description ? h('p', { class: 'page-header__desc' }, description) : null),
	    actions ? h('div', { class: 'page-header__actions' }, actions) : null);
}

export function emptyState({ title, text, action, iconName = 'inbox' }) {
	return h('div', { class: 'empty' }, h('div', { class: 'empty__icon' }, icon(iconName)),
	    h('p', { class: 'empty__title' }, title),
	    text ? h('p', { class: 'empty__text' }, text) : null, action || null);
}

export function loading(label) {
	return h('div', { class: 'loading', role: 'status' },
	    h('span', { class: 'spinner', 'aria-hidden': 'true' }),
	    h('span', null, label || t('state.loading')));
}

export function errorBlock(err, onRetry) {
	return h('div', { class: 'callout callout--danger', role: 'alert' }, icon('alert'),
	    h('div', null, h('p', { class: 'callout__title' }, t('state.loadFailed')),
		h('p', null, errorMessage(err)),
		onRetry ? button(t('action.retry'), { size: 'sm', onClick: onRetry }) : null));
}

export function card({ title, titleId, description, actions, body, cls = '', headingLevel = 2 }) {
	const hid = titleId || (title ? uid('card') : null);
	return h('section', { class: ['card', cls], 'aria-labelledby': hid },
	    title ? h('div', { class: 'card__header' },
		h('div', null, h(`h${headingLevel}`, { class: 'card__title', id: hid }, title),
		    description ? h('p', { class: 'card__desc' }, description) : null),
		actions ? h('div', { class: 'card__actions' }, actions) : null) : null,
	    h('div', { class: 'card__body' }, body));
}

export function debounce(fn, ms = 250) {
	let timer = null;
	return (...args) => {
		clearTimeout(timer);
		timer = setTimeout(() => fn(...args), ms);
	};
}

// Sort objects by a string key using the locale's collation.
export function sortBy(list, key) {
	const c = new Intl.Collator(document.documentElement.lang || 'en',
	    { sensitivity: 'base', numeric: true });
	return [...list].sort((a, b) => c.compare(String(key(a) ?? ''), String(key(b) ?? '')));
}
