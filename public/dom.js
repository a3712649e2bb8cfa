// Small DOM helpers shared by the client's modules. Nothing here ever parses
// HTML: text from the network is placed with textContent only.

/**
 * Creates an element with optional class names and text.
 * @param {string} tag
 * @param {{className?: string, text?: string, attrs?: Record<string,string>}} [opts]
 * @returns {HTMLElement}
 */
export function el(tag, opts = {}) {
  const node = document.createElement(tag);
  if (opts.className) node.className = opts.className;
  if (opts.text !== undefined) node.textContent = opts.text;
  if (opts.attrs) {
    for (const [k, v] of Object.entries(opts.attrs)) node.setAttribute(k, v);
  }
  return node;
}

/** Returns the element with this id, or throws if the page lacks it. */
export function byId(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
}

const AVATAR_COLOURS = 8;

/**
 * Fills an avatar element with the first letter of a name and a colour class
 * derived from the name, so a person keeps one colour everywhere.
 */
export function paintAvatar(node, name) {
  let h = 0;
  for (const ch of name.toLowerCase()) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  for (let i = 0; i < AVATAR_COLOURS; i++) node.classList.remove(`av-${i}`);
  node.classList.add('avatar', `av-${h % AVATAR_COLOURS}`);
  node.textContent = [...name][0]?.toUpperCase() ?? '?';
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', month: 'long', day: 'numeric' });

/** Local time of day, e.g. "14:05". */
export function formatTime(date) {
  return timeFormat.format(date);
}

/** Full local date and time, for tooltips. */
export function formatFull(date) {
  return fullFormat.format(date);
}

/** Key identifying a local calendar day. */
export function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth()}-${date.getDate()}`;
}

/** "Today", "Yesterday" or a local date, for the separators between days. */
export function dayLabel(date, now = new Date()) {
  const yesterday = new Date(now);
  yesterday.setDate(now.getDate() - 1);
  if (dayKey(date) === dayKey(now)) return 'Today';
  if (dayKey(date) === dayKey(yesterday)) return 'Yesterday';
  return dayFormat.format(date);
}

/** Room names the protocol accepts: 1 to 64 of A-Z a-z 0-9 _ -. */
export const ROOM_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Usernames the server accepts: 3 to 32 of A-Z a-z 0-9 _ . -. */
export const USERNAME_PATTERN = /^[A-Za-z0-9_.-]{3,32}$/;
