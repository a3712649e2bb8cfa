// The message log of the current room: ordered by id, each id shown once,
// grouped by sender, with day separators and scroll handling.

import { el, paintAvatar, formatTime, formatFull, dayKey, dayLabel } from './dom.js';

/** Messages from one sender closer together than this share one header. */
const GROUP_MS = 5 * 60 * 1000;
/** Distance from the bottom (px) within which the view follows new messages. */
const STICKY_PX = 64;
/** Distance from the top (px) at which older messages are requested. */
const OLDER_PX = 160;

/**
 * Renders one room's messages. Message text is only ever set with
 * textContent, so markup in a message shows literally.
 */
export class MessageList {
  /** @type {Set<number>} ids shown, for de-duplication */
  #ids = new Set();
  #unseen = 0;

  /**
   * @param {{list: HTMLOListElement, scroller: HTMLElement, jump: HTMLButtonElement,
   *          older: HTMLButtonElement, start: HTMLElement, onNeedOlder: (before: number) => boolean}} parts
   */
  constructor(parts) {
    Object.assign(this, parts);
    /** Name of the room shown, "" before the first join. */
    this.room = '';
    /** The signed-in user's name, to set their messages apart. */
    this.me = '';
    /** True once the oldest message of the room is shown. */
    this.exhausted = false;
    /** True while a history request is outstanding. */
    this.loading = false;
    this.scroller.addEventListener('scroll', () => this.#onScroll(), { passive: true });
    this.jump.addEventListener('click', () => {
      this.scrollToBottom();
      this.list.focus({ preventScroll: true });
    });
    this.older.addEventListener('click', () => this.requestOlder());
  }

  /** Smallest id shown, or 0. */
  get oldestId() {
    const first = this.list.firstElementChild;
    return first ? Number(first.dataset.id) : 0;
  }

  /** Largest id shown, or 0: the "since" to ask for after a reconnect. */
  get newestId() {
    const last = this.list.lastElementChild;
    return last ? Number(last.dataset.id) : 0;
  }

  /** Number of messages shown. */
  get size() {
    return this.#ids.size;
  }

  /** Whether a message with this id is shown. */
  has(id) {
    return this.#ids.has(id);
  }

  /** Whether a message from the signed-in user with exactly this text and an id above `after` is shown. */
  hasOwn(text, after) {
    for (let node = this.list.lastElementChild; node && Number(node.dataset.id) > after; node = node.previousElementSibling) {
      if (this.#isMine(node.dataset.from) && node.querySelector('.text')?.textContent === text) return true;
    }
    return false;
  }

  /** Empties the log for another room. */
  reset(room) {
    this.room = room;
    this.#ids.clear();
    this.list.replaceChildren();
    this.exhausted = false;
    this.loading = false;
    this.#unseen = 0;
    this.jump.hidden = true;
    this.#updateEdge();
  }

  /**
   * Shows messages, skipping ids already shown, each in id order.
   * @param {Array<{id:number, room:string, from:string, message:string, sent:string}>} messages
   * @returns {number} how many were new
   */
  add(messages) {
    const fresh = messages.filter((m) => Number.isSafeInteger(m?.id) && m.id > 0 && !this.#ids.has(m.id));
    if (fresh.length === 0) return 0;
    const wasAtBottom = this.isAtBottom();
    const oldest = this.oldestId;
    const prepending = this.size > 0 && fresh.every((m) => m.id < oldest);
    const heightBefore = this.scroller.scrollHeight;
    const topBefore = this.scroller.scrollTop;
    let mineAtEnd = false;
    for (const m of fresh) {
      const node = this.#render(m);
      this.#insert(node, m.id);
      this.#ids.add(m.id);
      if (!prepending && this.#isMine(m.from)) mineAtEnd = true;
    }
    if (prepending) {
      // Keep the message the reader was looking at in place.
      this.scroller.scrollTop = topBefore + (this.scroller.scrollHeight - heightBefore);
    } else if (wasAtBottom || mineAtEnd) {
      this.scrollToBottom();
    } else {
      this.#unseen += fresh.length;
      this.jump.hidden = false;
      this.jump.firstChild.textContent = this.#unseen === 1 ? '1 new message ' : `${this.#unseen} new messages `;
    }
    this.#updateEdge();
    return fresh.length;
  }

  /** Marks whether older messages remain, and asks for more if the log does not fill its view. */
  setExhausted(exhausted) {
    this.exhausted = exhausted;
    this.#updateEdge();
    this.#fillView();
  }

  /** Called when a history answer arrived (or failed). */
  historyDone(count, limit) {
    this.loading = false;
    if (count < limit) this.exhausted = true;
    this.#updateEdge();
    this.#fillView();
  }

  /** Asks for the messages just older than the oldest shown. */
  requestOlder() {
    if (this.loading || this.exhausted || this.size === 0) return;
    this.loading = true;
    if (!this.onNeedOlder(this.oldestId)) this.loading = false;
    this.#updateEdge();
  }

  /** Whether the view is at (or near) the newest message. */
  isAtBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= STICKY_PX;
  }

  /** Scrolls to the newest message and clears the "new messages" marker. */
  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.#unseen = 0;
    this.jump.hidden = true;
  }

  /** Re-renders the day labels (e.g. after midnight "Today" becomes "Yesterday"). */
  refreshDays() {
    for (const node of this.list.children) this.#decorate(node);
  }

  #isMine(from) {
    return this.me !== '' && from.toLowerCase() === this.me.toLowerCase();
  }

  #onScroll() {
    if (this.isAtBottom() && !this.jump.hidden) {
      this.#unseen = 0;
      this.jump.hidden = true;
    }
    if (this.scroller.scrollTop <= OLDER_PX) this.requestOlder();
  }

  /** Loads older messages while the log is too short to scroll. */
  #fillView() {
    if (this.scroller.scrollHeight <= this.scroller.clientHeight + OLDER_PX) this.requestOlder();
  }

  #updateEdge() {
    const any = this.size > 0;
    this.older.hidden = !any || this.exhausted;
    this.older.disabled = this.loading;
    this.older.textContent = this.loading ? 'Loading older messages…' : 'Load older messages';
    this.start.hidden = !this.exhausted || this.room === '';
    this.start.textContent = any
      ? `This is the beginning of #${this.room}.`
      : `No messages in #${this.room} yet. Say hello!`;
  }

  /** Inserts node keeping the list sorted by id (new messages usually go last). */
  #insert(node, id) {
    let after = this.list.lastElementChild;
    while (after && Number(after.dataset.id) > id) after = after.previousElementSibling;
    if (after) after.after(node);
    else this.list.prepend(node);
    this.#decorate(node);
    if (node.nextElementSibling) this.#decorate(node.nextElementSibling);
  }

  /** Sets the grouping and day-separator classes from the previous message. */
  #decorate(node) {
    const prev = node.previousElementSibling;
    const when = new Date(node.dataset.sent);
    const valid = !Number.isNaN(when.getTime());
    let newDay = valid;
    let cont = false;
    if (prev && valid) {
      const prevWhen = new Date(prev.dataset.sent);
      newDay = dayKey(prevWhen) !== dayKey(when);
      cont = !newDay && prev.dataset.from.toLowerCase() === node.dataset.from.toLowerCase() &&
        when - prevWhen < GROUP_MS;
    }
    node.classList.toggle('cont', cont);
    node.classList.toggle('newday', newDay);
    if (newDay) node.dataset.day = dayLabel(when);
    else delete node.dataset.day;
  }

  #render(m) {
    const from = typeof m.from === 'string' ? m.from : '?';
    const when = new Date(m.sent);
    const li = el('li', { className: 'msg' });
    li.dataset.id = String(m.id);
    li.dataset.from = from;
    li.dataset.sent = m.sent;
    if (this.#isMine(from)) li.classList.add('mine');
    const avatar = el('span', { attrs: { 'aria-hidden': 'true' } });
    paintAvatar(avatar, from);
    const body = el('div', { className: 'bubble' });
    const meta = el('p', { className: 'meta' });
    meta.append(el('span', { className: 'from', text: from }));
    if (!Number.isNaN(when.getTime())) {
      meta.append(' ');
      meta.append(el('time', { text: formatTime(when), attrs: { datetime: m.sent, title: formatFull(when) } }));
    }
    body.append(meta, el('p', { className: 'text', text: String(m.message ?? '') }));
    li.append(avatar, body);
    return li;
  }
}
