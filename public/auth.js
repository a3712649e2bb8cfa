// The log-in and registration form.

import * as api from './api.js';
import { byId, USERNAME_PATTERN } from './dom.js';

const encoder = new TextEncoder();

/**
 * Checks the fields before asking the server, so the most common mistakes get
 * an immediate, specific answer.
 * @param {'login'|'register'} action
 * @returns {{field: 'username'|'password', text: string}|null}
 */
export function validate(action, username, password) {
  const bad = (field, text) => ({ field, text });
  if (username === '') return bad('username', 'Enter your username.');
  if (action === 'register' && !USERNAME_PATTERN.test(username)) {
    const n = [...username].length;
    if (n < 3) return bad('username', 'Usernames need at least 3 characters.');
    if (n > 32) return bad('username', 'Usernames can be at most 32 characters long.');
    return bad('username', 'Usernames can only use letters, digits, _ . and -.');
  }
  if (password === '') return bad('password', 'Enter your password.');
  if (action === 'register') {
    const bytes = encoder.encode(password).length;
    if (bytes < 8) return bad('password', 'That password is too weak: use at least 8 characters.');
    if (bytes > 72) return bad('password', 'That password is too long: use at most 72 bytes.');
  }
  return null;
}

/**
 * Wires the form. onSignedIn(username, ticket) runs after a successful log-in
 * or registration (which logs in at once).
 * @param {{onSignedIn: (username: string, ticket: string) => void}} opts
 */
export function setupAuth({ onSignedIn }) {
  const view = byId('auth-view');
  const form = /** @type {HTMLFormElement} */ (byId('auth-form'));
  const user = /** @type {HTMLInputElement} */ (byId('username'));
  const pass = /** @type {HTMLInputElement} */ (byId('password'));
  const error = byId('auth-error');
  const buttons = [...form.querySelectorAll('button')];
  let busy = false;

  function say(text, kind = 'error') {
    error.textContent = text;
    error.dataset.kind = kind;
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (busy) return;
    const action = ev.submitter?.value === 'register' ? 'register' : 'login';
    const username = user.value.trim();
    const password = pass.value;
    const problem = validate(action, username, password);
    if (problem) {
      say(problem.text);
      (problem.field === 'password' ? pass : user).focus();
      return;
    }
    busy = true;
    form.setAttribute('aria-busy', 'true');
    for (const b of buttons) b.disabled = true;
    say(action === 'register' ? 'Creating your account…' : 'Logging in…', 'info');
    try {
      if (action === 'register') await api.register(username, password);
      const session = await api.login(username, password);
      say('');
      pass.value = '';
      onSignedIn(session.username || username, session.ticket);
    } catch (err) {
      say(err instanceof api.ApiError ? err.message : 'Something went wrong. Try again.');
      if (err.status === 401) {
        pass.select();
        pass.focus();
      } else if (err.status === 409) {
        user.select();
        user.focus();
      }
    } finally {
      busy = false;
      form.removeAttribute('aria-busy');
      for (const b of buttons) b.disabled = false;
    }
  });

  return {
    /** Shows the form, with an optional notice (e.g. "You have logged out."). */
    show(notice = '', kind = 'info') {
      view.hidden = false;
      say(notice, kind);
      (user.value ? pass : user).focus();
    },
    /** Hides the form. */
    hide() {
      view.hidden = true;
      say('');
    },
  };
}
