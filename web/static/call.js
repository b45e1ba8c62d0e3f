// The click-to-call page: a JsSIP user agent (static/vendor/jssip.js)
// speaking SIP over the gateway's SIP WebSocket (RFC 7118). It dials a room
// ("demo", "sip:demo@domain") or a number, optionally registered with a SIP
// account, and gives an in-call keypad (DTMF by SIP INFO, JsSIP's default,
// or RFC 4733 in the audio), mute, hang-up, a call timer and the call's
// state.
//
// The WebSocket URL comes from the page: the host it was loaded from and
// the port of a listener the server lists in <body data-ws="ws:5066
// wss:7443">; wss on an https page (browsers refuse ws:// there), ?transport=
// picks one.

import JsSIP from './vendor/jssip.js';
import { byId, clearNotice, setStatus, showNotice } from './dom.js';

/**
 * Debug handle for tests and the console. connection: idle, connecting,
 * connected, disconnected. registration: none, registering, registered,
 * unregistered, failed. call: idle, calling, ringing, answered, ended,
 * failed. response is the last final response to our INVITE:
 * {status, reason, warning}. offer is the SDP of our last INVITE. times
 * holds when (performance.now()) each call state was last entered.
 */
const debug = {
  url: '', connection: 'idle', registration: 'none', registrationError: '',
  call: 'idle', response: null, cause: '', keys: [], muted: false, offer: '', ua: null, session: null, times: {},
};
window.roombridgeCall = debug;

/** Parses "ws:5066 wss:7443" into [{scheme, port}]. */
export function parseListeners(s) {
  return (s || '').split(/\s+/).filter(Boolean).map((l) => {
    const [scheme, port] = l.split(':');
    return { scheme, port: Number(port) };
  }).filter((l) => (l.scheme === 'ws' || l.scheme === 'wss') && l.port > 0);
}

/**
 * Picks the WebSocket URL: the listener of the wanted scheme, else wss on
 * an https page, else ws, else whatever there is; '' when none can work.
 */
export function wsURL(listeners, loc, wanted = '') {
  const secure = loc.protocol === 'https:';
  const usable = listeners.filter((l) => !secure || l.scheme === 'wss');
  const pick = usable.find((l) => l.scheme === wanted)
    || usable.find((l) => l.scheme === (secure ? 'wss' : 'ws'))
    || usable[0];
  if (!pick) return '';
  const host = loc.hostname.includes(':') ? `[${loc.hostname}]` : loc.hostname;
  return `${pick.scheme}://${host}:${pick.port}`;
}

/** Makes a SIP URI of what the user typed: a room name, a number or a URI. */
export function targetURI(input, domain) {
  const t = input.trim();
  if (/^sips?:/i.test(t)) return t;
  if (t.includes('@')) return `sip:${t}`;
  return `sip:${t.replace(/[\s()-]/g, '')}@${domain}`;
}

class Phone {
  constructor(url, domain) {
    this.url = url;
    this.domain = domain;
    this.ua = null;
    this.session = null;
    this.timer = null;
    this.user = '';
  }

  /** (Re)starts the user agent, registered when a password is given. */
  start(user = '', password = '') {
    this.stop();
    this.user = user;
    const cfg = {
      sockets: [new JsSIP.WebSocketInterface(this.url)],
      uri: `sip:${user || 'anonymous'}@${this.domain}`,
      register: Boolean(user && password),
      user_agent: `Roombridge call page (JsSIP ${JsSIP.version})`,
      session_timers: true,
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 30,
    };
    if (user && password) {
      cfg.authorization_user = user;
      cfg.password = password;
    }
    const ua = new JsSIP.UA(cfg);
    this.ua = ua;
    debug.ua = ua;
    ua.on('connecting', () => this.setConnection('connecting'));
    ua.on('connected', () => this.setConnection('connected'));
    ua.on('disconnected', () => this.setConnection('disconnected'));
    ua.on('registered', () => this.setRegistration('registered'));
    ua.on('unregistered', () => this.setRegistration('unregistered'));
    ua.on('registrationFailed', (e) => {
      const r = e.response;
      this.setRegistration('failed', r ? `${r.status_code} ${r.reason_phrase}` : e.cause);
    });
    ua.on('newRTCSession', (e) => {
      // Nothing calls browsers yet; refuse rather than ring forever.
      if (e.originator === 'remote') e.session.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
    });
    if (cfg.register) this.setRegistration('registering');
    ua.start();
  }

  stop() {
    if (this.ua) this.ua.stop();
    this.ua = null;
  }

  setConnection(state) {
    debug.connection = state;
    const labels = { connecting: 'Connecting…', connected: 'Connected', disconnected: 'Disconnected; retrying…' };
    setStatus(labels[state] || state);
    byId('call-button').disabled = state !== 'connected' || Boolean(this.session);
  }

  setRegistration(state, detail = '') {
    debug.registration = state;
    debug.registrationError = detail;
    const labels = {
      registering: 'Registering…',
      registered: `Registered as ${this.user}`,
      unregistered: 'Not registered',
      failed: `Registration failed: ${detail}`,
    };
    byId('reg-status').textContent = labels[state] || state;
    byId('unregister').disabled = state !== 'registered';
  }

  call(input) {
    if (!this.ua || this.session) return;
    const target = targetURI(input, this.domain);
    clearNotice();
    debug.response = null;
    debug.cause = '';
    debug.keys = [];
    debug.offer = '';
    byId('sent-keys').textContent = '';
    byId('call-peer').textContent = target;
    this.setCall('calling');
    byId('in-call').hidden = false;
    byId('call-button').disabled = true;
    try {
      this.session = this.ua.call(target, {
        mediaConstraints: { audio: true, video: false },
        pcConfig: { iceServers: [] },
        // JsSIP makes the PeerConnection inside call(), before it returns:
        // only a handler given here sees it.
        eventHandlers: { peerconnection: (e) => playRemote(e.peerconnection) },
      });
    } catch (err) {
      this.failed(err.message);
      return;
    }
    debug.session = this.session;
    const s = this.session;
    s.on('sending', (e) => {
      debug.offer = e.request.body || '';
      debug.times.invite = performance.now();
    });
    s.on('progress', () => this.setCall('ringing'));
    s.on('accepted', (e) => {
      this.response(e.response);
      this.setCall('answered');
      this.startTimer();
    });
    s.on('ended', (e) => this.end('ended', e.cause));
    s.on('failed', (e) => {
      this.response(e.message);
      this.failed(e.cause);
    });
    s.on('newDTMF', (e) => {
      if (e.originator === 'local') debug.keys.push({ key: e.dtmf.tone, via: this.dtmfVia() });
    });
  }

  /** Keeps the status, reason and Warning of a final response. */
  response(msg) {
    if (!msg || !msg.status_code) return;
    debug.response = {
      status: msg.status_code,
      reason: msg.reason_phrase,
      warning: msg.getHeader ? msg.getHeader('Warning') || '' : '',
    };
  }

  failed(cause) {
    const r = debug.response;
    let text = `Call failed: ${cause}`;
    if (r) text = `Call failed: ${r.status} ${r.reason}${r.warning ? ` (${warningText(r.warning)})` : ''}`;
    showNotice(text, 'error');
    this.end('failed', cause);
  }

  end(state, cause) {
    debug.cause = cause || '';
    this.setCall(state);
    this.stopTimer();
    this.session = null;
    debug.session = null;
    debug.muted = false;
    this.syncMute();
    byId('call-button').disabled = debug.connection !== 'connected';
    byId('remote').srcObject = null;
  }

  setCall(state) {
    debug.call = state;
    debug.times[state] = performance.now();
    const labels = { calling: 'Calling…', ringing: 'Ringing…', answered: 'In call', ended: 'Call ended', failed: 'Call failed' };
    byId('call-state').textContent = labels[state] || state;
    for (const b of byId('keypad').querySelectorAll('button')) b.disabled = state !== 'answered';
    byId('hangup').disabled = !['calling', 'ringing', 'answered'].includes(state);
    byId('mute').disabled = state !== 'answered';
  }

  startTimer() {
    const start = Date.now();
    const show = () => {
      const s = Math.floor((Date.now() - start) / 1000);
      byId('timer').textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
    };
    show();
    this.timer = setInterval(show, 1000);
  }

  stopTimer() {
    clearInterval(this.timer);
    this.timer = null;
  }

  dtmfVia() {
    return byId('rfc4733').checked ? 'RFC2833' : 'INFO';
  }

  /** Sends one key: SIP INFO (application/dtmf-relay) or RFC 4733. */
  key(k) {
    if (!this.session || debug.call !== 'answered') return;
    this.session.sendDTMF(k, { transportType: this.dtmfVia(), duration: 160, interToneGap: 80 });
    byId('sent-keys').textContent += k;
  }

  toggleMute() {
    if (!this.session || debug.call !== 'answered') return;
    if (this.session.isMuted().audio) this.session.unmute({ audio: true });
    else this.session.mute({ audio: true });
    debug.muted = this.session.isMuted().audio;
    this.syncMute();
  }

  syncMute() {
    const b = byId('mute');
    b.textContent = debug.muted ? 'Unmute' : 'Mute';
    b.setAttribute('aria-pressed', String(debug.muted));
  }

  hangup() {
    if (this.session) this.session.terminate();
  }
}

/** Plays the call's remote audio in the page's audio element. */
function playRemote(pc) {
  pc.addEventListener('track', (ev) => {
    const audio = byId('remote');
    audio.srcObject = ev.streams[0] || new MediaStream([ev.track]);
    audio.play().catch(() => showNotice('Click anywhere to hear the call.'));
  });
}

/** The text of a Warning header value (RFC 3261 §20.43), without code and agent. */
function warningText(w) {
  const m = w.match(/"((?:[^"\\]|\\.)*)"/);
  return m ? m[1].replace(/\\(.)/g, '$1') : w;
}

function main() {
  const params = new URLSearchParams(location.search);
  const domain = document.body.dataset.domain;
  const url = wsURL(parseListeners(document.body.dataset.ws), location, params.get('transport') || '');
  debug.url = url;
  byId('server').textContent = url || 'none';
  if (!url) {
    setStatus('Unavailable');
    showNotice(location.protocol === 'https:' && parseListeners(document.body.dataset.ws).length
      ? 'This page is served over HTTPS but the gateway has no wss:// SIP listener.'
      : 'The gateway has no SIP WebSocket listener (sip.listen: ws:// or wss://).', 'error');
    return;
  }
  if (params.get('debug') === '1') JsSIP.debug.enable('JsSIP:*');
  else JsSIP.debug.disable();

  const phone = new Phone(url, domain);
  const account = byId('account');
  const user = params.get('user') || '';
  const password = params.get('password') || '';
  if (password) {
    // Keep the password out of the address bar and history.
    params.delete('password');
    history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}`);
  }
  account.elements.user.value = user;
  account.elements.password.value = password;
  if (user) byId('account-box').open = true;
  byId('dial').elements.target.value = params.get('target') || '';

  account.onsubmit = (ev) => {
    ev.preventDefault();
    phone.start(account.elements.user.value.trim(), account.elements.password.value);
  };
  byId('unregister').onclick = () => {
    if (phone.ua) phone.ua.unregister();
  };
  byId('dial').onsubmit = (ev) => {
    ev.preventDefault();
    phone.call(byId('dial').elements.target.value);
  };
  for (const b of byId('keypad').querySelectorAll('button')) b.onclick = () => phone.key(b.dataset.key);
  document.addEventListener('keydown', (ev) => {
    if (ev.target instanceof HTMLInputElement) return;
    if (/^[0-9*#]$/.test(ev.key)) phone.key(ev.key);
  });
  byId('mute').onclick = () => phone.toggleMute();
  byId('hangup').onclick = () => phone.hangup();
  window.addEventListener('pagehide', () => phone.stop());
  phone.setCall('idle');
  phone.start(user, password);
}

main();
