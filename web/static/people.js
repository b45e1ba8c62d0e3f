// The side panel of the room page: everyone in the room with what they
// joined with (browser, phone, room system, browser SIP client), whether
// they speak or are muted, and how to join by phone.

import { byId, el } from './dom.js';

/**
 * What a participant is, from the signalling's kind, attributes and
 * tracks: {id, label}.
 */
export function participantKind(p) {
  if (p.kind === 'webrtc') return { id: 'browser', label: 'Browser' };
  if (p.kind === 'sip') {
    const transport = (p.attributes || {})['sip.transport'];
    if (transport === 'ws' || transport === 'wss') return { id: 'browser-sip', label: 'Browser (SIP)' };
    if ((p.tracks || []).some((t) => t.kind === 'video')) return { id: 'room-system', label: 'Room system' };
    return { id: 'phone', label: 'Phone' };
  }
  return { id: p.kind || 'unknown', label: p.kind || 'Unknown' };
}

export class People {
  constructor() {
    this.root = byId('people');
    this.list = byId('people-list');
  }

  /** Renders self and the others (a map id → participant). */
  render(self, others) {
    const all = [];
    if (self) all.push({ ...self, self: true });
    for (const p of Object.values(others)) if (p.name !== undefined || p.kind) all.push(p);
    all.sort((a, b) => (b.self ? 1 : 0) - (a.self ? 1 : 0) || String(a.name).localeCompare(String(b.name)));
    this.list.replaceChildren(...all.map((p) => {
      const kind = participantKind(p);
      const li = el('li', { class: `person kind-${kind.id}`, 'data-id': p.id, 'data-kind': kind.id },
        el('span', { class: 'speaking-dot', title: p.speaking ? 'Speaking' : '', 'aria-label': p.speaking ? 'speaking' : '' }),
        el('span', { class: 'pname', text: `${p.name || 'Guest'}${p.self ? ' (you)' : ''}` }),
        el('span', { class: 'kind', text: kind.label }),
        p.audio_muted ? el('span', { class: 'muted', text: 'mic off' }) : null);
      li.classList.toggle('speaking', Boolean(p.speaking));
      return li;
    }));
    byId('people-count').textContent = `(${all.length})`;
    this.root.hidden = false;
  }

  /** Shows the room's dial-in details (numbers and PIN when it has one). */
  dialIn(d) {
    if (!d) return;
    const show = (id, text) => {
      byId(id).textContent = text;
      byId(id).hidden = !text;
      const label = document.getElementById(`${id}-label`);
      if (label) label.hidden = !text;
    };
    show('dialin-numbers', (d.numbers || []).join(', '));
    show('dialin-pin', d.pin ? `${d.pin} #` : '');
    show('dialin-sip', d.sip_uri || '');
    byId('dialin').hidden = false;
  }

  hide() {
    this.root.hidden = true;
  }
}
