// A thin client for the room API under /v1/. Errors from the API are JSON
// {"error": "...", "field": "..."}; they become APIError with both parts so
// the dashboard can show them as the server wrote them.

export class APIError extends Error {
  constructor(status, message, field = '') {
    super(field ? `${message} (field: ${field})` : message);
    this.name = 'APIError';
    this.status = status;
    this.field = field;
  }
}

export class API {
  constructor(key, base = '/v1') {
    this.key = key;
    this.base = base;
  }

  async request(method, path, body) {
    const headers = { Authorization: `Bearer ${this.key}`, Accept: 'application/json' };
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(this.base + path, init);
    } catch (err) {
      throw new APIError(0, `network error: ${err.message}`);
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const msg = data && data.error ? data.error : `${res.status} ${res.statusText || text.trim()}`.trim();
      throw new APIError(res.status, msg, data && data.field ? data.field : '');
    }
    return data;
  }

  async rooms() {
    return listOf(await this.request('GET', '/rooms'), 'rooms').map(normalizeRoom).filter((r) => r.name);
  }

  async participants(room) {
    return listOf(await this.request('GET', `/rooms/${encodeURIComponent(room)}/participants`), 'participants');
  }

  mute(room, id, body) {
    return this.request('POST', `/rooms/${encodeURIComponent(room)}/participants/${encodeURIComponent(id)}/mute`, body);
  }

  kick(room, id) {
    return this.request('DELETE', `/rooms/${encodeURIComponent(room)}/participants/${encodeURIComponent(id)}`);
  }

  /** Dials out from room: body is {to, name?, dtmf?}; answers the new call. */
  dial(room, body) {
    return this.request('POST', `/rooms/${encodeURIComponent(room)}/dial`, body);
  }

  call(id) {
    return this.request('GET', `/calls/${encodeURIComponent(id)}`);
  }

  hangup(id) {
    return this.request('DELETE', `/calls/${encodeURIComponent(id)}`);
  }
}

/** Accepts both {"key": [...]} and a bare array, as API versions differ. */
export function listOf(data, key) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data[key])) return data[key];
  return [];
}

function normalizeRoom(r) {
  if (typeof r === 'string') return { name: r };
  return { ...r, name: r.name || r.Name || r.id || '' };
}
