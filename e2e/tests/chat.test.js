// Two people chatting: both directions, members, typing, rooms, history, and
// message text that must never become markup.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.js';
import {
  launch, person, ui, visible, gone, shows, registerAndEnter, say, messagesWithText,
} from './browser.js';

/**
 * Sends messages to a room from inside a signed-in page, over a socket of its
 * own, each one waited for by its ack: a quick way to fill a room's history.
 */
async function seed(page, room, texts) {
  await page.evaluate(async ({ room, texts }) => {
    const { ticket } = await (await fetch('/ticket', { method: 'POST' })).json();
    const ws = new WebSocket(`ws://${location.host}/ws?ticket=${encodeURIComponent(ticket)}`);
    const waiting = new Map();
    ws.onmessage = (m) => {
      const ev = JSON.parse(m.data);
      const id = ev.type === 'ack' || ev.type === 'error' ? ev.payload.id : undefined;
      if (id && waiting.has(id)) {
        waiting.get(id)(ev);
        waiting.delete(id);
      }
    };
    const request = (type, payload, id) => new Promise((resolve, reject) => {
      waiting.set(id, (ev) => (ev.type === 'ack' ? resolve() : reject(new Error(ev.payload.message))));
      ws.send(JSON.stringify({ type, payload, id }));
    });
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error('seed socket failed'));
    });
    await request('change_room', { name: room }, 'join');
    for (let i = 0; i < texts.length; i++) await request('send_message', { message: texts[i] }, `m${i}`);
    ws.close();
  }, { room, texts });
}

describe('chat', () => {
  let server;
  let browser;
  let alice;
  let bob;

  before(async () => {
    server = await startServer({ args: ['-msg-rate', '500', '-msg-burst', '500'] });
    browser = await launch();
    alice = await person(browser, server);
    bob = await person(browser, server);
    await registerAndEnter(alice.page, 'alice');
    await registerAndEnter(bob.page, 'bob');
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  test('two people see each other, and each other typing, live', async () => {
    const a = ui(alice.page);
    const b = ui(bob.page);
    await visible(a.members.getByText('bob', { exact: true }));
    await visible(b.members.getByText('alice', { exact: true }));

    await b.message.pressSequentially('hel');
    await shows(alice.page.locator('#typing'), 'bob is typing…');
    await visible(a.members.locator('li', { hasText: 'bob' }).getByText('typing…'));
    await b.message.fill('');
  });

  test('two people chat both ways, with sender, time and their own messages set apart', async () => {
    await say(alice.page, 'Hello Bob, are you there?');
    await visible(messagesWithText(bob.page, 'Hello Bob, are you there?'));
    await say(bob.page, 'Yes! Hi Alice.');
    await visible(messagesWithText(alice.page, 'Yes! Hi Alice.'));
    // Send with the button as well as with Enter.
    await ui(alice.page).message.fill('Sent with the button');
    await ui(alice.page).send.click();
    await visible(messagesWithText(bob.page, 'Sent with the button'));

    const fromAlice = messagesWithText(bob.page, 'Hello Bob, are you there?');
    await visible(fromAlice.locator('.from').getByText('alice', { exact: true }));
    assert.match(await fromAlice.locator('time').getAttribute('datetime'), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(await fromAlice.locator('time').innerText(), /\d{1,2}:\d\d/);

    assert.equal(await messagesWithText(alice.page, 'Hello Bob, are you there?').getAttribute('class').then((c) => c.includes('mine')), true);
    assert.equal(await fromAlice.getAttribute('class').then((c) => c.includes('mine')), false);
    assert.equal(await ui(alice.page).message.inputValue(), '', 'the field empties after sending');
  });

  test('message text renders literally and never runs', async () => {
    const attacks = [
      '<img src=x onerror=alert(1)>',
      '</textarea><script>alert(2)</script>',
      '<b>bold?</b> & "quotes" \'single\' <svg onload=alert(3)>',
    ];
    for (const text of attacks) await say(bob.page, text);
    for (const text of attacks) await visible(messagesWithText(alice.page, text));
    for (const p of [alice, bob]) {
      const log = ui(p.page).log;
      assert.equal(await log.locator('img, script, svg, b').count(), 0, 'no element was made from message text');
      assert.deepEqual(p.dialogs, [], 'no dialog opened');
      assert.deepEqual(p.errors, [], 'no page error or CSP violation');
    }
  });

  test('rooms are isolated; the room is in the title and the address; joining works by field and by link', async () => {
    const a = ui(alice.page);
    const b = ui(bob.page);
    await a.room.fill('random');
    await a.join.click();
    await visible(a.roomTitle.getByText('random', { exact: true }));
    await alice.page.waitForURL(/#random$/);
    assert.equal(await alice.page.title(), '#random · Parley');
    await visible(a.members.getByText('alice', { exact: true }));
    // Bob sees alice leave general.
    await gone(b.members.getByText('alice', { exact: true }));

    await say(alice.page, 'Only for random');
    await say(bob.page, 'Only for general');
    await visible(messagesWithText(bob.page, 'Only for general'));
    assert.equal(await messagesWithText(bob.page, 'Only for random').count(), 0);
    assert.equal(await messagesWithText(alice.page, 'Only for general').count(), 0);
    assert.equal(await messagesWithText(alice.page, 'Hello Bob, are you there?').count(), 0);

    // The active rooms list offers random to bob; following the link switches room.
    const link = bob.page.getByRole('link', { name: /random/ });
    await visible(link);
    await link.click();
    await bob.page.waitForURL(/#random$/);
    await visible(messagesWithText(bob.page, 'Only for random'));
    assert.equal(await messagesWithText(bob.page, 'Only for general').count(), 0);
    await visible(a.members.getByText('bob', { exact: true }));

    // A hash change (the back button, a pasted link) switches room too.
    await bob.page.goBack();
    await visible(b.roomTitle.getByText('general', { exact: true }));
    await visible(messagesWithText(bob.page, 'Only for general'));
    await gone(a.members.getByText('bob', { exact: true }));

    // A room name the protocol refuses is explained, not sent.
    await b.room.fill('no spaces allowed');
    await b.join.click();
    await shows(bob.page.locator('#join-error'), /letters, digits/);
    await visible(b.roomTitle.getByText('general', { exact: true }));
  });

  test('a link to a room opens that room', async () => {
    const { page, context } = await person(browser, server);
    await registerAndEnter(page, 'linda');
    await page.goto('/#random');
    await visible(ui(page).roomTitle.getByText('random', { exact: true }));
    await visible(messagesWithText(page, 'Only for random'));
    await context.close();
  });

  test('scrolling up loads older messages, each once, back to the first', async () => {
    const texts = Array.from({ length: 130 }, (_, i) => `archive message ${i + 1}`);
    await seed(bob.page, 'archive', texts);
    const { page, context } = await person(browser, server);
    await registerAndEnter(page, 'hank');
    await page.goto('/#archive');
    await visible(messagesWithText(page, 'archive message 130'));
    assert.equal(await messagesWithText(page, 'archive message 80').count(), 0, 'only the newest are loaded at first');
    const atBottom = () => page.locator('#scroller').evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight <= 2);
    assert.ok(await atBottom(), 'a room opens at its newest message');
    await seed(bob.page, 'archive', ['archive message 131']);
    await visible(messagesWithText(page, 'archive message 131'));
    assert.ok(await atBottom(), 'a reader at the bottom follows new messages');
    texts.push('archive message 131');

    const scroller = page.locator('#scroller');
    const first = messagesWithText(page, 'archive message 1');
    // Scroll to the top until the first message is there; each scroll waits for a new batch.
    for (let batch = 0; batch < 5 && (await first.count()) === 0; batch++) {
      const before = await ui(page).log.locator('.msg').count();
      await scroller.evaluate((el) => { el.scrollTop = 0; });
      await page.waitForFunction((n) => document.querySelectorAll('#messages .msg').length > n, before);
    }
    await visible(first);
    await visible(page.getByText('This is the beginning of #archive.'));
    assert.equal(await ui(page).log.locator('.msg').count(), texts.length, 'every message shown exactly once');
    const shown = await ui(page).log.locator('.msg .text').allInnerTexts();
    assert.deepEqual(shown, texts, 'in order');

    // New messages keep a reader who scrolled up where they are, and say so.
    await seed(bob.page, 'archive', ['while you were reading']);
    await visible(page.getByRole('button', { name: /1 new message/ }));
    await page.getByRole('button', { name: /1 new message/ }).click();
    await visible(messagesWithText(page, 'while you were reading'));
    await context.close();
  });
});
