// The list of active rooms (GET /rooms) and the field to join any room.

import * as api from './api.js';
import { el, ROOM_PATTERN } from './dom.js';

/** How often the active rooms are fetched while the chat is shown. */
const POLL_MS = 15000;
/** Join and leave events within this window lead to one refresh. */
const DEBOUNCE_MS = 400;

/** Whether two room names are the same room: the server tells rooms apart by exact name, case included. */
export const sameRoom = (a, b) => a === b;

/** The room named by the address (#room), or "" when there is none or it is not a valid name. */
export function roomFromHash(hash = window.location.hash) {
  let name = hash.replace(/^#/, '');
  try {
    name = decodeURIComponent(name);
  } catch {
    return '';
  }
  return ROOM_PATTERN.test(name) ? name : '';
}

/** Active rooms list, refreshed periodically and on demand. */
export class RoomList {
  #poll = 0;
  #soon = 0;
  #rooms = [];
  #seq = 0;

  /**
   * @param {{list: HTMLUListElement, form: HTMLFormElement, input: HTMLInputElement,
   *          error: HTMLElement, onJoin: (name: string) => void}} parts
   */
  constructor(parts) {
    Object.assign(this, parts);
    /** The room the user is in, highlighted and always listed. */
    this.current = '';
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const name = this.input.value.trim().replace(/^#/, '');
      if (!ROOM_PATTERN.test(name)) {
        this.error.textContent = name === ''
          ? 'Type the name of a room to join.'
          : 'Room names are 1 to 64 letters, digits, _ or -, without spaces.';
        this.input.setAttribute('aria-invalid', 'true');
        this.input.focus();
        return;
      }
      this.clearError();
      this.input.value = '';
      this.onJoin(name);
    });
    this.input.addEventListener('input', () => this.clearError());
  }

  /** Clears the join field's error. */
  clearError() {
    this.error.textContent = '';
    this.input.removeAttribute('aria-invalid');
  }

  /** Shows an error under the join field. */
  showError(text) {
    this.error.textContent = text;
  }

  /** Starts polling. */
  start() {
    this.stop();
    this.refresh();
    this.#poll = setInterval(() => this.refresh(), POLL_MS);
  }

  /** Stops polling (signed out). */
  stop() {
    clearInterval(this.#poll);
    clearTimeout(this.#soon);
    this.#seq++;
  }

  /** Refreshes shortly, folding bursts of join and leave events into one request. */
  refreshSoon() {
    clearTimeout(this.#soon);
    this.#soon = setTimeout(() => this.refresh(), DEBOUNCE_MS);
  }

  /** Fetches the active rooms now. */
  async refresh() {
    const seq = ++this.#seq;
    try {
      const rooms = await api.rooms();
      if (seq !== this.#seq) return;
      this.#rooms = rooms.filter((r) => r && typeof r.name === 'string');
    } catch {
      // Keep the last list; the connection status tells about trouble.
      return;
    }
    this.render();
  }

  /** Redraws the list, e.g. after the current room changed. */
  render() {
    const rooms = [...this.#rooms];
    if (this.current && !rooms.some((r) => r.name === this.current)) {
      rooms.push({ name: this.current, members: 1 });
    }
    rooms.sort((a, b) => (b.members ?? 0) - (a.members ?? 0) || a.name.localeCompare(b.name));
    this.list.replaceChildren(...rooms.map((r) => {
      const a = el('a', { className: 'room-link', attrs: { href: `#${r.name}` } });
      a.append(el('span', { className: 'hash', text: '#', attrs: { 'aria-hidden': 'true' } }));
      a.append(el('span', { className: 'room-link-name', text: r.name }));
      const n = Number(r.members) || 0;
      a.append(el('span', { className: 'count', text: String(n), attrs: { 'aria-hidden': 'true', title: n === 1 ? '1 member' : `${n} members` } }));
      a.append(el('span', { className: 'visually-hidden', text: n === 1 ? ', 1 member' : `, ${n} members` }));
      if (r.name === this.current) a.setAttribute('aria-current', 'page');
      const li = el('li');
      li.append(a);
      return li;
    }));
  }
}
