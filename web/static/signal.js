// The WebSocket side of the signalling protocol in sfu/protocol.go.
// Messages are handled strictly one after another, each handler awaited
// before the next starts, so that SDP and ICE changes to a PeerConnection
// are applied in the order the server sent them.

export class Signal {
  /**
   * @param {string} url ws(s)://host/v1/rtc
   * @param {(msg: object) => Promise<void>|void} onMessage
   * @param {(ev: CloseEvent) => void} onClose called once, after queued messages
   */
  constructor(url, onMessage, onClose) {
    this.url = url;
    this.onMessage = onMessage;
    this.onClose = onClose;
    this.queue = Promise.resolve();
    this.ws = null;
  }

  /** Opens the socket; resolves when it is open, rejects if it fails first. */
  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      let opened = false;
      ws.onopen = () => { opened = true; resolve(); };
      ws.onmessage = (ev) => {
        let msg;
        try {
          msg = JSON.parse(ev.data);
        } catch (err) {
          console.warn('signal: bad message', ev.data);
          return;
        }
        this.enqueue(() => this.onMessage(msg));
      };
      ws.onclose = (ev) => {
        if (!opened) reject(new Error(`cannot connect to ${this.url} (code ${ev.code})`));
        // Let messages that arrived before the close (removed, error)
        // be handled first so their notice wins over "connection lost".
        this.enqueue(() => this.onClose(ev));
      };
    });
  }

  enqueue(fn) {
    this.queue = this.queue.then(fn).catch((err) => console.error('signal: handler failed:', err));
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(msg));
      return true;
    }
    return false;
  }

  close() {
    if (this.ws) this.ws.close(1000, 'bye');
  }
}

/** The signalling URL on the page's own origin. */
export function signalURL(loc = location) {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/v1/rtc`;
}
