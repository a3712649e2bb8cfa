// The message field: Enter sends, Shift+Enter adds a line, typing is
// announced (throttled), and a message is kept until the server confirms it.

import { byId } from './dom.js';

/** Longest message the server accepts, in Unicode characters after trimming. */
export const MAX_MESSAGE = 1000;
/** The server forwards at most one typing event per user every 2 s; sending more is wasted. */
const TYPING_EVERY_MS = 2000;
/** Tallest the field grows before it scrolls, in pixels. */
const MAX_FIELD_PX = 160;

/** Composer for one connection. */
export class Composer {
  /** @type {Map<string, {text: string, after: number}>} request id -> message sent but not yet
   *  acknowledged, with the newest message id shown when it was sent */
  #pending = new Map();
  #lastTyping = 0;

  /**
   * @param {{send: (type: string, payload?: object, withId?: boolean) => string|null,
   *          notice: (text: string) => void, newestId: () => number}} opts
   */
  constructor({ send, notice, newestId }) {
    this.send = send;
    this.notice = notice;
    this.newestId = newestId;
    this.form = /** @type {HTMLFormElement} */ (byId('composer'));
    this.input = /** @type {HTMLTextAreaElement} */ (byId('message-input'));
    this.form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && !ev.altKey && !ev.ctrlKey && !ev.metaKey) {
        ev.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener('input', () => {
      this.#grow();
      if (this.input.value.trim() === '') return;
      const now = Date.now();
      if (now - this.#lastTyping >= TYPING_EVERY_MS && this.send('typing') !== null) this.#lastTyping = now;
    });
  }

  /** Sets the placeholder for the current room. */
  setRoom(room) {
    this.input.placeholder = `Message #${room}`;
  }

  /** Sends the field's text, if any. */
  submit() {
    const text = this.input.value.trim();
    if (text === '') return;
    const length = [...text].length;
    if (length > MAX_MESSAGE) {
      this.notice(`That message is ${length} characters long; the limit is ${MAX_MESSAGE}.`);
      return;
    }
    const id = this.send('send_message', { message: text }, true);
    if (id === null) {
      this.notice('Not connected. Your message is kept here; send it again once Parley reconnects.');
      return;
    }
    this.#pending.set(id, { text, after: this.newestId() });
    this.input.value = '';
    this.#grow();
    this.notice('');
  }

  /** The server stored the message: forget it. */
  acked(id) {
    return this.#pending.delete(id);
  }

  /**
   * The server refused a message: put its text back so nothing is lost.
   * @returns {boolean} whether the id was one of ours
   */
  failed(id, why) {
    const sent = this.#pending.get(id);
    if (sent === undefined) return false;
    this.#pending.delete(id);
    this.#restore(sent.text);
    this.notice(why);
    return true;
  }

  /**
   * After a (re)join: messages whose confirmation was lost with the
   * connection are looked for among those shown. Found ones were stored; the
   * others go back into the field to be sent again.
   * @param {(text: string, after: number) => boolean} wasStored whether a
   *   message of ours with this text and an id above `after` is shown
   */
  reconcile(wasStored) {
    const lost = [...this.#pending.values()].filter((p) => !wasStored(p.text, p.after)).map((p) => p.text);
    this.#pending.clear();
    if (lost.length === 0) {
      this.notice('');
      return;
    }
    for (const t of lost) this.#restore(t);
    this.notice('The connection dropped before your message was delivered. It is back in the field: press Enter to send it.');
  }

  #restore(text) {
    const current = this.input.value.trim();
    this.input.value = current === '' ? text : `${text}\n${current}`;
    this.#grow();
  }

  #grow() {
    this.input.style.height = 'auto';
    this.input.style.height = `${Math.min(this.input.scrollHeight, MAX_FIELD_PX)}px`;
  }
}
