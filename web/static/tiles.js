// The grid of participant tiles: one per participant, with video, audio,
// name, mute icons and a speaking ring. Tiles are keyed by participant id,
// which is also the MediaStream id of that participant's remote tracks, so
// a track can arrive before or after the participant's own message. A
// participant's screen share gets a tile of its own, keyed id#screen.

import { el } from './dom.js';
import { participantKind } from './people.js';

export class Tiles {
  /**
   * @param {HTMLElement} root container
   * @param {(blocked: boolean) => void} onAutoplayBlocked told when audio
   *   needs a click before the browser will play it
   */
  constructor(root, onAutoplayBlocked) {
    this.root = root;
    this.onAutoplayBlocked = onAutoplayBlocked;
    /** @type {Map<string, {root: HTMLElement, video: HTMLVideoElement, audio: HTMLAudioElement, name: HTMLElement, state: HTMLElement, stream: MediaStream}>} */
    this.tiles = new Map();
  }

  /** Returns the tile for id, creating an empty one. */
  tile(id) {
    let t = this.tiles.get(id);
    if (t) return t;
    const video = el('video', { autoplay: true, playsInline: true, muted: true });
    const audio = el('audio', { autoplay: true });
    const name = el('span', { class: 'name' });
    const state = el('span', { class: 'state' });
    const avatar = el('div', { class: 'avatar', 'aria-hidden': 'true' });
    const root = el('article', { class: 'tile no-video', 'data-id': id }, video, avatar, audio,
      el('div', { class: 'label' }, name, state));
    const stream = new MediaStream();
    t = { root, video, audio, name, state, avatar, stream };
    this.tiles.set(id, t);
    this.root.append(root);
    return t;
  }

  /** Shows the local preview; its audio is never played back. */
  setSelf(id, name, stream) {
    const t = this.tile(id);
    t.root.classList.add('self');
    t.audio.remove();
    t.video.srcObject = stream;
    this.setVideo(t, stream.getVideoTracks().length > 0);
    this.update(id, { name });
    t.name.textContent = `${name || 'Guest'} (you)`;
  }

  /** Updates name and mute icons from a participant record. */
  update(id, p) {
    const t = this.tile(id);
    if (p.name !== undefined) {
      t.name.textContent = p.name || 'Guest';
      t.avatar.textContent = initials(p.name);
      const sc = this.tiles.get(screenKey(id));
      if (sc) sc.name.textContent = `${p.name || 'Guest'} (screen)`;
    }
    const icons = [];
    if (p.audio_muted) icons.push('mic off');
    if (p.video_muted) icons.push('camera off');
    if (p.kind && p.kind !== 'webrtc') icons.push(participantKind(p).label.toLowerCase());
    t.state.textContent = icons.join(' · ');
    t.root.classList.toggle('audio-muted', !!p.audio_muted);
    t.root.classList.toggle('video-muted', !!p.video_muted);
  }

  /**
   * Adds a remote track to its participant's tile (a screen share to the
   * participant's screen tile) and plays it.
   */
  addTrack(id, track, source = 'camera') {
    if (source === 'screen' && track.kind === 'video') {
      this.addScreen(id, track);
      return;
    }
    const t = this.tile(id);
    for (const old of t.stream.getTracks()) {
      if (old.kind === track.kind && old !== track) t.stream.removeTrack(old);
    }
    t.stream.addTrack(track);
    track.addEventListener('ended', () => this.removeTrack(id, track));
    if (track.kind === 'video') {
      t.video.srcObject = new MediaStream([track]);
      this.setVideo(t, true);
      this.play(t.video);
    } else {
      t.audio.srcObject = new MediaStream([track]);
      this.play(t.audio);
    }
  }

  addScreen(id, track) {
    const key = screenKey(id);
    const t = this.tile(key);
    t.root.classList.add('screen');
    t.root.dataset.owner = id;
    t.audio.remove();
    const owner = this.tiles.get(id);
    const name = owner ? owner.name.textContent : '';
    t.name.textContent = `${name || 'Guest'} (screen)`;
    t.avatar.textContent = '';
    t.video.srcObject = new MediaStream([track]);
    this.setVideo(t, true);
    this.play(t.video);
    track.addEventListener('ended', () => this.removeTrack(id, track));
  }

  removeTrack(id, track) {
    const sc = this.tiles.get(screenKey(id));
    if (sc && sc.video.srcObject && sc.video.srcObject.getTracks().includes(track)) {
      this.remove(screenKey(id));
      return;
    }
    const t = this.tiles.get(id);
    if (!t) return;
    t.stream.removeTrack(track);
    const media = track.kind === 'video' ? t.video : t.audio;
    if (media.srcObject && media.srcObject.getTracks().includes(track)) {
      media.srcObject = null;
      if (track.kind === 'video') this.setVideo(t, false);
    }
  }

  remove(id) {
    if (this.tiles.has(screenKey(id))) this.remove(screenKey(id));
    const t = this.tiles.get(id);
    if (!t) return;
    t.video.srcObject = null;
    t.audio.srcObject = null;
    t.root.remove();
    this.tiles.delete(id);
  }

  /** Marks the pinned participant's tile ('' for none). */
  setPinned(id) {
    for (const [key, t] of this.tiles) t.root.classList.toggle('pinned', key === id);
  }

  /** Marks exactly the given ids as speaking. */
  setSpeaking(ids) {
    for (const [id, t] of this.tiles) t.root.classList.toggle('speaking', ids.has(id));
  }

  setVideo(t, on) {
    t.root.classList.toggle('no-video', !on);
  }

  play(media) {
    const p = media.play();
    if (p && p.catch) {
      p.then(() => this.onAutoplayBlocked(false)).catch((err) => {
        if (err.name === 'NotAllowedError') this.onAutoplayBlocked(true);
      });
    }
  }

  /** Retries playback after a user gesture. */
  resume() {
    for (const t of this.tiles.values()) {
      if (t.audio.isConnected && t.audio.srcObject) this.play(t.audio);
      if (t.video.srcObject) this.play(t.video);
    }
  }

  clear() {
    for (const id of [...this.tiles.keys()]) this.remove(id);
  }
}

function screenKey(id) {
  return `${id}#screen`;
}

function initials(name) {
  return (name || '?').split(/\s+/).filter(Boolean).slice(0, 2)
    .map((w) => [...w][0].toUpperCase()).join('');
}
