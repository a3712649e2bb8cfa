// Chromium and page helpers for the browser tests. Every wait here is on
// visible state through Playwright's auto-waiting locators.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ROOT } from './server.js';

/** Where screenshots go (git-ignored). */
export const ARTIFACTS = path.join(ROOT, 'e2e', 'artifacts');
/** Debian's Chromium; CHROMIUM_PATH overrides it. */
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** Upper bound for any single wait on the page. */
export const WAIT_MS = 15000;

/** Launches headless Chromium. */
export function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A fresh browser context (its own cookies: one "person") on the server,
 * recording any JavaScript dialog and page error it sees.
 * @param {import('playwright-core').Browser} browser
 * @param {{url: string}} server
 * @param {object} [options] extra context options (viewport, ignoreHTTPSErrors…)
 */
export async function person(browser, server, options = {}) {
  const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 800 }, ...options });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  const dialogs = [];
  const errors = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) errors.push(m.text());
  });
  return { context, page, dialogs, errors };
}

/** Locators for the page's parts, by their accessible names. */
export function ui(page) {
  return {
    username: page.getByLabel('Username', { exact: true }),
    password: page.getByLabel('Password', { exact: true }),
    register: page.getByRole('button', { name: 'Register', exact: true }),
    login: page.getByRole('button', { name: 'Log in', exact: true }),
    logout: page.getByRole('button', { name: 'Log out', exact: true }),
    authAlert: page.locator('#auth-error'),
    message: page.getByLabel('Message', { exact: true }),
    send: page.getByRole('button', { name: 'Send', exact: true }),
    room: page.getByLabel('Room', { exact: true }),
    join: page.getByRole('button', { name: 'Join', exact: true }),
    log: page.getByRole('log'),
    members: page.getByRole('list', { name: 'Members', exact: true }),
    status: page.getByRole('status').filter({ has: page.locator('#conn-text') }),
    roomTitle: page.locator('#room-title'),
  };
}

/** Escapes text for use in a RegExp. */
function escape(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The log's messages whose text is exactly `text`. */
export function messagesWithText(page, text) {
  return ui(page).log.locator('.msg').filter({ has: page.locator('.text', { hasText: new RegExp(`^${escape(text)}$`) }) });
}

/** Waits until the locator is visible. */
export async function visible(locator) {
  await locator.first().waitFor({ state: 'visible' });
}

/** Waits until the locator matches nothing visible. */
export async function gone(locator) {
  await locator.first().waitFor({ state: 'hidden' });
}

/** Waits until an element of the locator shows text matching (a string is a substring test). */
export async function shows(locator, text) {
  await locator.filter({ hasText: text }).first().waitFor({ state: 'visible' });
}

/** Waits for the connection indicator to say Connected. */
export async function connected(page) {
  await visible(ui(page).status.getByText('Connected', { exact: true }));
}

/**
 * Registers (which logs in) from the form and waits for the chat.
 * @param {import('playwright-core').Page} page
 */
export async function registerAndEnter(page, name, password = 'correct horse battery') {
  const u = ui(page);
  await page.goto('/');
  await u.username.fill(name);
  await u.password.fill(password);
  await u.register.click();
  await visible(u.log);
  await connected(page);
}

/** Types a message and presses Enter, then waits until it shows in the sender's own log. */
export async function say(page, text) {
  const u = ui(page);
  await u.message.fill(text);
  await u.message.press('Enter');
  await visible(messagesWithText(page, text));
}

/** Takes a full-page screenshot into e2e/artifacts/. */
export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}
