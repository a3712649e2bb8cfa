// The client's pure functions, run in Chromium on the modules the server
// serves: reconnect backoff, socket address, room and form validation.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.js';
import { launch, person } from './browser.js';

describe('client modules', () => {
  let server;
  let browser;
  let page;

  before(async () => {
    server = await startServer();
    browser = await launch();
    ({ page } = await person(browser, server));
    await page.goto('/');
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  test('backoff grows exponentially, is capped, and is jittered within [cap/2, cap]', async () => {
    const rows = await page.evaluate(async () => {
      const { backoffDelay } = await import('/static/connection.js');
      return [0, 1, 2, 3, 4, 5, 6, 10, 40].map((n) => ({
        n, low: backoffDelay(n, () => 0), high: backoffDelay(n, () => 1), mid: backoffDelay(n, () => 0.5),
      }));
    });
    const table = [
      { n: 0, low: 250, high: 500 },
      { n: 1, low: 500, high: 1000 },
      { n: 2, low: 1000, high: 2000 },
      { n: 3, low: 2000, high: 4000 },
      { n: 4, low: 4000, high: 8000 },
      { n: 5, low: 8000, high: 16000 },
      { n: 6, low: 10000, high: 20000 },
      { n: 10, low: 10000, high: 20000 },
      { n: 40, low: 10000, high: 20000 },
    ];
    for (const want of table) {
      const got = rows.find((r) => r.n === want.n);
      assert.equal(got.low, want.low, `attempt ${want.n} lowest`);
      assert.equal(got.high, want.high, `attempt ${want.n} highest`);
      assert.ok(got.mid > got.low && got.mid < got.high, `attempt ${want.n} jitter lies between`);
    }
  });

  test('the socket address follows the page scheme and escapes the ticket', async () => {
    const urls = await page.evaluate(async () => {
      const { socketURL } = await import('/static/connection.js');
      return {
        http: socketURL('a b+c', { protocol: 'http:', host: 'chat.example:8080' }),
        https: socketURL('t', { protocol: 'https:', host: 'chat.example' }),
      };
    });
    assert.equal(urls.http, 'ws://chat.example:8080/ws?ticket=a%20b%2Bc');
    assert.equal(urls.https, 'wss://chat.example/ws?ticket=t');
  });

  test('room names come from the address only when valid', async () => {
    const cases = [
      ['#general', 'general'],
      ['#Dev_Ops-2', 'Dev_Ops-2'],
      ['', ''],
      ['#', ''],
      ['#has space', ''],
      ['#%3Cscript%3E', ''],
      ['#' + 'x'.repeat(64), 'x'.repeat(64)],
      ['#' + 'x'.repeat(65), ''],
      ['#%E0%A4%A', ''],
    ];
    const got = await page.evaluate(async (hashes) => {
      const { roomFromHash } = await import('/static/rooms.js');
      return hashes.map((h) => roomFromHash(h));
    }, cases.map(([h]) => h));
    assert.deepEqual(got, cases.map(([, want]) => want));
  });

  test('the form checks names and passwords before asking the server', async () => {
    const cases = [
      { action: 'register', user: '', pass: 'whatever1', field: 'username' },
      { action: 'register', user: 'ab', pass: 'whatever1', field: 'username' },
      { action: 'register', user: 'x'.repeat(33), pass: 'whatever1', field: 'username' },
      { action: 'register', user: 'bad name', pass: 'whatever1', field: 'username' },
      { action: 'register', user: 'good.name', pass: 'short', field: 'password' },
      { action: 'register', user: 'good.name', pass: 'é'.repeat(37), field: 'password' },
      { action: 'register', user: 'good.name', pass: 'é'.repeat(36), field: null },
      { action: 'login', user: 'any name at all', pass: 'x', field: null },
      { action: 'login', user: 'someone', pass: '', field: 'password' },
    ];
    const got = await page.evaluate(async (rows) => {
      const { validate } = await import('/static/auth.js');
      return rows.map((r) => validate(r.action, r.user, r.pass)?.field ?? null);
    }, cases);
    assert.deepEqual(got, cases.map((c) => c.field));
  });
});
