// The members of the current room, kept live from room_joined, user_joined,
// user_left and typing events.

import { el, paintAvatar } from './dom.js';

/** How long a "typing" mark lasts without a new typing event (the server sends at most one per 2 s). */
const TYPING_MS = 3500;

/** Members list and "is typing" line. */
export class MemberList {
  /** @type {Map<string, string>} lower-cased name -> name as registered */
  #members = new Map();
  /** @type {Map<string, number>} lower-cased name -> timer clearing the typing mark */
  #typing = new Map();

  /**
   * @param {{list: HTMLUListElement, count: HTMLElement, badge: HTMLElement, typingLine: HTMLElement}} parts
   */
  constructor(parts) {
    Object.assign(this, parts);
    /** The signed-in user's name. */
    this.me = '';
  }

  /** Replaces the whole list (on room_joined). */
  set(names) {
    this.#clearTyping();
    this.#members.clear();
    for (const n of names) if (typeof n === 'string') this.#members.set(n.toLowerCase(), n);
    this.#render();
  }

  /** Adds one member (user_joined). */
  add(name) {
    this.#members.set(name.toLowerCase(), name);
    this.#render();
  }

  /** Removes one member (user_left). */
  remove(name) {
    const key = name.toLowerCase();
    this.#members.delete(key);
    clearTimeout(this.#typing.get(key));
    this.#typing.delete(key);
    this.#render();
  }

  /** Marks a member as typing for a few seconds. */
  typing(name) {
    const key = name.toLowerCase();
    if (key === this.me.toLowerCase()) return;
    if (!this.#members.has(key)) this.#members.set(key, name);
    clearTimeout(this.#typing.get(key));
    this.#typing.set(key, setTimeout(() => {
      this.#typing.delete(key);
      this.#render();
    }, TYPING_MS));
    this.#render();
  }

  /** Stops showing someone as typing (they sent their message). */
  stoppedTyping(name) {
    const key = name.toLowerCase();
    if (!this.#typing.has(key)) return;
    clearTimeout(this.#typing.get(key));
    this.#typing.delete(key);
    this.#render();
  }

  #clearTyping() {
    for (const t of this.#typing.values()) clearTimeout(t);
    this.#typing.clear();
  }

  #render() {
    const me = this.me.toLowerCase();
    const names = [...this.#members.entries()].sort(([a], [b]) => {
      if (a === me) return -1;
      if (b === me) return 1;
      return a.localeCompare(b);
    });
    const items = names.map(([key, name]) => {
      const li = el('li', { className: 'member' });
      li.dataset.user = name;
      const avatar = el('span', { attrs: { 'aria-hidden': 'true' } });
      paintAvatar(avatar, name);
      const label = el('span', { className: 'member-name', text: name });
      li.append(avatar, label);
      if (key === me) li.append(el('span', { className: 'member-note', text: '(you)' }));
      if (this.#typing.has(key)) {
        li.classList.add('is-typing');
        li.append(el('span', { className: 'member-note typing-note', text: 'typing…' }));
      }
      return li;
    });
    this.list.replaceChildren(...items);
    const n = names.length;
    this.count.textContent = String(n);
    this.badge.textContent = n > 0 ? String(n) : '';

    const typers = [...this.#typing.keys()].map((k) => this.#members.get(k)).filter(Boolean).sort();
    let line = '';
    if (typers.length === 1) line = `${typers[0]} is typing…`;
    else if (typers.length === 2) line = `${typers[0]} and ${typers[1]} are typing…`;
    else if (typers.length > 2) line = 'Several people are typing…';
    this.typingLine.textContent = line;
  }
}
