// Served over https://, the page opens its socket with wss://.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startServer } from './server.js';
import { launch, person, visible, registerAndEnter, say, messagesWithText } from './browser.js';

/** Makes a throw-away self-signed certificate for 127.0.0.1 with openssl. */
async function selfSigned(dir) {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  return { cert, key, pem: await readFile(cert, 'utf8') };
}

describe('https', () => {
  let dir;
  let server;
  let browser;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'parley-e2e-tls-'));
    const tls = await selfSigned(dir);
    server = await startServer({ scheme: 'https', ca: tls.pem, args: ['-tls-cert', tls.cert, '-tls-key', tls.key] });
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('the client connects with wss:// and chats', async () => {
    const { page, context, errors } = await person(browser, server, { ignoreHTTPSErrors: true });
    const sockets = [];
    page.on('websocket', (ws) => sockets.push(ws.url()));
    await registerAndEnter(page, 'tess');
    await say(page, 'over TLS');
    await visible(messagesWithText(page, 'over TLS'));
    assert.ok(sockets.length > 0);
    for (const url of sockets) assert.match(url, /^wss:\/\/127\.0\.0\.1:\d+\/ws\?ticket=/);
    assert.deepEqual(errors, []);
    await context.close();
  });
});
