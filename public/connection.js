// The WebSocket link to the server, kept alive across drops.
//
// Concurrency invariant: at most one WebSocket is open or opening at a time.
// Every asynchronous step (ticket fetch, socket callbacks, retry timer) checks
// that its generation number is still the current one before acting, so a
// late answer from an abandoned attempt can never act on the live one.

import * as api from './api.js';

const BASE_DELAY_MS = 500;
const MAX_DELAY_MS = 20000;

/**
 * Delay before reconnect attempt n (0-based): exponential growth capped at
 * MAX_DELAY_MS, with "equal jitter" (half fixed, half random) so that many
 * clients dropped together do not all come back in the same instant.
 * @param {number} attempt
 * @param {() => number} [random]
 */
export function backoffDelay(attempt, random = Math.random) {
  const cap = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempt, 16));
  return Math.round(cap / 2 + random() * (cap / 2));
}

/** The WebSocket address for a ticket, following the page's scheme (wss on https). */
export function socketURL(ticket, loc = window.location) {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${loc.host}/ws?ticket=${encodeURIComponent(ticket)}`;
}

/**
 * A self-healing connection. Dispatches:
 *  - "state"   detail {state, retryAt?}: "connecting", "online", "waiting", "offline", "stopped"
 *  - "open"    a socket opened (the server will first send room_joined for general)
 *  - "event"   detail: one decoded server event {type, payload, id?}
 *  - "close"   detail {code, reason}: the socket closed; a retry is already scheduled
 *  - "unauthorized": /ticket answered 401; the connection has stopped for good
 */
export class Connection extends EventTarget {
  #ws = null;
  #gen = 0;
  #attempt = 0;
  #timer = 0;
  #stopped = true;
  #state = 'stopped';
  #nextId = 1;

  constructor() {
    super();
    window.addEventListener('online', () => {
      if (!this.#stopped && this.#state !== 'online') this.retryNow();
    });
    window.addEventListener('offline', () => {
      if (this.#stopped) return;
      // A lost network often leaves a socket that never reports closing.
      this.#drop();
      this.#setState('offline');
    });
  }

  /** The current state name. */
  get state() {
    return this.#state;
  }

  /**
   * Starts connecting. A ticket just obtained from /login may be passed to
   * save a round trip; later attempts always fetch a fresh one.
   * @param {string} [ticket]
   */
  start(ticket) {
    this.#stopped = false;
    this.#attempt = 0;
    this.#connect(ticket);
  }

  /** Closes the socket and stops reconnecting (log out). */
  stop() {
    this.#stopped = true;
    this.#drop(1000);
    this.#setState('stopped');
  }

  /** Skips the wait before the next attempt. */
  retryNow() {
    if (this.#stopped) return;
    this.#drop();
    this.#connect();
  }

  /**
   * Sends one event if the socket is open. With withId, the server will
   * answer with ack or error carrying the returned id.
   * @returns {string|null} the request id (or "" without one), null when not sent
   */
  send(type, payload, withId = false) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return null;
    const event = { type };
    if (payload !== undefined) event.payload = payload;
    let id = '';
    if (withId) {
      id = `c${this.#nextId++}`;
      event.id = id;
    }
    ws.send(JSON.stringify(event));
    return id;
  }

  /** Closes any current socket without scheduling anything. */
  #drop(code) {
    clearTimeout(this.#timer);
    this.#gen++;
    const ws = this.#ws;
    this.#ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) {
      try {
        ws.close(code);
      } catch {
        ws.close();
      }
    }
  }

  #setState(state, extra = {}) {
    this.#state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, ...extra } }));
  }

  async #connect(ticket) {
    clearTimeout(this.#timer);
    const gen = ++this.#gen;
    this.#setState('connecting', { attempt: this.#attempt });
    if (!ticket) {
      try {
        ticket = (await api.ticket()).ticket;
      } catch (err) {
        if (gen !== this.#gen || this.#stopped) return;
        if (err.status === 401) {
          this.#stopped = true;
          this.#setState('stopped');
          this.dispatchEvent(new Event('unauthorized'));
          return;
        }
        this.#schedule();
        return;
      }
      if (gen !== this.#gen || this.#stopped) return;
    }
    const ws = new WebSocket(socketURL(ticket));
    this.#ws = ws;
    ws.addEventListener('open', () => {
      if (gen !== this.#gen) return;
      this.dispatchEvent(new Event('open'));
    });
    ws.addEventListener('message', (msg) => {
      if (gen !== this.#gen || typeof msg.data !== 'string') return;
      let event;
      try {
        event = JSON.parse(msg.data);
      } catch {
        return;
      }
      if (!event || typeof event.type !== 'string') return;
      if (this.#state !== 'online') {
        // The server speaks: the link works, so the next drop starts the backoff afresh.
        this.#attempt = 0;
        this.#setState('online');
      }
      this.dispatchEvent(new CustomEvent('event', { detail: event }));
    });
    ws.addEventListener('close', (ev) => {
      if (gen !== this.#gen) return;
      this.#ws = null;
      this.dispatchEvent(new CustomEvent('close', { detail: { code: ev.code, reason: ev.reason } }));
      if (!this.#stopped) this.#schedule();
    });
  }

  #schedule() {
    const delay = backoffDelay(this.#attempt++);
    const retryAt = Date.now() + delay;
    const gen = ++this.#gen;
    this.#setState('waiting', { retryAt });
    this.#timer = setTimeout(() => {
      if (gen === this.#gen && !this.#stopped) this.#connect();
    }, delay);
  }
}
