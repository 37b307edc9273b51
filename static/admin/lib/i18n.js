// Translation and locale-aware formatting for the staff UI.
//
// Every user-visible string goes through t('key', {vars}). Tables are flat
// objects of dotted keys in static/i18n/<lang>.js. The language comes from
// <html lang>, which the server fills; English is the fallback for unknown
// languages and for keys a translation lacks.
//
// Plurals: t('x', {count}) looks up 'x_one', 'x_other' (Intl.PluralRules
// categories) before 'x'.

import en from '../../i18n/en.js';

// Languages that have a table. Add a file under static/i18n/ and a line here.
const LOADERS = {
	en: () => Promise.resolve(en),
};

let table = en;
let lang = 'en';
let plurals = new Intl.PluralRules('en');

export async function initI18n() {
	const want = (document.documentElement.lang || 'en').trim().toLowerCase();
	const base = want.split('-')[0];
	const pick = LOADERS[want] ? want : (LOADERS[base] ? base : null);
	if (pick) {
		try {
			table = await LOADERS[pick]();
			lang = want;
		} catch {
			table = en;
			lang = 'en';
		}
	} else {
		table = en;
		lang = 'en';
	}
	// Never claim a language the text is not in.
	if (table === en && base !== 'en')
		lang = 'en';
	document.documentElement.lang = lang;
	try {
		plurals = new Intl.PluralRules(lang);
	} catch {
		plurals = new Intl.PluralRules('en');
	}
}

export function getLang() {
	return lang;
}

function lookup(key) {
	if (Object.prototype.hasOwnProperty.call(table, key))
		return table[key];
	if (Object.prototype.hasOwnProperty.call(en, key))
		return en[key];
	return undefined;
}

export function has(key) {
	return lookup(key) !== undefined;
}

export function t(key, vars) {
	let s;
	if (vars && typeof vars.count === 'number') {
		s = lookup(`${key}_${plurals.select(vars.count)}`);
		if (s === undefined)
			s = lookup(`${key}_other`);
	}
	if (s === undefined)
		s = lookup(key);
	if (s === undefined)
		return key;
	if (!vars)
		return s;
	return s.replace(/\{(\w+)\}/g, (m, k) =>
	    Object.prototype.hasOwnProperty.call(vars, k) ? String(vars[k]) : m);
}

function parseDate(v) {
	if (v === null || v === undefined || v === '')
		return null;
	const d = v instanceof Date ? v : new Date(v);
	return Number.isNaN(d.getTime()) ? null : d;
}

export function fmtDate(v) {
	const d = parseDate(v);
	return d ? new Intl.DateTimeFormat(lang, { dateStyle: 'medium' }).format(d) : '';
}

export function fmtDateTime(v) {
	const d = parseDate(v);
	return d ? new Intl.DateTimeFormat(lang,
	    { dateStyle: 'medium', timeStyle: 'short' }).format(d) : '';
}

export function fmtDateTimeFull(v) {
	const d = parseDate(v);
	return d ? new Intl.DateTimeFormat(lang,
	    { dateStyle: 'medium', timeStyle: 'medium' }).format(d) : '';
}

// "3 minutes ago", "yesterday" …; falls back to the absolute date after a week.
export function fmtRelative(v) {
	const d = parseDate(v);
	if (!d)
		return '';
	const secs = Math.round((d.getTime() - Date.now()) / 1000);
	const abs = Math.abs(secs);
	const rtf = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
	if (abs < 45)
		return rtf.format(0, 'second');
	if (abs < 3600)
		return rtf.format(Math.round(secs / 60), 'minute');
	if (abs < 86400)
		return rtf.format(Math.round(secs / 3600), 'hour');
	if (abs < 7 * 86400)
		return rtf.format(Math.round(secs / 86400), 'day');
	return fmtDate(d);
}

export function fmtNumber(n) {
	return new Intl.NumberFormat(lang).format(n);
}

// Human wait for a Retry-After value in seconds.
export function fmtWait(seconds) {
	const s = Math.max(1, Math.ceil(Number(seconds) || 0));
	if (s < 90)
		return t('time.seconds', { count: s });
	return t('time.minutes', { count: Math.ceil(s / 60) });
}

export function listFormat(items) {
	try {
		return new Intl.ListFormat(lang, { style: 'short', type: 'conjunction' }).format(items);
	} catch {
		return items.join(', ');
	}
}

export function collator() {
	return new Intl.Collator(lang, { sensitivity: 'base', numeric: true });
}
