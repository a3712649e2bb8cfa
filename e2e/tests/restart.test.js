// The server restarts mid-conversation: the client reconnects by itself and
// shows what it missed, each message exactly once.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.js';
import {
  launch, person, ui, visible, shows, connected, registerAndEnter, say, messagesWithText,
} from './browser.js';

describe('reconnection', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer();
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  test('after a server restart the client recovers the messages sent meanwhile, each once', async () => {
    const alice = await person(browser, server);
    const bob = await person(browser, server);
    await registerAndEnter(alice.page, 'alice');
    await registerAndEnter(bob.page, 'bob');
    for (const p of [alice.page, bob.page]) {
      await p.goto('/#lobby');
      await visible(ui(p).roomTitle.getByText('lobby', { exact: true }));
      await connected(p);
    }
    await say(alice.page, 'before the restart');
    await visible(messagesWithText(bob.page, 'before the restart'));

    // Alice loses the network, so she cannot come back before bob has talked.
    await alice.context.setOffline(true);
    const stopped = await server.stop();
    assert.equal(stopped.code, 0, 'SIGTERM shuts down cleanly');
    await shows(ui(alice.page).status, /Offline|Connection lost|Reconnecting/);
    await shows(ui(bob.page).status, /Connection lost|Reconnecting/);

    // What alice types meanwhile is kept, not lost.
    await ui(alice.page).message.fill('typed while offline');
    await ui(alice.page).message.press('Enter');
    await shows(alice.page.locator('#notice'), /Not connected/);
    assert.equal(await ui(alice.page).message.inputValue(), 'typed while offline');

    await server.start();
    await connected(bob.page);
    const missed = ['missed one', 'missed two', 'missed three'];
    for (const text of missed) await say(bob.page, text);

    const sent = [];
    alice.page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
    const lastSeen = Number(await messagesWithText(alice.page, 'before the restart').getAttribute('data-id'));
    await alice.context.setOffline(false);
    await connected(alice.page);
    for (const text of missed) await visible(messagesWithText(alice.page, text));
    const rejoin = sent.map((f) => JSON.parse(f)).find((e) => e.type === 'change_room');
    assert.deepEqual(rejoin?.payload, { name: 'lobby', since: lastSeen }, 'rejoins with the last id seen');

    await ui(alice.page).message.press('Enter');
    await visible(messagesWithText(bob.page, 'typed while offline'));
    // A message sent after all of them arrives last: every earlier event has been handled.
    await say(alice.page, 'back again');
    await visible(messagesWithText(bob.page, 'back again'));
    for (const p of [alice.page, bob.page]) {
      const texts = await ui(p).log.locator('.msg .text').allInnerTexts();
      assert.deepEqual(texts, ['before the restart', ...missed, 'typed while offline', 'back again'], 'each message once, in order');
    }
    assert.equal(await alice.page.locator('#notice').innerText(), '', 'the notice clears once delivered');
    assert.equal(await ui(alice.page).roomTitle.innerText(), '#lobby');
    await alice.context.close();
    await bob.context.close();
  });

  test('a connection closed by the server is reopened with a fresh ticket', async () => {
    const carol = await person(browser, server);
    await registerAndEnter(carol.page, 'carol');
    const sockets = [];
    carol.page.on('websocket', (ws) => sockets.push(ws.url()));
    await server.stop();
    await shows(ui(carol.page).status, /Connection lost|Reconnecting/);
    await server.start();
    await connected(carol.page);
    await say(carol.page, 'still here');
    assert.ok(sockets.length >= 1);
    const tickets = new Set(sockets.map((u) => new URL(u).searchParams.get('ticket')));
    assert.equal(tickets.size, sockets.length, 'every attempt used a new ticket');
    await carol.context.close();
  });
});
