// Co-browsing in the chat panel (issue 5, W10/W20): the customer's consent
// dialogs, and the relay between the chat socket and the co-browse module on
// the host page (cobrowse.js, which loader.js loads on the first 'vb-cb'
// message: never on page load).
//
// Socket → panel: {type:'cobrowse', op} (request, started, record, declined,
// ended, control_request, control, resumed), {type:'cobrowse_live'} (the
// agent's pointer, drawings, pushed documents), {type:'cobrowse_do'} (an
// action under the customer's grant).
// Panel → page: {type:'vb-cb', op:'record'|'control'|'live'|'do'|'stop', …}.
// Page → panel: {type:'vb-cb', op:'data', id, part, parts, snap, data} (the
// masked page, relayed as cobrowse_data), {op:'stop'} and {op:'revoke'} (the
// customer's buttons on the page).
// A page change (or a new socket) resumes sharing when the chat's latest
// co-browse line (meta.cobrowse of the system messages) says it runs.
//
// new CobrowsePanel({ post, frame, fileUrl, onShow }) → .el goes in the
// panel; start(conv), subscribed(), onFrame(f), fromPage(m), offer() (the
// menu's "Share this page"), error(code).

import { h, clear } from './dom.js';
import { t } from './i18n.js';

export class CobrowsePanel {
	constructor({ post, frame, fileUrl, onShow, history }) {
		this.history = history;
		this.sharing = false;
		this.post = post;
		this.frame = frame;
		this.fileUrl = fileUrl;
		this.onShow = onShow;
		this.conv = 0;
		this.pending = null;	// the dialog waiting for the panel to be shown
		this.el = h('section', { class: 'offline cb', id: 'vb-cb', hidden: true, role: 'dialog',
		    'aria-labelledby': 'vb-cb-title', 'aria-describedby': 'vb-cb-text' });
	}

	start(conv) {
		this.conv = conv;
	}

	// After every (re)subscription: a page change keeps sharing on.
	subscribed() {
		const last = this.history().filter((m) => m.meta?.cobrowse).at(-1);
		if (/^(started|control_)/.test(last?.meta.cobrowse.event || ''))
			this.send({ type: 'cobrowse', op: 'resume' });
	}

	send(f) {
		this.frame({ ...f, conversation_id: this.conv });
	}

	dialog(title, text, yes, no, onYes, onNo) {
		clear(this.el);
		const titleEl = h('h2', { class: 'offline__title', id: 'vb-cb-title', tabindex: '-1' }, title);
		this.el.append(titleEl,
		    h('p', { class: 'offline__why', id: 'vb-cb-text' }, text),
		    h('div', { class: 'offline__offer offline__buttons' },
			h('button', { type: 'button', class: 'btn', id: 'vb-cb-yes', onClick: () => {
				this.close();
				onYes();
			} }, yes),
			h('button', { type: 'button', class: 'btn btn--quiet', id: 'vb-cb-no', onClick: () => {
				this.close();
				onNo();
			} }, no)));
		this.el.hidden = false;
		this.onShow(this.el);
		titleEl.focus();
	}

	close() {
		this.el.hidden = true;
		clear(this.el);
	}

	ask(f) {
		this.dialog(t('cb.title'), `${f.agent ? t('cb.ask', { name: f.agent }) : t('cb.askCustomer')} ${t('cb.what')}` +
		    (f.stored ? ` ${t('cb.stored')}` : ''),
		    t('cb.accept'), t('cb.decline'),
		    () => this.send({ type: 'cobrowse', op: 'consent' }),
		    () => this.send({ type: 'cobrowse', op: 'decline' }));
	}

	// The customer offers to share from the panel's menu: consent first.
	offer() {
		if (this.sharing || !this.conv)
			return;
		this.dialog(t('cb.title'), `${t('cb.askCustomer')} ${t('cb.what')}`, t('cb.accept'), t('cb.decline'),
		    () => this.send({ type: 'cobrowse', op: 'start' }), () => {});
	}

	askControl(f) {
		this.dialog(t('cb.controlTitle', { name: f.agent || '' }), t('cb.controlWhat'),
		    t('cb.grant'), t('cb.refuse'),
		    () => this.send({ type: 'cobrowse', op: 'grant' }),
		    () => this.send({ type: 'cobrowse', op: 'revoke' }));
	}

	stopped() {
		this.close();
		if (!this.sharing)
			return;
		this.sharing = false;
		this.post({ type: 'vb-cb', op: 'stop' });
	}

	// The adviser's name for what they push or do on the page: from their
	// messages in this chat, else whoever asked to see the page.
	nameOf(id) {
		const m = this.history().findLast((x) => x.sender?.kind === 'staff' && x.sender.id === id && x.sender.name);
		return m ? m.sender.name : this.agent;
	}

	onFrame(f) {
		const sharing = this.sharing;
		if (f.type !== 'cobrowse' && !sharing)
			return;
		if (f.type === 'cobrowse_live') {
			const live = { ...f, agent: f.agent || this.nameOf(f.agent_id) };
			if (live.kind === 'push' && live.file_id)
				live.url = this.fileUrl(live.file_id);
			this.post({ type: 'vb-cb', op: 'live', frame: live });
			return;
		}
		if (f.type === 'cobrowse_do') {
			this.post({ type: 'vb-cb', op: 'do', frame: { ...f, agent: f.agent || this.nameOf(f.agent_id) } });
			return;
		}
		switch (f.op) {
		case 'request':
			if (f.agent)	// who is asking: named on what they push or do later
				this.agent = f.agent;
			if (f.status === 'requested' && f.agent)
				this.ask(f);
			break;
		case 'record':
			this.sharing = true;
			this.post({ type: 'vb-cb', op: 'record', conversation_id: this.conv,
			    mask_selectors: f.mask_selectors, block_selectors: f.block_selectors,
			    max_snapshot_bytes: f.max_snapshot_bytes, control: f.control, store: f.store === true });
			break;
		case 'control_request':
			this.askControl(f);
			break;
		case 'control':
			if (f.control !== 'requested')
				this.close();
			if (sharing)
				this.post({ type: 'vb-cb', op: 'control', control: f.control, agent: f.agent });
			break;
		case 'declined':
			this.close();
			break;
		case 'ended':
			this.stopped();
			break;
		default:
			break;
		}
	}

	// From cobrowse.js on the host page.
	fromPage(m) {
		if (!this.conv || !this.sharing)
			return;
		if (m.op === 'data' && typeof m.data === 'string')
			this.send({ type: 'cobrowse_data', id: m.id, part: m.part, parts: m.parts,
			    snap: Boolean(m.snap), data: m.data });
		else if (m.op === 'stop')
			this.send({ type: 'cobrowse', op: 'stop' });
		else if (m.op === 'revoke')
			this.send({ type: 'cobrowse', op: 'revoke' });
	}

	// The customer ends sharing from the chat (error: it is not running).
	error(code) {
		if (code === 'not_consented' || code === 'no_cobrowse')
			this.stopped();
	}
}
