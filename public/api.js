// HTTP calls to the Parley server. The session is an HttpOnly cookie that the
// browser sends by itself; the page never sees it.

/** An HTTP failure with the server's sentence for a person. */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when the server could not be reached
   * @param {string} message a sentence to show
   */
  constructor(status, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

const FALLBACK = {
  0: 'The server cannot be reached. Check your connection and try again.',
  400: 'The server did not accept that request.',
  401: 'Your session has ended. Please log in again.',
  409: 'That name is already taken.',
  429: 'Too many attempts. Wait a minute and try again.',
};

async function call(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      cache: 'no-store',
      headers: body === undefined ? { Accept: 'application/json' } : { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, FALLBACK[0]);
  }
  let data = null;
  if (res.status !== 204) {
    try {
      data = await res.json();
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const sentence = data && typeof data.error === 'string' && data.error.trim() !== '' ? data.error : null;
    const fallback = FALLBACK[res.status] ?? (res.status >= 500 ? 'The server is having trouble. Try again in a moment.' : `Request failed (${res.status}).`);
    throw new ApiError(res.status, sentence ?? fallback);
  }
  return data;
}

/**
 * Logs in. Resolves to {ticket, expires_in, username}.
 * @param {string} username
 * @param {string} password
 */
export function login(username, password) {
  return call('POST', '/login', { username, password });
}

/** Creates an account. Resolves to {username}. */
export function register(username, password) {
  return call('POST', '/register', { username, password });
}

/** Asks for a fresh single-use WebSocket ticket; rejects with status 401 without a session. */
export function ticket() {
  return call('POST', '/ticket');
}

/** Ends the session. */
export function logout() {
  return call('POST', '/logout');
}

/** Lists the rooms that have members now: [{name, members}]. */
export async function rooms() {
  const data = await call('GET', '/rooms');
  return Array.isArray(data?.rooms) ? data.rooms : [];
}
