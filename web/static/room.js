// The room page: captures the microphone and camera, joins the room over
// the signalling WebSocket and shows everyone else. See sfu/protocol.go for
// the protocol: the "pub" PeerConnection is offered by us and carries our
// tracks; the "sub" PeerConnection is offered by the server and carries
// everyone else's, each remote stream's id being its publisher's id.

import { byId, clearNotice, setStatus, showNotice } from './dom.js';
import { captureLocal, iceServers } from './media.js';
import { People } from './people.js';
import { PreJoin, savedChoice } from './prejoin.js';
import { Signal, signalURL } from './signal.js';
import { Tiles } from './tiles.js';
import { captureScreen, preferH264, sourceOf, wantsH264 } from './video.js';

/**
 * Debug handle for tests and the console. state goes idle → connecting →
 * media → joined, then left, removed, error or closed; or connecting →
 * pin when the room asks for its PIN (the camera starts only once the
 * server has let us in, unless the pre-join screen started it). dialin is
 * the room's dial-in details from the joined message, null without.
 */
const debug = { pub: null, sub: null, participants: {}, self: null, state: 'idle', notice: '', dialin: null, videoCodec: '', pinned: '', screen: null };
window.roombridge = debug;

class Session {
  /**
   * choice is the devices to capture ({mic, cam}); media, when the
   * pre-join screen already captured them, is {stream, warning}. onPIN is
   * called when the server wants the room's PIN (reason pin_required) or
   * refused the one we sent (pin_wrong); the session is over by then.
   */
  constructor(room, name, token, pin, onPIN, choice = {}, media = null) {
    this.room = room;
    this.name = name;
    this.token = token;
    this.pin = pin;
    this.onPIN = onPIN;
    this.choice = choice;
    this.media = media;
    this.people = new People();
    // Set once the session is over; a late event of its socket (the close
    // after a PIN refusal) must not touch the page of the next session.
    this.done = false;
    this.stream = new MediaStream();
    this.signal = null;
    this.pending = { pub: [], sub: [] };
    // The "pub" offer in flight: a change made meanwhile (screen share,
    // codec switch) sets again, and the next offer goes once the answer
    // is in. Nothing here ever waits for the answer: messages are handled
    // one at a time, so waiting inside a handler would wait forever.
    this.offering = false;
    this.again = false;
    // MediaStreamTrack id → "camera" or "screen", sent with each offer.
    this.sources = {};
    this.camera = null; // the camera's transceiver
    this.screen = null; // {stream, transceiver} while sharing
    this.tiles = new Tiles(byId('tiles'), (blocked) => { byId('unblock').hidden = !blocked; });
  }

  setState(s) {
    debug.state = s;
    const labels = { media: 'Starting camera…', connecting: 'Connecting…', joined: 'In the room', left: 'Left', removed: 'Removed', error: 'Error', closed: 'Disconnected', pin: 'PIN needed' };
    setStatus(labels[s] || s);
  }

  end(state, notice, kind = 'info', rejoin = true) {
    if (this.done) return;
    this.done = true;
    this.setState(state);
    debug.notice = notice;
    showNotice(notice, kind, rejoin ? { href: location.pathname + location.search, text: 'Rejoin' } : null);
    for (const pc of [debug.pub, debug.sub]) if (pc) pc.close();
    for (const t of this.stream.getTracks()) t.stop();
    if (this.screen) for (const t of this.screen.stream.getTracks()) t.stop();
    this.screen = null;
    debug.screen = null;
    // A pre-join capture goes on to the next session only after a PIN
    // refusal; otherwise the camera stops here too.
    if (state !== 'pin' && this.media) for (const t of this.media.stream.getTracks()) t.stop();
    this.tiles.clear();
    this.people.hide();
    byId('controls').hidden = true;
    if (this.signal) this.signal.close();
  }

  async start() {
    this.setState('connecting');
    this.signal = new Signal(signalURL(), (m) => this.handle(m), () => {
      this.end('closed', 'The connection to the server was lost.', 'error');
    });
    try {
      await this.signal.open();
    } catch (err) {
      this.end('error', err.message, 'error');
      return;
    }
    const join = { type: 'join', room: this.room, name: this.name };
    if (this.token) join.token = this.token;
    if (this.pin) join.pin = this.pin;
    this.signal.send(join);
  }

  async handle(msg) {
    switch (msg.type) {
      case 'joined': return this.onJoined(msg);
      case 'answer': return this.onAnswer(msg);
      case 'offer': return this.onOffer(msg);
      case 'candidate': return this.onCandidate(msg);
      case 'participant_joined':
      case 'participant_updated': return this.upsert(msg.participant);
      case 'participant_left': return this.onLeft(msg.participant);
      case 'active_speakers': return this.onSpeakers(msg.speakers || []);
      case 'muted': return this.onMuted(msg);
      case 'pinned': return this.onPinned(msg.participant);
      case 'video_codec': return this.onVideoCodec(msg.video_codec);
      case 'removed':
        return this.end('removed', `You were removed from the room${msg.reason ? ` (${msg.reason})` : ''}.`, 'error');
      case 'error':
        if (msg.reason === 'pin_required' || msg.reason === 'pin_wrong') {
          const wrong = msg.reason === 'pin_wrong';
          this.end('pin', wrong ? 'Wrong PIN. Try again.' : 'This room needs its PIN.', wrong ? 'error' : 'info', false);
          return this.onPIN(msg.reason);
        }
        return this.end('error', `The server refused: ${msg.error || 'unknown error'}`, 'error');
      default:
        console.debug('signal: ignoring', msg.type);
    }
  }

  async onJoined(msg) {
    // The camera starts once the server has let us in (unless the pre-join
    // screen started it for its preview).
    this.setState('media');
    const { stream, warning } = this.media || await captureLocal(this.choice);
    if (this.done) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    this.stream = stream;
    if (warning) showNotice(warning);
    debug.self = msg.participant || null;
    debug.videoCodec = msg.video_codec || '';
    const selfID = debug.self ? debug.self.id : 'self';
    this.tiles.setSelf(selfID, this.name, this.stream);
    for (const p of msg.participants || []) this.upsert(p);
    debug.dialin = msg.dialin || null;
    this.people.dialIn(msg.dialin);

    const config = { iceServers: iceServers(msg.ice_servers), bundlePolicy: 'max-bundle' };
    debug.pub = this.newPC('pub', config);
    debug.sub = this.newPC('sub', config);
    debug.sub.ontrack = (ev) => this.onTrack(ev);
    this.setState('joined');
    byId('controls').hidden = false;
    this.syncSelf();
    await this.publish();
  }

  newPC(which, config) {
    const pc = new RTCPeerConnection(config);
    pc.onicecandidate = (ev) => {
      // A null candidate only says gathering is over; the protocol has no
      // end-of-candidates message.
      if (ev.candidate && ev.candidate.candidate) {
        this.signal.send({ type: 'candidate', pc: which, candidate: ev.candidate.toJSON() });
      }
    };
    pc.onconnectionstatechange = () => {
      console.info(`${which}: connection ${pc.connectionState}`);
      if (pc.connectionState === 'failed' && debug.state === 'joined') {
        showNotice(`Media connection (${which}) failed; check your network or firewall.`, 'error');
      }
    };
    return pc;
  }

  async publish() {
    const tracks = this.stream.getTracks();
    if (tracks.length === 0) return; // listen-only: nothing to offer
    for (const track of tracks) {
      if (track.kind === 'video') {
        this.addCamera(track);
        continue;
      }
      debug.pub.addTransceiver(track, { direction: 'sendonly', streams: [this.stream] });
    }
    await this.negotiate();
  }

  /** Adds the camera, H.264 first when the room has a room system. */
  addCamera(track) {
    this.camera = debug.pub.addTransceiver(track, { direction: 'sendonly', streams: [this.stream] });
    if (wantsH264(debug.videoCodec)) preferH264(this.camera);
    this.sources[track.id] = 'camera';
  }

  /**
   * Sends a "pub" offer, or marks one as due when an offer is still
   * waiting for its answer. It returns without waiting for the answer.
   */
  async negotiate() {
    if (!debug.pub || this.done) return;
    if (this.offering) {
      this.again = true;
      return;
    }
    this.offering = true;
    this.again = false;
    await debug.pub.setLocalDescription(await debug.pub.createOffer());
    this.signal.send({ type: 'offer', pc: 'pub', sdp: debug.pub.localDescription.sdp, sources: { ...this.sources } });
  }

  async onAnswer(msg) {
    if (msg.pc !== 'pub' || !debug.pub) return;
    await debug.pub.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
    this.offering = false;
    await this.flush('pub');
    if (this.again) this.negotiateAside();
  }

  /**
   * Runs negotiate outside the message queue: building a "pub" offer
   * (an encoder for a new camera) can take hundreds of milliseconds, and
   * the server's "sub" offer behind it in the queue, with a room system's
   * first picture, should not wait for it. The answer still comes through
   * the queue, after the offer is sent; the offering flag, set before the
   * first await, folds overlapping calls into one.
   */
  negotiateAside() {
    this.negotiate().catch((err) => console.error('pub: negotiate failed:', err));
  }

  /**
   * A room system joined: the camera goes out again as H.264 on a new
   * transceiver (a sender cannot change codec family without the server
   * seeing a new track), unless it already sends H.264.
   */
  async onVideoCodec(codec) {
    debug.videoCodec = codec || '';
    if (!wantsH264(codec) || !this.camera || !debug.pub) return;
    const params = this.camera.sender.getParameters();
    const current = params.codecs && params.codecs[0] ? params.codecs[0].mimeType.toLowerCase() : '';
    if (current === 'video/h264') return;
    const track = this.camera.sender.track;
    this.camera.stop();
    this.camera = null;
    if (track) this.addCamera(track);
    this.negotiateAside();
  }

  /** Starts or stops sharing the screen (the "Share screen" button). */
  async toggleScreen() {
    if (this.screen) {
      this.signal.enqueue(() => this.stopScreen());
      return;
    }
    // The picker waits for the user: outside the message queue.
    let stream;
    try {
      stream = await captureScreen();
    } catch (err) {
      showNotice(`Cannot share the screen: ${err.message}`, 'error');
      return;
    }
    if (!stream) return;
    if (this.done || !debug.pub) {
      for (const t of stream.getTracks()) t.stop();
      return;
    }
    this.signal.enqueue(async () => {
      const track = stream.getVideoTracks()[0];
      const transceiver = debug.pub.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (wantsH264(debug.videoCodec)) preferH264(transceiver);
      this.sources[track.id] = 'screen';
      this.screen = { stream, transceiver };
      debug.screen = track.id;
      // The browser's own "Stop sharing" ends the track.
      track.addEventListener('ended', () => this.signal.enqueue(() => this.stopScreen()));
      this.syncButtons();
      await this.negotiate();
    });
  }

  async stopScreen() {
    const sc = this.screen;
    if (!sc) return;
    this.screen = null;
    debug.screen = null;
    for (const t of sc.stream.getTracks()) {
      delete this.sources[t.id];
      t.stop();
    }
    if (sc.transceiver.currentDirection !== 'stopped') sc.transceiver.stop();
    this.syncButtons();
    await this.negotiate();
  }

  onPinned(p) {
    debug.pinned = (p && p.id) || '';
    this.tiles.setPinned(debug.pinned);
  }

  async onOffer(msg) {
    if (msg.pc !== 'sub' || !debug.sub) return;
    const pc = debug.sub;
    await pc.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    this.signal.send({ type: 'answer', pc: 'sub', sdp: pc.localDescription.sdp });
    await this.flush('sub');
  }

  async onCandidate(msg) {
    const pc = msg.pc === 'pub' ? debug.pub : msg.pc === 'sub' ? debug.sub : null;
    if (!pc || !msg.candidate) return;
    // Candidates may outrun the description they belong to.
    if (!pc.remoteDescription) {
      this.pending[msg.pc].push(msg.candidate);
      return;
    }
    await addCandidate(pc, msg.candidate);
  }

  async flush(which) {
    const pc = which === 'pub' ? debug.pub : debug.sub;
    const list = this.pending[which];
    this.pending[which] = [];
    for (const c of list) await addCandidate(pc, c);
  }

  onTrack(ev) {
    const stream = ev.streams[0];
    if (!stream) {
      console.warn('sub: track without a stream; cannot tell whose it is');
      return;
    }
    const id = stream.id;
    if (!debug.participants[id]) debug.participants[id] = { id, name: '', tracks: [] };
    // The publisher's participant_updated (with its tracks' sources)
    // always comes before the offer carrying the track.
    const source = ev.track.kind === 'video' ? sourceOf(debug.participants[id], ev.track.id) : 'camera';
    this.tiles.addTrack(id, ev.track, source);
    stream.addEventListener('removetrack', (e) => this.tiles.removeTrack(id, e.track));
  }

  upsert(p) {
    if (!p || !p.id) return;
    if (debug.self && p.id === debug.self.id) {
      // The local tracks are the truth for our own mute state.
      debug.self = { ...debug.self, ...p };
      this.syncSelf();
      return;
    }
    const merged = { ...(debug.participants[p.id] || {}), ...p };
    debug.participants[p.id] = merged;
    this.tiles.update(p.id, merged);
    this.renderPeople();
  }

  renderPeople() {
    if (debug.state === 'joined' || debug.self) this.people.render(debug.self, debug.participants);
  }

  onLeft(p) {
    if (!p || !p.id) return;
    delete debug.participants[p.id];
    this.tiles.remove(p.id);
    this.renderPeople();
  }

  onSpeakers(speakers) {
    const ids = new Set(speakers.filter((s) => s.level === undefined || s.level > 0.01).map((s) => s.id));
    for (const [id, p] of Object.entries(debug.participants)) p.speaking = ids.has(id);
    if (debug.self) debug.self.speaking = ids.has(debug.self.id);
    this.tiles.setSpeaking(ids);
    this.renderPeople();
  }

  onMuted(msg) {
    const track = this.track(msg.kind);
    // Only muting is applied: unmuting someone's microphone is their call.
    if (!msg.muted) return;
    if (track) track.enabled = false;
    showNotice(`Your ${msg.kind === 'video' ? 'camera' : 'microphone'} was muted by the host.`);
    this.syncSelf();
  }

  track(kind) {
    return kind === 'video' ? this.stream.getVideoTracks()[0] : this.stream.getAudioTracks()[0];
  }

  /** Turns a local track on or off and tells the room. */
  toggle(kind) {
    const track = this.track(kind);
    if (!track) return;
    track.enabled = !track.enabled;
    this.signal.send({ type: 'mute', kind, muted: !track.enabled });
    this.syncSelf();
  }

  /** Shows the local tracks' state on the buttons and the self tile. */
  syncSelf() {
    if (debug.self) {
      const a = this.track('audio');
      const v = this.track('video');
      debug.self.audio_muted = !a || !a.enabled;
      debug.self.video_muted = !v || !v.enabled;
      this.tiles.update(debug.self.id, { ...debug.self, name: undefined });
    }
    this.syncButtons();
    this.renderPeople();
  }

  syncButtons() {
    const mic = byId('mic');
    const cam = byId('cam');
    const screen = byId('screen');
    screen.disabled = !debug.pub;
    screen.textContent = this.screen ? 'Stop sharing' : 'Share screen';
    screen.setAttribute('aria-pressed', String(!!this.screen));
    const a = this.track('audio');
    const v = this.track('video');
    mic.disabled = !a;
    cam.disabled = !v;
    mic.textContent = a && !a.enabled ? 'Unmute mic' : 'Mute mic';
    cam.textContent = v && !v.enabled ? 'Start camera' : 'Stop camera';
    mic.setAttribute('aria-pressed', String(!!a && !a.enabled));
    cam.setAttribute('aria-pressed', String(!!v && !v.enabled));
  }

  leave() {
    if (this.signal) this.signal.send({ type: 'leave' });
    this.end('left', 'You left the room.');
  }
}

async function addCandidate(pc, c) {
  try {
    await pc.addIceCandidate(c);
  } catch (err) {
    console.warn('addIceCandidate:', err.message);
  }
}

function main() {
  const room = document.body.dataset.room;
  const params = new URLSearchParams(location.search);
  const token = params.get('token') || '';
  const linkPIN = params.get('pin') || '';
  if (token || linkPIN) {
    // Keep the token and PIN out of the address bar, history and
    // screenshots.
    params.delete('token');
    params.delete('pin');
    history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}`);
  }
  const start = (name, pin, choice, media = null) => {
    const s = new Session(room, name, token, pin, () => askPIN(name, choice, media), choice, media);
    byId('mic').onclick = () => s.toggle('audio');
    byId('cam').onclick = () => s.toggle('video');
    byId('screen').onclick = () => s.toggleScreen();
    byId('leave').onclick = () => s.leave();
    byId('unblock').onclick = () => s.tiles.resume();
    window.onpagehide = () => s.leave();
    s.start().catch((err) => {
      console.error(err);
      s.end('error', `Could not join: ${err.message}`, 'error');
    });
  };
  const askPIN = (name, choice, media) => {
    const form = byId('pin-form');
    form.reset();
    form.hidden = false;
    setStatus('');
    form.elements.pin.focus();
    form.onsubmit = (ev) => {
      ev.preventDefault();
      const pin = String(new FormData(form).get('pin')).trim();
      if (!pin) return;
      form.hidden = true;
      clearNotice();
      start(name, pin, choice, media);
    };
  };
  const name = (params.get('name') || '').trim();
  if (name) {
    // A join link that names you goes straight in, with the devices chosen
    // last time.
    start(name, linkPIN, savedChoice());
    return;
  }
  setStatus('');
  new PreJoin(byId('name-form')).show().then(({ fields, choice, media }) => {
    const n = String(fields.name).trim();
    params.set('name', n);
    history.replaceState(null, '', `${location.pathname}?${params}`);
    clearNotice();
    start(n, linkPIN, choice, media);
  });
}

main();
