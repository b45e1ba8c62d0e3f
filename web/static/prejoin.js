// The pre-join screen of the room page: name, microphone and camera, with a
// preview of the camera. The chosen devices are remembered for the next
// visit. More fields (a PIN) go into the same form: whatever the form
// holds is handed to the page when the user presses Join.

import { byId, el } from './dom.js';
import { captureLocal } from './media.js';

const storageKey = 'roombridge.devices';

/** The remembered device choice {mic, cam}; ids may be stale. */
export function savedChoice() {
  try {
    const c = JSON.parse(localStorage.getItem(storageKey) || '{}');
    return { mic: String(c.mic || ''), cam: String(c.cam || '') };
  } catch {
    return { mic: '', cam: '' };
  }
}

export class PreJoin {
  constructor(form) {
    this.form = form;
    this.preview = byId('preview');
    this.stream = null;
    this.warning = '';
    this.pending = Promise.resolve();
  }

  /** Shows the form, starts the preview and resolves with the user's
   * choice when Join is pressed: {fields, choice, media}, media being the
   * preview's {stream, warning} (null if capturing failed). */
  show(name = '') {
    this.form.hidden = false;
    const f = this.form.elements;
    f.name.value = name;
    const saved = savedChoice();
    const recapture = (choice) => {
      this.pending = this.capture(choice).catch((err) => console.warn('preview:', err));
    };
    f.mic.onchange = () => recapture();
    f.cam.onchange = () => recapture();
    recapture(saved);
    return new Promise((resolve) => {
      this.form.onsubmit = (ev) => {
        ev.preventDefault();
        const fields = Object.fromEntries(new FormData(this.form));
        if (!String(fields.name || '').trim()) return;
        const choice = this.choice();
        try {
          localStorage.setItem(storageKey, JSON.stringify(choice));
        } catch {
          // Private mode: nothing is remembered.
        }
        this.form.hidden = true;
        // The preview's capture becomes the call's, once it has finished.
        this.pending.then(() => {
          this.preview.srcObject = null;
          resolve({ fields, choice, media: this.stream ? { stream: this.stream, warning: this.warning } : null });
        });
      };
    });
  }

  choice() {
    const f = this.form.elements;
    return { mic: f.mic.value, cam: f.cam.value };
  }

  /** (Re)captures with the selected devices and refreshes the lists. */
  async capture(initial) {
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    const { stream, warning } = await captureLocal(initial || this.choice());
    this.stream = stream;
    this.warning = warning;
    this.preview.srcObject = stream.getVideoTracks().length ? stream : null;
    await this.listDevices(initial || this.choice());
  }

  /** Fills the selects; labels are there once access was granted. */
  async listDevices(choice) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, kind, first) => {
      const opts = first.map(([value, text]) => el('option', { value, text }));
      let n = 0;
      for (const d of devices) {
        if (d.kind !== kind || !d.deviceId || d.deviceId === 'default') continue;
        n++;
        opts.push(el('option', { value: d.deviceId, text: d.label || `${kind === 'audioinput' ? 'Microphone' : 'Camera'} ${n}` }));
      }
      select.replaceChildren(...opts);
    };
    const f = this.form.elements;
    fill(f.mic, 'audioinput', [['', 'Default microphone']]);
    fill(f.cam, 'videoinput', [['', 'Default camera'], ['off', 'No camera']]);
    for (const [select, value] of [[f.mic, choice.mic], [f.cam, choice.cam]]) {
      if ([...select.options].some((o) => o.value === value)) select.value = value;
    }
  }
}
