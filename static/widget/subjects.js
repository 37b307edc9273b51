// The subject choice before a chat (W4). When the site has active subjects,
// the customer picks one (a radio group: arrow keys move, the label names
// the subject and says when its team is closed) before the first message;
// the choice travels with that message as subject_id and decides the queue.
//
// set({subjects, open}) from the session; pick(customerWrote) is asked on
// each send: undefined = no choice needed, a number = the chosen subject,
// null = a choice is needed and the customer has been asked for it.

import { h, clear } from './dom.js';
import { t } from './i18n.js';

export class SubjectPicker {
	constructor() {
		this.subjects = [];
		this.error = h('p', { class: 'subjects__error', id: 'vb-subjects-error' });
		this.list = h('div', { class: 'subjects__list' });
		this.el = h('fieldset', { class: 'subjects', id: 'vb-subjects', hidden: true,
		    'aria-describedby': 'vb-subjects-error' },
		    h('legend', { class: 'subjects__legend' }, t('subjects.legend')), this.list, this.error);
	}

	set(routing, customerWrote) {
		const list = routing && Array.isArray(routing.subjects) ? routing.subjects : [];
		this.subjects = list.filter((s) => s && Number.isSafeInteger(s.id) && s.id > 0 &&
		    typeof s.name === 'string');
		clear(this.list);
		for (const s of this.subjects) {
			const id = `vb-subject-${s.id}`;
			this.list.appendChild(h('div', { class: 'subjects__option' },
			    h('input', { type: 'radio', class: 'subjects__radio', name: 'vb-subject', id,
				value: String(s.id), onChange: () => this.setError('') }),
			    h('label', { for: id, class: 'subjects__label' },
				h('span', { class: 'subjects__name' }, s.name),
				s.open === false ? h('span', { class: 'subjects__closed' }, t('subjects.closed')) : null)));
		}
		this.el.hidden = !this.subjects.length || Boolean(customerWrote);
	}

	setError(msg) {
		this.error.textContent = msg;
		this.el.classList.toggle('subjects--invalid', Boolean(msg));
	}

	pick(customerWrote) {
		if (!this.subjects.length || customerWrote)
			return undefined;
		const on = this.list.querySelector('input:checked');
		if (on)
			return Number(on.value);
		this.setError(t('subjects.required'));
		this.el.hidden = false;
		this.list.querySelector('input')?.focus();
		return null;
	}

	// The choice is made once: after the first message it is history.
	done() {
		this.el.hidden = true;
	}
}
