// The page at phone and desktop sizes: nothing overflows, every control is
// reachable and labelled, text is readable, and the keyboard alone suffices.
// Screenshots go to e2e/artifacts/ for a person to look at.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from './server.js';
import {
  launch, person, ui, visible, gone, connected, registerAndEnter, say, messagesWithText, screenshot,
} from './browser.js';

const VIEWPORTS = [
  { name: 'phone', width: 390, height: 844, narrow: true },
  { name: 'desktop', width: 1280, height: 800, narrow: false },
];

const LONG_WORD = 'https://example.invalid/' + 'a-very-long-path-segment-'.repeat(8);

/** Fails when the page scrolls sideways or an element sticks out of the viewport. */
async function assertFits(page, selectors) {
  const report = await page.evaluate((sels) => {
    const out = { overflow: document.documentElement.scrollWidth - window.innerWidth, outside: [] };
    for (const sel of sels) {
      for (const el of document.querySelectorAll(sel)) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 && r.height === 0) continue;
        if (r.left < -0.5 || r.right > window.innerWidth + 0.5) out.outside.push(`${sel} ${Math.round(r.left)}..${Math.round(r.right)}`);
      }
    }
    return out;
  }, selectors);
  assert.ok(report.overflow <= 0, `page scrolls sideways by ${report.overflow}px`);
  assert.deepEqual(report.outside, [], 'elements outside the viewport');
}

/** Contrast ratios (WCAG) of text against the first opaque background behind it. */
async function contrasts(page, selectors) {
  return page.evaluate((sels) => {
    const parse = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let n = el; n; n = n.parentElement) {
        const c = parse(getComputedStyle(n).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const result = {};
    for (const sel of sels) {
      const el = document.querySelector(sel);
      if (!el) continue;
      const fg = lum(parse(getComputedStyle(el).color).slice(0, 3));
      const bg = lum(background(el));
      result[sel] = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    }
    return result;
  }, selectors);
}

describe('layout', () => {
  let server;
  let browser;
  let friend;

  before(async () => {
    server = await startServer();
    browser = await launch();
    friend = await person(browser, server);
    await registerAndEnter(friend.page, 'friend');
  });

  after(async () => {
    await browser?.close();
    await server?.dispose();
  });

  for (const vp of VIEWPORTS) {
    test(`${vp.name} ${vp.width}x${vp.height}: fits, reads well, every control reachable`, async () => {
      const { page, context, errors } = await person(browser, server, {
        viewport: { width: vp.width, height: vp.height },
        isMobile: vp.narrow,
        hasTouch: vp.narrow,
        reducedMotion: 'reduce',
      });
      const u = ui(page);
      const size = `${vp.width}x${vp.height}`;
      await page.goto('/');
      await visible(u.username);
      await assertFits(page, ['.auth-card', 'button', 'input']);
      await screenshot(page, `login-${size}`);

      const me = `viewer_${vp.name}`;
      await registerAndEnter(page, me);
      await say(friend.page, `Hi ${me}! Welcome to Parley.`);
      await say(page, 'Thanks, glad to be here.');
      await say(friend.page, `Links do not break the layout: ${LONG_WORD}`);
      await ui(friend.page).message.fill('Several\nlines\nof text');
      await ui(friend.page).message.press('Enter');
      await visible(messagesWithText(page, 'Several\nlines\nof text'));
      await say(page, 'A longer reply, to see how a paragraph wraps inside a bubble on this screen without pushing anything out of place.');

      for (const loc of [u.message, u.send, u.status, u.roomTitle, u.log]) await visible(loc);
      const fieldBox = await u.message.boundingBox();
      assert.ok(fieldBox.y + fieldBox.height <= vp.height, 'the message field is on screen');
      await assertFits(page, ['.msg .bubble', '.composer', '.conv-head', '#send']);

      for (const colorScheme of ['dark', 'light']) {
        await page.emulateMedia({ colorScheme });
        const ratios = await contrasts(page, [
          '.msg:not(.mine) .text', '.msg.mine .text', '.msg:not(.mine) time', '.msg.mine time', '.msg .from',
          '.composer-label', '#conn', '.room-title', '.room-link[aria-current]', '#room-input + button',
          '#send', '.members-panel .panel-heading',
        ]);
        for (const [sel, ratio] of Object.entries(ratios)) {
          assert.ok(ratio >= 4.5, `${colorScheme}: ${sel} contrast ${ratio.toFixed(2)} < 4.5`);
        }
        await screenshot(page, `chat-${size}${colorScheme === 'dark' ? '-dark' : ''}`);
      }

      if (vp.narrow) {
        // Side panels are hidden behind buttons and slide in over the chat.
        assert.equal(await u.members.isVisible(), false);
        await page.getByRole('button', { name: 'Show members' }).click();
        await visible(u.members.getByText('friend', { exact: true }));
        await screenshot(page, `members-${size}`);
        await page.getByRole('button', { name: 'Close members' }).click();
        await gone(u.members);

        await page.getByRole('button', { name: 'Show rooms' }).click();
        await visible(u.room);
        await page.keyboard.press('Escape');
        await gone(u.room);
        await page.getByRole('button', { name: 'Show rooms' }).click();
        for (const loc of [u.room, u.join, u.logout]) await visible(loc);
        await assertFits(page, ['#rooms-panel']);
        await screenshot(page, `rooms-${size}`);
        await u.room.fill('mobile');
        await u.join.click();
        await gone(u.room);
        await visible(u.roomTitle.getByText('mobile', { exact: true }));
      } else {
        for (const loc of [u.members, u.room, u.join, u.logout]) await visible(loc);
      }
      assert.deepEqual(errors, []);
      await context.close();
    });
  }

  test('keyboard only: sign up, send, change room and log out without a pointer', async () => {
    const { page, context } = await person(browser, server);
    const u = ui(page);
    await page.goto('/');
    await visible(u.username);
    const focused = () => page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent?.trim());
    /** Presses a key until the focus reaches the element with that id (or text), within a bound. */
    const tabTo = async (target, key = 'Tab') => {
      for (let i = 0; i < 25 && (await focused()) !== target; i++) await page.keyboard.press(key);
      assert.equal(await focused(), target, `focus reaches ${target} with ${key}`);
    };

    assert.equal(await focused(), 'username', 'the form starts in the username field');
    await page.keyboard.type('keyboarder');
    await tabTo('password');
    await page.keyboard.type('typed not clicked');
    await tabTo('Register');
    const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    assert.notEqual(ring, 'none', 'the focused button shows a focus ring');
    await page.keyboard.press('Enter');
    await connected(page);

    assert.equal(await focused(), 'message-input', 'the chat starts in the message field');
    await page.keyboard.type('typed and sent with Enter');
    await page.keyboard.press('Enter');
    await visible(messagesWithText(page, 'typed and sent with Enter'));

    await tabTo('room-input', 'Shift+Tab');
    await page.keyboard.type('quiet');
    await page.keyboard.press('Enter');
    await visible(u.roomTitle.getByText('quiet', { exact: true }));

    await tabTo('logout');
    await page.keyboard.press('Enter');
    await visible(u.username);
    await context.close();
  });
});
