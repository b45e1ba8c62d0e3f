// The admin dashboard: log in with an API key (kept in sessionStorage, so
// it is gone when the tab closes), then list rooms and their live
// participants, refreshed every few seconds, with mute and kick, and a
// "Call a phone" panel per room (dial.js).

import { API } from './api.js';
import { dialPanel } from './dial.js';
import { byId, clearNotice, el, setStatus, showNotice } from './dom.js';

const keyStorage = 'roombridge.apiKey';
const refreshMs = 3000;
// refreshFailed is set while the notice shows an error of the refresh loop.
let refreshFailed = false;
const confirmMs = 4000;

/** Debug handle for tests and the console. */
const debug = { rooms: [], participants: {}, refreshes: 0, lastError: '', calls: {} };
window.roombridgeAdmin = debug;

let api = null;
let timer = 0;
/** Kick buttons waiting for their second click: "room/id" → deadline. */
const confirming = new Map();
/**
 * Room cards by name, {section, content, dial}: kept across refreshes so
 * that the dial panel's inputs and calls survive them.
 */
const cards = new Map();

function login(key) {
  sessionStorage.setItem(keyStorage, key);
  api = new API(key);
  byId('login').hidden = true;
  byId('logout').hidden = false;
  refresh();
}

function logout(message) {
  sessionStorage.removeItem(keyStorage);
  api = null;
  clearTimeout(timer);
  for (const c of cards.values()) c.dial.stop();
  cards.clear();
  byId('rooms').replaceChildren();
  byId('login').hidden = false;
  byId('logout').hidden = true;
  setStatus('');
  if (message) showNotice(message, 'error');
  else clearNotice();
}

async function refresh() {
  clearTimeout(timer);
  if (!api) return;
  try {
    const rooms = await api.rooms();
    const lists = await Promise.all(rooms.map((r) => api.participants(r.name).catch((err) => err)));
    debug.rooms = rooms;
    debug.participants = {};
    rooms.forEach((r, i) => { debug.participants[r.name] = lists[i] instanceof Error ? [] : lists[i]; });
    render(rooms, lists);
    const failed = lists.find((l) => l instanceof Error);
    if (failed) fail(failed, true);
    else if (refreshFailed) {
      // Only the refresh's own error goes away when it recovers: an
      // action's error stays until the next action, so it can be read.
      refreshFailed = false;
      debug.lastError = '';
      clearNotice();
    }
    debug.refreshes++;
    setStatus(`Updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    if (err.status === 401 || err.status === 403) {
      logout(`Login failed: ${err.message}`);
      return;
    }
    fail(err, true);
  }
  timer = setTimeout(refresh, refreshMs);
}

/** Shows err; fromRefresh marks errors the next good refresh may clear. */
function fail(err, fromRefresh = false) {
  refreshFailed = fromRefresh;
  debug.lastError = err.message;
  showNotice(err.message, 'error');
}

/** Shows an action's error; a rejected key logs out. */
function actionFailed(err) {
  if (err.status === 401) logout(`Login failed: ${err.message}`);
  else fail(err);
}

/** Runs an API action, shows its error, and refreshes at once. */
async function act(fn) {
  try {
    await fn();
    clearNotice();
  } catch (err) {
    if (err.status === 401) return logout(`Login failed: ${err.message}`);
    fail(err);
    return undefined;
  }
  return refresh();
}

function render(rooms, lists) {
  const root = byId('rooms');
  const names = new Set(rooms.map((r) => r.name));
  for (const [name, c] of cards) {
    if (!names.has(name)) {
      c.dial.stop();
      cards.delete(name);
    }
  }
  if (rooms.length === 0) {
    root.replaceChildren(el('p', { class: 'empty', text: 'No rooms.' }));
    return;
  }
  const sections = rooms.map((r, i) => roomCard(r, lists[i]));
  // Re-inserting an unchanged card would take the focus from its inputs.
  if (sections.length !== root.children.length || sections.some((s, i) => root.children[i] !== s)) {
    root.replaceChildren(...sections);
  }
}

function roomCard(room, list) {
  const meta = [];
  if (room.sip_uri) meta.push(room.sip_uri);
  if (room.numeric_id) meta.push(`id ${room.numeric_id}`);
  if (Array.isArray(room.aliases) && room.aliases.length) meta.push(`aliases ${room.aliases.join(', ')}`);
  let body;
  if (list instanceof Error) {
    body = el('p', { class: 'empty', text: `Participants unavailable: ${list.message}` });
  } else if (list.length === 0) {
    body = el('p', { class: 'empty', text: 'Nobody here.' });
  } else {
    body = el('table', {},
      el('thead', {}, el('tr', {}, ...['Name', 'Kind', 'Tracks', 'Audio', 'Video', 'Joined', ''].map((h) => el('th', { text: h })))),
      el('tbody', {}, ...list.map((p) => participantRow(room.name, p))));
  }
  let card = cards.get(room.name);
  if (!card) {
    const dial = dialPanel(room.name, {
      getAPI: () => api, onError: actionFailed, onDone: clearNotice, states: debug.calls,
    });
    const content = el('div');
    card = { section: el('section', { class: 'room-card', 'data-room': room.name }, content, dial.element), content, dial };
    cards.set(room.name, card);
  }
  card.content.replaceChildren(
    el('h2', {}, room.name, el('span', { class: 'meta', text: meta.join(' · ') }),
      el('span', { class: 'meta', text: list instanceof Error ? '' : `${list.length} participant${list.length === 1 ? '' : 's'}` })),
    body);
  return card.section;
}

function participantRow(room, p) {
  const key = `${room}/${p.id}`;
  const pending = (confirming.get(key) || 0) > Date.now();
  const tracks = Array.isArray(p.tracks) ? p.tracks.map((t) => t.kind || t.codec || '?').join(', ') : '';
  return el('tr', { 'data-id': p.id },
    el('td', { class: 'pname', text: p.name || p.id }),
    el('td', { text: p.kind || '' }),
    el('td', { text: tracks }),
    el('td', { text: p.audio_muted ? 'muted' : 'on' }),
    el('td', { text: p.video_muted ? 'muted' : 'on' }),
    el('td', { text: joinedAt(p.joined_at) }),
    el('td', { class: 'actions' },
      el('button', {
        type: 'button', class: 'mute-audio', text: p.audio_muted ? 'Unmute' : 'Mute',
        onclick: () => act(() => api.mute(room, p.id, { audio: !p.audio_muted })),
      }),
      el('button', {
        type: 'button', class: 'mute-video', text: p.video_muted ? 'Unmute video' : 'Mute video',
        onclick: () => act(() => api.mute(room, p.id, { video: !p.video_muted })),
      }),
      el('button', {
        type: 'button', class: pending ? 'kick danger' : 'kick', text: pending ? 'Really kick?' : 'Kick',
        // Two clicks instead of confirm(): a modal dialog would stall the
        // refresh loop and headless test browsers.
        onclick: (ev) => {
          if ((confirming.get(key) || 0) > Date.now()) {
            confirming.delete(key);
            act(() => api.kick(room, p.id));
            return;
          }
          confirming.set(key, Date.now() + confirmMs);
          ev.target.textContent = 'Really kick?';
          ev.target.classList.add('danger');
        },
      })));
}

function joinedAt(v) {
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleTimeString();
}

function main() {
  const form = byId('login');
  form.onsubmit = (ev) => {
    ev.preventDefault();
    const key = new FormData(form).get('key').trim();
    if (key) login(key);
  };
  byId('logout').onclick = () => logout('');
  const key = sessionStorage.getItem(keyStorage);
  if (key) login(key);
  else logout('');
}

main();
