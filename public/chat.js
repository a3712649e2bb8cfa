// The chat screen: follows the server's events for the current room and
// keeps the log, the members, the rooms list, the title and the address in
// step with them.

import * as api from './api.js';
import { byId, paintAvatar } from './dom.js';
import { MessageList } from './messages.js';
import { MemberList } from './members.js';
import { RoomList, roomFromHash, sameRoom } from './rooms.js';
import { Composer } from './composer.js';
import { StatusView, Panels } from './ui.js';

/** Messages asked for per history request (the server allows up to 100). */
const HISTORY_LIMIT = 50;
/** Messages the server puts in a room_joined without since. */
const JOIN_HISTORY = 50;

/**
 * Chat screen controller. All state lives on the page's single thread;
 * events from the connection are handled one at a time, in arrival order.
 */
export class Chat {
  /** @type {Map<string, {kind: 'send'|'join'|'history', room?: string}>} outstanding requests by id */
  #requests = new Map();
  /** The room we want to be in: the address's, or general. */
  #wanted = 'general';
  /** True until the automatic room_joined that opens every connection has arrived. */
  #automatic = false;
  /** The since sent with the latest change_room, 0 when none. */
  #since = 0;
  #unread = 0;

  /**
   * @param {import('./connection.js').Connection} conn
   * @param {(notice: string, kind: string) => void} onSignedOut
   */
  constructor(conn, onSignedOut) {
    this.conn = conn;
    this.onSignedOut = onSignedOut;
    this.view = byId('chat-view');
    this.me = '';
    this.status = new StatusView({ onRetry: () => conn.retryNow() });
    this.panels = new Panels();
    this.noticeBox = byId('notice');
    this.list = new MessageList({
      list: /** @type {HTMLOListElement} */ (byId('messages')),
      scroller: byId('scroller'),
      jump: /** @type {HTMLButtonElement} */ (byId('jump')),
      older: /** @type {HTMLButtonElement} */ (byId('older')),
      start: byId('history-start'),
      onNeedOlder: (before) => this.#request('history', { before, limit: HISTORY_LIMIT }),
    });
    this.members = new MemberList({
      list: /** @type {HTMLUListElement} */ (byId('members')),
      count: byId('member-count'),
      badge: byId('members-badge'),
      typingLine: byId('typing'),
    });
    this.rooms = new RoomList({
      list: /** @type {HTMLUListElement} */ (byId('room-list')),
      form: /** @type {HTMLFormElement} */ (byId('join-form')),
      input: /** @type {HTMLInputElement} */ (byId('room-input')),
      error: byId('join-error'),
      onJoin: (name) => {
        this.panels.close(false);
        if (sameRoom(name, this.#wanted)) this.composer.input.focus();
        else window.location.hash = name;
      },
    });
    this.composer = new Composer({
      send: (type, payload, withId) => {
        const id = this.conn.send(type, payload, withId);
        if (id) this.#requests.set(id, { kind: 'send' });
        return id;
      },
      notice: (text) => this.notice(text),
      newestId: () => this.list.newestId,
    });

    conn.addEventListener('state', (ev) => this.status.show(ev.detail));
    conn.addEventListener('open', () => this.#onOpen());
    conn.addEventListener('close', () => this.#onClose());
    conn.addEventListener('event', (ev) => this.#onEvent(ev.detail));
    conn.addEventListener('unauthorized', () => this.#signOut('Your session has ended. Please log in again.', 'error'));
    window.addEventListener('hashchange', () => this.#onHash());
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) this.#setUnread(0);
    });
    byId('logout').addEventListener('click', () => this.logout());
    byId('room-list').addEventListener('click', (ev) => {
      if (ev.target instanceof Element && ev.target.closest('a')) this.panels.close(false);
    });
  }

  /**
   * Shows the chat for a signed-in user and connects.
   * @param {string} username the name as registered
   * @param {string} [ticket] a fresh ticket, when one is at hand
   */
  enter(username, ticket) {
    this.me = username;
    this.list.me = username;
    this.members.me = username;
    byId('me-name').textContent = username;
    paintAvatar(byId('me-avatar'), username || '?');
    this.#wanted = roomFromHash() || 'general';
    this.#showRoom(this.#wanted);
    this.status.reset();
    this.notice('');
    this.view.hidden = false;
    this.rooms.start();
    this.conn.start(ticket);
    this.composer.input.focus();
  }

  /** Logs out: closes the connection, ends the session, shows the form. */
  async logout() {
    this.conn.stop();
    try {
      await api.logout();
    } catch {
      // The session cookie is gone from the server's point of view or the
      // server is down; either way this page is signed out.
    }
    this.#signOut('You have logged out.', 'info');
  }

  /** Shows (or clears) a notice above the message field. */
  notice(text) {
    this.noticeBox.textContent = text;
  }

  #signOut(notice, kind) {
    this.conn.stop();
    this.rooms.stop();
    this.panels.close(false);
    this.view.hidden = true;
    this.#requests.clear();
    document.title = 'Parley';
    this.onSignedOut(notice, kind);
  }

  /** Sends an event with an id and remembers what it was for; false when not connected. */
  #request(type, payload, extra = {}) {
    const id = this.conn.send(type, payload, true);
    if (!id) return false;
    this.#requests.set(id, { kind: type === 'change_room' ? 'join' : type, ...extra });
    return true;
  }

  /** Resets the screen for a room, before the server has answered. */
  #showRoom(room) {
    this.list.reset(room);
    this.members.set([]);
    this.#label(room);
  }

  /** Puts the room's name in the title, the address, the list and the field. */
  #label(room) {
    byId('room-name').textContent = room;
    this.composer.setRoom(room);
    this.rooms.current = room;
    this.rooms.render();
    this.#setUnread(this.#unread);
    if (window.location.hash !== `#${room}`) window.history.replaceState(null, '', `#${room}`);
  }

  #setUnread(n) {
    this.#unread = n;
    const room = this.list.room || this.#wanted;
    document.title = `${n > 0 ? `(${n}) ` : ''}#${room} · Parley`;
  }

  #onHash() {
    if (this.view.hidden) return;
    const name = roomFromHash();
    if (!name) {
      this.rooms.showError('That address does not name a room: room names are 1 to 64 letters, digits, _ or -.');
      window.history.replaceState(null, '', `#${this.#wanted}`);
      return;
    }
    if (sameRoom(name, this.#wanted)) return;
    this.#wanted = name;
    this.#showRoom(name);
    this.#join();
  }

  /** Asks to enter the wanted room, with since when we already show some of it. */
  #join() {
    this.#since = sameRoom(this.list.room, this.#wanted) ? this.list.newestId : 0;
    const payload = { name: this.#wanted };
    if (this.#since > 0) payload.since = this.#since;
    this.#request('change_room', payload, { room: this.#wanted });
  }

  #onOpen() {
    this.#automatic = true;
    this.#join();
  }

  #onClose() {
    // Answers never come for requests of a closed socket; unconfirmed messages
    // stay with the composer until the next join settles them.
    this.#requests.clear();
    if (this.list.loading) this.list.historyDone(HISTORY_LIMIT, HISTORY_LIMIT);
  }

  #onEvent({ type, payload = {}, id }) {
    const inRoom = typeof payload.room === 'string' && sameRoom(payload.room, this.list.room);
    switch (type) {
      case 'room_joined':
        this.#onJoined(payload);
        break;
      case 'new_message':
        if (!inRoom) break;
        if (this.list.add([payload]) > 0) {
          this.members.stoppedTyping(payload.from);
          if (document.hidden) this.#setUnread(this.#unread + 1);
        }
        break;
      case 'history': {
        if (!inRoom) break;
        const messages = Array.isArray(payload.messages) ? payload.messages : [];
        this.list.add(messages);
        this.list.historyDone(messages.length, HISTORY_LIMIT);
        break;
      }
      case 'typing':
        if (inRoom && typeof payload.user === 'string') this.members.typing(payload.user);
        break;
      case 'user_joined':
        if (inRoom && typeof payload.user === 'string') this.members.add(payload.user);
        this.rooms.refreshSoon();
        break;
      case 'user_left':
        if (inRoom && typeof payload.user === 'string') this.members.remove(payload.user);
        this.rooms.refreshSoon();
        break;
      case 'ack': {
        const req = this.#requests.get(payload.id);
        this.#requests.delete(payload.id);
        if (req?.kind === 'send') this.composer.acked(payload.id);
        break;
      }
      case 'error':
        this.#onError(payload, id);
        break;
      default:
        break;
    }
  }

  #onJoined(p) {
    const automatic = this.#automatic;
    this.#automatic = false;
    if (typeof p.room !== 'string' || !sameRoom(p.room, this.#wanted)) return;
    const history = Array.isArray(p.history) ? p.history : [];
    if (!automatic && this.#since > 0 && p.recovered !== true) {
      // More was missed than the server replays: start afresh rather than leave a gap.
      this.list.reset(p.room);
    }
    this.#label(p.room);
    this.members.set(Array.isArray(p.members) ? p.members : []);
    this.list.add(history);
    if (!automatic) {
      if (this.#since === 0 || p.recovered !== true) this.list.setExhausted(history.length < JOIN_HISTORY);
      this.composer.reconcile((text, after) => this.list.hasOwn(text, after));
      this.rooms.refreshSoon();
    }
  }

  #onError(p, eventId) {
    const id = typeof p.id === 'string' ? p.id : eventId;
    const req = id ? this.#requests.get(id) : undefined;
    if (id) this.#requests.delete(id);
    const message = typeof p.message === 'string' && p.message ? p.message : 'The server refused that.';
    const text = p.code === 'rate_limited' ? 'You are sending too fast. Wait a moment and try again.' : message;
    if (req?.kind === 'send') {
      this.composer.failed(id, text);
    } else if (req?.kind === 'join') {
      this.rooms.showError(`Could not join #${req.room}: ${message}`);
      if (sameRoom(req.room ?? '', this.#wanted) && !sameRoom(this.#wanted, 'general')) {
        this.#wanted = 'general';
        this.#showRoom(this.#wanted);
        this.#join();
      }
    } else if (req?.kind === 'history') {
      this.list.historyDone(HISTORY_LIMIT, HISTORY_LIMIT);
    } else {
      this.notice(text);
    }
  }
}
