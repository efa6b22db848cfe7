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
  const port = Number(process.env.E2E_PORT ?? 3100);
  // The app's servers (the second is the step-up one).
  const apps = [`http://127.0.0.1:${port}/`, `http://127.0.0.1:${port + 1}/`];
  page.on('console', (msg) => {
    // Only the app's own pages count (not an identity provider's).
    if (!apps.some((app) => page.url().startsWith(app))) return;
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

/** Who a test signs up as, with the organization the sign-up creates. */
export interface NewAccount {
  name: string;
  email: string;
  password: string;
  orgName: string;
  slug: string;
}

/**
 * Signs up through the form, confirms the address from the mail, and waits
 * on the new organization's home page (hydrated when JavaScript is on).
 */
export async function signUp(page: Page, javaScriptEnabled: boolean, who: NewAccount) {
  await page.goto('/signup');
  await ready(page, javaScriptEnabled);
  await page.getByLabel('Your name').fill(who.name);
  await page.getByLabel('Work email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByLabel('Organization name').fill(who.orgName);
  await page.getByLabel('URL name').fill(who.slug);
  await page.getByRole('button', { name: 'Create organization' }).click();
  await expect(page).toHaveURL('/signup/check-email');
  const mail = await waitForMail(who.email, 'Confirm your email address');
  await page.goto(linkIn(mail, '/verify-email?token='));
  await expect(page).toHaveURL(`/o/${who.slug}`);
  await ready(page, javaScriptEnabled);
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

/** Publishes a DNS TXT record on the test DNS server the app resolves with. */
export async function publishTxt(name: string, value: string) {
  const api = `http://127.0.0.1:${Number(process.env.E2E_DNS_PORT ?? 3153) + 1}`;
  const response = await fetch(`${api}/txt?name=${encodeURIComponent(name)}&value=${encodeURIComponent(value)}`, {
    method: 'POST',
  });
  if (!response.ok) throw new Error(`DNS server answered ${response.status}`);
}

/** Registers a redirect URI at the test OpenID provider, as an administrator does in its console. */
export async function registerRedirectUri(uri: string) {
  const provider = `http://127.0.0.1:${Number(process.env.E2E_OIDC_PORT ?? 3190)}`;
  const response = await fetch(`${provider}/__peer/redirect-uris?uri=${encodeURIComponent(uri)}`, { method: 'POST' });
  if (!response.ok) throw new Error(`the provider answered ${response.status}`);
}

/** Signs in at the test OpenID provider's own form (any password works there). */
export async function signInAtProvider(page: Page, login: string) {
  await expect(page.locator('input[name=login]')).toBeVisible();
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}
