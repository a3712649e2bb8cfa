// Page chrome: the connection indicator and the slide-in panels used on
// narrow screens.

import { byId } from './dom.js';

/** Shows the connection state in words and colour, with a countdown while waiting. */
export class StatusView {
  #tick = 0;
  #everOnline = false;

  /** @param {{onRetry: () => void}} opts */
  constructor({ onRetry }) {
    this.box = byId('conn');
    this.text = byId('conn-text');
    this.retry = /** @type {HTMLButtonElement} */ (byId('retry'));
    this.retry.addEventListener('click', onRetry);
  }

  /** Forget past connections (a new sign-in). */
  reset() {
    this.#everOnline = false;
  }

  /**
   * @param {{state: string, retryAt?: number}} detail from Connection's "state" event
   */
  show({ state, retryAt }) {
    clearInterval(this.#tick);
    this.box.dataset.state = state;
    this.retry.hidden = !(state === 'waiting' || state === 'offline');
    switch (state) {
      case 'online':
        this.#everOnline = true;
        this.text.textContent = 'Connected';
        break;
      case 'connecting':
        this.text.textContent = this.#everOnline ? 'Reconnecting…' : 'Connecting…';
        break;
      case 'waiting': {
        const draw = () => {
          const s = Math.max(1, Math.ceil((retryAt - Date.now()) / 1000));
          this.text.textContent = `Connection lost. Retrying in ${s} s`;
        };
        draw();
        this.#tick = setInterval(draw, 1000);
        break;
      }
      case 'offline':
        this.text.textContent = 'Offline: waiting for the network';
        break;
      default:
        this.text.textContent = 'Disconnected';
    }
  }
}

/**
 * The rooms and members panels. On wide screens they are always shown; on
 * narrow ones they slide in over the conversation, one at a time, and close
 * with Escape, the scrim or a choice inside them.
 */
export class Panels {
  constructor() {
    this.scrim = byId('scrim');
    this.panels = [
      { panel: byId('rooms-panel'), toggle: byId('rooms-toggle'), cls: 'show-rooms' },
      { panel: byId('members-panel'), toggle: byId('members-toggle'), cls: 'show-members' },
    ];
    for (const p of this.panels) {
      p.toggle.addEventListener('click', () => (this.#isOpen(p) ? this.close() : this.open(p)));
    }
    this.scrim.addEventListener('click', () => this.close());
    for (const b of document.querySelectorAll('[data-close-panel]')) b.addEventListener('click', () => this.close());
    document.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && this.panels.some((p) => this.#isOpen(p))) {
        ev.preventDefault();
        this.close();
      }
    });
  }

  #isOpen(p) {
    return document.body.classList.contains(p.cls);
  }

  /** Opens one panel and moves focus into it. */
  open(p) {
    this.close(false);
    document.body.classList.add(p.cls);
    p.toggle.setAttribute('aria-expanded', 'true');
    this.scrim.hidden = false;
    const first = p.panel.querySelector('a, input, button:not([data-close-panel])') ?? p.panel.querySelector('button');
    if (first) first.focus();
  }

  /**
   * Closes any open panel.
   * @param {boolean} [refocus] return focus to the button that opened it
   */
  close(refocus = true) {
    for (const p of this.panels) {
      if (!this.#isOpen(p)) continue;
      document.body.classList.remove(p.cls);
      p.toggle.setAttribute('aria-expanded', 'false');
      if (refocus && (p.panel.contains(document.activeElement) || document.activeElement === document.body)) p.toggle.focus();
    }
    this.scrim.hidden = true;
  }
}
