// Parley's browser client: entry point. On load it asks for a ticket; a
// visitor with a session goes straight to the chat, others see the form.

import * as api from './api.js';
import { byId } from './dom.js';
import { setupAuth } from './auth.js';
import { Chat } from './chat.js';
import { Connection, backoffDelay } from './connection.js';

const splash = byId('splash');
const conn = new Connection();
const auth = setupAuth({
  onSignedIn: (username, ticket) => {
    auth.hide();
    chat.enter(username, ticket);
  },
});
const chat = new Chat(conn, (notice, kind) => auth.show(notice, kind));

/** First contact: retried with backoff while the server cannot be reached. */
async function boot(attempt = 0) {
  try {
    const t = await api.ticket();
    splash.hidden = true;
    chat.enter(t.username ?? '', t.ticket);
  } catch (err) {
    if (err.status === 401) {
      splash.hidden = true;
      auth.show();
      return;
    }
    const delay = backoffDelay(attempt);
    splash.lastElementChild.textContent = `${err.message} Retrying in ${Math.ceil(delay / 1000)} s…`;
    setTimeout(() => boot(attempt + 1), delay);
  }
}

boot();
