// Strings and formatting for the customer chat panel.
//
// Kept apart from the staff UI's tables (static/i18n/): the panel runs on
// customers' screens inside other companies' pages and must stay small.
// Flat keys, {name} placeholders, plural forms as key_one / key_other.
// The language comes from <html lang>, which the server fills from the
// loader's data-vb-lang; English is the fallback for anything missing.

const en = {
	'panel.title': 'Chat with us',
	'panel.close': 'Close chat',
	'panel.log': 'Conversation',
	'panel.greeting': 'Hi there! 👋 How can we help you today?',
	'panel.waiting': 'Thanks! An adviser will be with you shortly. You can keep typing.',
	'panel.queue_one': 'You are next in the queue.',
	'panel.queue_other': 'You are number {n} in the queue.',
	'panel.wait_one': 'Estimated wait: about a minute.',
	'panel.wait_other': 'Estimated wait: about {n} minutes.',
	'panel.standalone': 'This chat opens from the chat button on our website.',
	'panel.poweredBy': 'Secure chat by Virtual Branch',

	'status.connecting': 'Connecting…',
	'status.online': 'Online',
	'status.signIn': 'Before we start',
	'status.reconnecting': 'Reconnecting…',
	'status.offlineShort': 'Offline',
	'status.offline': 'You are offline. We will reconnect when your connection is back.',
	'status.typing': 'Agent is typing…',
	'status.typingName': '{name} is typing…',

	'composer.label': 'Message',
	'composer.placeholder': 'Write a message…',
	'composer.hint': 'Press Enter to send, Shift+Enter for a new line.',
	'composer.send': 'Send',
	'composer.left_one': '{n} character left',
	'composer.left_other': '{n} characters left',

	'msg.you': 'You',
	'msg.youSaid': 'You said:',
	'msg.saidBy': '{name} said:',
	'msg.staff': 'Adviser',
	'msg.system': 'Notice',
	'msg.sending': 'Sending…',
	'msg.sent': 'Sent',
	'msg.read': 'Read',
	'msg.notSent': 'Not sent',
	'msg.retry': 'Try again',
	'msg.linkNewTab': '(opens in a new tab)',

	'error.rate_limited': 'You are sending messages very quickly. We will send the rest in a moment.',
	'error.invalid': 'That message could not be sent. Messages can be up to 4,000 characters.',
	'error.unavailable': 'Chat is having trouble right now. We will keep trying.',
	'error.not_found': 'This conversation is no longer available.',
	'error.forbidden': 'This conversation is no longer available.',
	'error.closed': 'This conversation has ended.',
	'error.internal': 'Something went wrong. Please try again.',
	'error.generic': 'Something went wrong. Please try again.',
	'action.newChat': 'Start a new chat',
	'action.leaveQueue': 'Leave the queue',
	'error.left_queue': 'You left the queue. Write to us again whenever you like.',

	'subjects.legend': 'What is your question about?',
	'subjects.closed': '(closed now – we reply when we open)',
	'subjects.required': 'Please choose a subject first.',
	'error.invalid_subject': 'That subject is no longer offered. Please choose another.',
	'auth.checking': 'Checking you are human…',
	'auth.failed': 'We could not check that you are human. Please try again.',
	'auth.retry': 'Try again',
	'auth.error.captcha_expired': 'The check took too long. Please try again.',
	'auth.error.captcha_reused': 'That check was already used. Please try again.',
	'auth.error.network': 'We could not reach the chat service. Please check your connection and try again.',
	'auth.error.too_many_attempts': 'Too many chats were started from your network. Please try again in a minute.',
	'auth.emailLabel': 'Your e-mail address',
	'auth.emailHint': 'We will e-mail you a 6-digit code to start the chat.',
	'auth.emailInvalid': 'Enter an e-mail address like name@example.com.',
	'auth.sendCode': 'Send code',
	'auth.sendFailed': 'We could not send the code. Please try again in a moment.',
	'auth.codeLabel': 'Code from the e-mail',
	'auth.codeHint': 'We sent a 6-digit code to {email}. It is valid for 10 minutes.',
	'auth.codeInvalid': 'The code is 6 digits.',
	'auth.startChat': 'Start chat',
	'auth.otherAddress': 'Use another address or get a new code',
	'auth.error.otp_wrong': 'That code is not right. Check the e-mail and try again.',
	'auth.error.otp_expired': 'The code has expired. Ask for a new one.',
	'auth.error.otp_invalid': 'That code can no longer be used. Ask for a new one.',
	'auth.error.otp_too_many_attempts': 'Too many wrong codes. Ask for a new one.',
	'auth.error.too_many_codes': 'You asked for several codes just now. Please wait a few minutes.',
	'auth.error.invalid': 'Check what you entered and try again.',
	'auth.error.mail_failed': 'We could not send the code. Please try again in a moment.',
	'auth.error.mail_not_configured': 'Sign-in by e-mail is not available right now.',
	'offline.title': 'Leave us a message',
	'offline.awayTitle': 'No one is available right now',
	'offline.closedTitle': 'We are closed at the moment',
	'offline.away': 'Leave us a message and we will get back to you by e-mail.',
	'offline.closed': 'Leave us a message and we will get back to you by e-mail when we open.',
	'offline.formHint': 'We will get back to you by e-mail.',
	'offline.cancel': 'Back to the chat',
	'offline.name': 'Your name',
	'offline.nameMissing': 'Please enter your name.',
	'offline.email': 'Your e-mail address',
	'offline.emailHint': 'We reply to this address.',
	'offline.message': 'Your message',
	'offline.messageMissing': 'Please write your message.',
	'offline.send': 'Send message',
	'offline.thanks': 'Thank you, we have your message',
	'offline.sent': 'We will reply to {email} as soon as we can.',
	'offline.tooMany': 'Several messages were sent from here just now. Please try again later.',
	'offline.answered': 'An adviser has joined this chat: you can write to them directly.',
	'offline.failed': 'Your message could not be sent. Please try again.',
	'menu.label': 'Chat options',
	'menu.transcript': 'Download transcript',
	'menu.end': 'End chat',
	'end.confirm': 'End this chat? You can still download the transcript afterwards.',
	'end.yes': 'End chat',
	'end.no': 'Keep chatting',
	'end.you': 'You ended the chat',

	'cb.title': 'Share this page?',
	'cb.ask': '{name} would like to see this page to help you.',
	'cb.askCustomer': 'Share this page with the adviser?',
	'cb.what': 'They see only this website, as you see it, until you stop. Passwords, what you type into fields and private details are hidden from them. You can stop at any time.',
	'cb.accept': 'Share this page',
	'cb.decline': 'No, thanks',
	'cb.controlTitle': 'Let {name} click and type for you?',
	'cb.controlWhat': 'They can click and fill in fields that are not hidden, on this website only. Every action is shown to you and recorded. You can take back control with one click.',
	'cb.grant': 'Allow control',
	'cb.refuse': 'Don\u2019t allow',
	'cb.sharing': 'You are sharing this page. Use “Stop sharing” at the top of the page to end it.',
	'cb.stop': 'Stop sharing',
	'cb.menu': 'Share this page',
	'cb.stored': 'This website stores the shared session so that it can be reviewed later.',
	'error.snapshot_too_large': 'This page is too large to share. Your adviser has been told.',
	'error.not_consented': 'Screen sharing has ended.',
	'error.cobrowse_live': 'Screen sharing is already on.',
	'error.cobrowse_disabled': 'Screen sharing is not available on this website.',

	'file.attach': 'Attach a file',
	'file.drop': 'Drop files here to send them',
	'file.uploading': 'Sending {name}',
	'file.download': 'Download',
	'file.downloadName': 'Download {name}',
	'file.image': 'Image: {name}',
	'file.type.pdf': 'PDF',
	'file.type.image': 'Image',
	'file.type.text': 'Text',
	'file.type.sheet': 'Spreadsheet',
	'file.type.doc': 'Document',
	'file.type.zip': 'ZIP archive',
	'file.type.other': 'File',
	'file.size.b': '{n} bytes',
	'file.size.kb': '{n} KB',
	'file.size.mb': '{n} MB',
	'file.error.too_large': '{name} is too large. Files can be up to {max} MB.',
	'file.error.type_not_allowed': '{name} cannot be sent: this type of file is not accepted here.',
	'file.error.type_mismatch': '{name} cannot be sent: its content does not match its name.',
	'file.error.empty_file': '{name} is empty.',
	'file.error.bad_name': '{name} cannot be sent: please rename it (up to 200 characters, no slashes).',
	'file.error.files_disabled': 'Files cannot be sent in this chat.',
	'file.error.closed': 'This conversation has ended.',
	'file.error.rate_limited': 'You are sending many files. Please wait a minute.',
	'file.error.network': '{name} could not be sent. Check your connection and try again.',
	'file.error.generic': '{name} could not be sent. Please try again.',

	// Calls (issue 4): the standard notice while a call is recorded, when
	// the site or queue sets none (GET /api/widget/recording-policy).
	'call.recordingNotice': 'This call is being recorded.',
	// Calls in the panel (static/widget/call.js).
	'call.buttonAudio': 'Start a voice call',
	'call.buttonVideo': 'Start a video call',
	'call.adviser': 'Your adviser',
	'call.incomingAudio': '{name} would like to talk with you',
	'call.incomingVideo': '{name} would like a video call',
	'call.shareMic': 'If you accept, your microphone is used for this call. Nothing is shared before you accept.',
	'call.shareCamMic': 'If you accept, your microphone and camera are used for this call. Nothing is shared before you accept.',
	'call.shareOneWay': 'If you accept, your microphone is used and you see your adviser. Your camera stays off.',
	'call.accept': 'Accept',
	'call.decline': 'Decline',
	'call.callingAudio': 'Calling your adviser…',
	'call.callingVideo': 'Starting a video call…',
	'call.waitingAnswer': 'Waiting for your adviser to answer.',
	'call.cancel': 'Cancel call',
	'call.inAudio': 'Voice call with {name}',
	'call.inVideo': 'Video call with {name}',
	'call.remoteVideo': 'Your adviser’s video',
	'call.selfView': 'Your camera',
	'call.onHold': 'You are on hold. Please wait.',
	'call.youShare': 'You are sharing your screen',
	'call.stopShare': 'Stop sharing',
	'call.theyShare': '{name} is sharing their screen',
	'call.controls': 'Call controls',
	'call.mute': 'Mute',
	'call.cameraOff': 'Camera off',
	'call.audioOnly': 'Audio only',
	'call.share': 'Share screen',
	'call.snapshot': 'Snapshot',
	'call.hangup': 'Hang up',
	'call.snapshotSaved': 'Snapshot saved.',
	'call.noVideo': 'There is no video to take a snapshot of yet.',
	'call.shareCancelled': 'Screen sharing was not started.',
	'call.said.mic.on': 'Microphone muted', 'call.said.mic.off': 'Microphone on',
	'call.said.cam.on': 'Camera off', 'call.said.cam.off': 'Camera on',
	'call.said.audioOnly.on': 'Audio only', 'call.said.audioOnly.off': 'Video on',
	'call.quality.unknown': 'Connecting…',
	'call.quality.good': 'Good connection',
	'call.quality.fair': 'Fair connection',
	'call.quality.poor': 'Poor connection',
	'call.quality.numbers': 'Loss {loss}% · round trip {rtt} ms · {kbps} kbit/s',
	'call.ended': 'The call has ended.',
	'call.declined': 'The call was declined.',
	'call.error.generic': 'The call could not be changed. Please try again.',
	'call.error.devices': 'Your microphone or camera could not be used. Check your browser’s permissions.',
	'call.error.media': 'The call’s connection could not be set up.',
	'call.error.no_agent': 'Calls are possible once an adviser has joined the chat.',
	'call.error.call_live': 'A call is already in progress.',
	'call.error.call_ended': 'The call has ended.',
	'call.error.media_unavailable': 'Calls are unavailable right now. Please try again in a moment.',
	'call.error.bad_offer': 'Your browser’s call setup was not accepted.',
};

const TABLES = { en };

let table = en;
let lang = 'en';
let plurals = new Intl.PluralRules('en');
let timeFmt = null;

export function initI18n(want = document.documentElement.lang) {
	const tag = String(want || 'en').trim();
	const base = tag.split('-')[0].toLowerCase();
	table = TABLES[tag.toLowerCase()] || TABLES[base] || en;
	// Never claim a language the text is not in.
	lang = table === en && base !== 'en' ? 'en' : tag;
	document.documentElement.lang = lang;
	try {
		plurals = new Intl.PluralRules(lang);
	} catch {
		plurals = new Intl.PluralRules('en');
	}
	timeFmt = null;
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

export function t(key, vars) {
	let s;
	if (vars && typeof vars.count === 'number')
		s = lookup(`${key}_${plurals.select(vars.count)}`) ?? lookup(`${key}_other`);
	s ??= lookup(key);
	if (s === undefined)
		return key;
	if (!vars)
		return s;
	return s.replace(/\{(\w+)\}/g, (m, k) =>
	    Object.prototype.hasOwnProperty.call(vars, k) ? String(vars[k]) : m);
}

// "14:05" or "2:05 PM", as the customer's locale writes it.
export function fmtTime(v) {
	const d = v instanceof Date ? v : new Date(v);
	if (Number.isNaN(d.getTime()))
		return '';
	if (!timeFmt) {
		const loc = navigator.languages?.[0] || lang;
		try {
			timeFmt = new Intl.DateTimeFormat(loc, { hour: 'numeric', minute: '2-digit' });
		} catch {
			timeFmt = new Intl.DateTimeFormat('en', { hour: 'numeric', minute: '2-digit' });
		}
	}
	return timeFmt.format(d);
}

export function fmtNumber(n) {
	return new Intl.NumberFormat(lang).format(n);
}
