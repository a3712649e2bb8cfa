// Signing up, logging in and out, as a visitor does it in the browser.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.js';
import { launch, person, ui, visible, shows, connected, registerAndEnter } from './browser.js';

describe('sign-in', () => {
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

  test('a failed registration or log-in says why', async () => {
    const { page, context, errors } = await person(browser, server);
    const u = ui(page);
    await page.goto('/');

    const cases = [
      { name: 'weak password', user: 'carol', pass: 'short', button: u.register, says: /password is too weak|at least 8/i },
      { name: 'bad username', user: 'no spaces', pass: 'long enough pw', button: u.register, says: /usernames can only use/i },
      { name: 'unknown user', user: 'nobody-here', pass: 'long enough pw', button: u.login, says: /wrong username or password/i },
    ];
    for (const c of cases) {
      await u.username.fill(c.user);
      await u.password.fill(c.pass);
      await c.button.click();
      await shows(u.authAlert, c.says);
      await visible(u.username);
    }

    await registerAndEnter(page, 'carol', 'carols password');
    await u.logout.click();
    await visible(u.username);

    const more = [
      { name: 'taken name (any case)', user: 'CAROL', pass: 'another password', button: u.register, says: /taken/i },
      { name: 'wrong password', user: 'carol', pass: 'not her password', button: u.login, says: /wrong username or password/i },
    ];
    for (const c of more) {
      await u.username.fill(c.user);
      await u.password.fill(c.pass);
      await c.button.click();
      await shows(u.authAlert, c.says);
    }
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('log-in matches the name in any case and shows it as registered', async () => {
    const { page, context } = await person(browser, server);
    const u = ui(page);
    await registerAndEnter(page, 'DaveMixed', 'daves password');
    await u.logout.click();
    await u.username.fill('davemixed');
    await u.password.fill('daves password');
    await u.password.press('Enter');
    await connected(page);
    await visible(page.locator('#me-name').getByText('DaveMixed', { exact: true }));
    await context.close();
  });

  test('a visitor with a session goes straight to the chat; log out returns to the form for good', async () => {
    const { page, context } = await person(browser, server);
    const u = ui(page);
    await registerAndEnter(page, 'erin', 'erins password');

    await page.reload();
    await connected(page);
    assert.equal(await u.username.isVisible(), false, 'the form stays hidden for a visitor with a session');

    const second = await context.newPage();
    await second.goto('/');
    await connected(second);

    await u.logout.click();
    await visible(u.username);
    await visible(u.login);
    await shows(u.authAlert, /logged out/i);

    // The other tab's socket is closed (1008) and its fresh ticket refused: it shows the form too.
    await visible(ui(second).username);
    await shows(ui(second).authAlert, /session has ended/i);

    await page.reload();
    await visible(u.username);
    await context.close();
  });
});

describe('sign-in rate limit', () => {
  let server;
  let browser;

  before(async () => {
    server = await startServer({ args: ['-login-rate', '3'] });
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  test('too many attempts are refused with a message', async () => {
    const { page, context } = await person(browser, server);
    const u = ui(page);
    await page.goto('/');
    await u.username.fill('mallory');
    await u.password.fill('guess number one');
    for (let i = 0; i < 3; i++) {
      await u.login.click();
      await shows(u.authAlert, /wrong username or password/i);
    }
    await u.login.click();
    await shows(u.authAlert, /too many attempts/i);
    await context.close();
  });
});
