// The admin page's "Call a phone" panel of one room: a form that dials out
// from the room (POST /v1/rooms/{name}/dial), then follows each call by
// polling GET /v1/calls/{id} until it ends, with a hang-up button
// (DELETE /v1/calls/{id}). The admin page keeps one panel per room across
// its refreshes, so what is typed and the calls shown survive them.

import { el } from './dom.js';

const pollMs = 1000;
// Ended calls shown under the form; live ones always stay.
const keepEnded = 5;

/**
 * Builds the panel of room. getAPI returns the logged-in client or null;
 * onError shows an error (an APIError names the refused field);
 * onDone clears it; states (a debug map) gets call id → state.
 * Returns {element, stop}; stop ends the polling.
 */
export function dialPanel(room, { getAPI, onError, onDone, states }) {
  let alive = true;
  const list = el('ul', { class: 'dial-calls' });
  const submit = el('button', { type: 'submit', text: 'Call' });
  const form = el('form', { class: 'dial-form', hidden: true },
    el('label', {}, 'To', el('input', { name: 'to', required: true, autocomplete: 'off', placeholder: '+15551234567 or sip:room@host' })),
    el('label', {}, 'Display name', el('input', { name: 'name', autocomplete: 'off', placeholder: 'optional' })),
    el('label', {}, 'DTMF after answer', el('input', { name: 'dtmf', autocomplete: 'off', placeholder: 'optional, e.g. 1234#', size: 10 })),
    submit);
  const open = el('button', {
    type: 'button', class: 'dial-open', text: 'Call a phone', 'aria-expanded': 'false',
    onclick: () => {
      form.hidden = !form.hidden;
      open.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) form.elements.to.focus();
    },
  });

  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const api = getAPI();
    if (!api) return;
    const data = new FormData(form);
    const body = { to: String(data.get('to')).trim() };
    for (const k of ['name', 'dtmf']) {
      const v = String(data.get(k)).trim();
      if (v) body[k] = v;
    }
    for (const input of form.querySelectorAll('input')) input.removeAttribute('aria-invalid');
    submit.disabled = true;
    try {
      follow(await api.dial(room, body));
      onDone();
    } catch (err) {
      const input = err.field && form.elements[err.field];
      if (input) input.setAttribute('aria-invalid', 'true');
      onError(err);
    } finally {
      submit.disabled = false;
    }
  };

  /** Shows call in the list and polls it until it ends. */
  function follow(call) {
    const state = el('span', { class: 'dial-state' });
    const hangup = el('button', { type: 'button', class: 'hangup danger', text: 'Hang up' });
    const row = el('li', { 'data-call': call.id },
      el('span', { class: 'dial-to', text: call.name ? `${call.name} (${call.to})` : call.to }), state, hangup);
    const show = (c) => {
      state.textContent = describe(c);
      row.dataset.state = c.state;
      hangup.hidden = c.state === 'ended';
      states[call.id] = c.state;
    };
    const poll = async () => {
      const api = getAPI();
      if (!alive || !api) return;
      try {
        const c = await api.call(call.id);
        show(c);
        if (c.state === 'ended') return trim();
      } catch (err) {
        if (err.status === 404) {
          // Ended calls are kept for a while, then forgotten.
          state.textContent = 'no longer known';
          hangup.hidden = true;
          return undefined;
        }
        if (err.status === 401) return onError(err);
        state.textContent = `${row.dataset.state} (polling failed: ${err.message})`;
      }
      setTimeout(poll, pollMs);
      return undefined;
    };
    hangup.onclick = async () => {
      const api = getAPI();
      if (!api) return;
      hangup.disabled = true;
      try {
        show(await api.hangup(call.id));
        onDone();
      } catch (err) {
        onError(err);
      } finally {
        hangup.disabled = false;
      }
    };
    show(call);
    list.prepend(row);
    trim();
    setTimeout(poll, pollMs);
  }

  function trim() {
    const ended = [...list.children].filter((li) => li.dataset.state === 'ended');
    for (const li of ended.slice(keepEnded)) li.remove();
  }

  return {
    element: el('div', { class: 'dial' }, open, form, list),
    stop: () => { alive = false; },
  };
}

/** The call's state as a user reads it: "ringing", "ended (busy, SIP 486)". */
function describe(c) {
  if (c.state === 'ringing' && c.early_media) return 'ringing (early media)';
  if (c.state !== 'ended') return c.state || 'unknown';
  const why = [c.cause, c.status ? `SIP ${c.status}` : ''].filter(Boolean).join(', ');
  return why ? `ended (${why})` : 'ended';
}
