import { Page, TestInfo, expect } from '@playwright/test';

/** Saves a full-page screenshot under end2end/screenshots/<project>/. */
export async function snap(page: Page, testInfo: TestInfo, name: string) {
  await page.screenshot({ path: `screenshots/${testInfo.project.name}/${name}.png`, fullPage: true });
}

/**
 * Collects console errors (a hydration mismatch shows up there) so a test
 * can assert there were none.
 */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    // An error answer to a form submission (422, 429…) is expected behaviour
    // that Chromium still logs; anything else is a real error.
    if (msg.type() === 'error' && !/status of 4\d\d/.test(msg.text())) errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

/** Waits until the wasm bundle has hydrated the page, when JavaScript is on. */
export async function ready(page: Page, javaScriptEnabled: boolean) {
  if (javaScriptEnabled) {
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  }
}

const mailApi = `http://127.0.0.1:${Number(process.env.E2E_SMTP_PORT ?? 2525) + 1}`;

export interface Delivered {
  to: string[];
  subject: string;
  text: string;
  html: string;
}

/** Waits for a message to `to` whose subject contains `subject`, as delivered to the real SMTP server. */
export async function waitForMail(to: string, subject: string): Promise<Delivered> {
  for (let i = 0; i < 100; i++) {
    const response = await fetch(`${mailApi}/messages?to=${encodeURIComponent(to.toLowerCase())}`);
    const messages: Delivered[] = await response.json();
    const found = messages.reverse().find((m) => m.subject.includes(subject));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail to ${to} about "${subject}"`);
}

/** The first link in a message's text whose address contains `fragment`. */
export function linkIn(mail: Delivered, fragment: string): string {
  const link = mail.text.split(/\s+/).find((w) => w.startsWith('http') && w.includes(fragment));
  if (!link) throw new Error(`no link with ${fragment} in:\n${mail.text}`);
  return link;
}

/** Runs one SQL statement against the test database as the superuser (to age an invitation, say). */
export function sql(statement: string) {
  const { execFileSync } = require('node:child_process');
  const url = `postgres://postgres@${process.env.E2E_PG_HOST ?? '127.0.0.1:5432'}/${process.env.E2E_DATABASE ?? 'trellis_e2e'}`;
  execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', statement]);
}
