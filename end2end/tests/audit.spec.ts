import { test, expect } from '@playwright/test';
import { ready, snap, watchConsole } from './helpers';

test('an admin reads the audit log, filters it and downloads the CSV', async ({ browser, javaScriptEnabled }, testInfo) => {
  const context = await browser.newContext({ javaScriptEnabled, acceptDownloads: true });
  const page = await context.newPage();
  const errors = watchConsole(page);
  await page.goto('/o/globex/login');
  await ready(page, javaScriptEnabled);
  await page.getByTestId('password-form').getByLabel('Email').fill('gus@globex.test');
  await page.getByTestId('password-form').getByLabel('Password').fill('demo-password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL('/o/globex');

  // The newest event is this sign-in, in words.
  await ready(page, javaScriptEnabled);
  await page.getByRole('link', { name: 'Audit log' }).first().click();
  await expect(page).toHaveURL('/o/globex/audit');
  await ready(page, javaScriptEnabled);
  const first = page.getByTestId('event').first();
  await expect(first).toContainText('Gus Admin signed in');
  await first.locator('summary').click();
  await expect(first).toContainText('"method": "password"');
  await snap(page, testInfo, 'audit-log');

  // Filters live in the URL.
  await page.getByLabel('Kind of event').selectOption('members');
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL('/o/globex/audit?group=members&actor=&from=&to=');
  await ready(page, javaScriptEnabled);
  const rows = page.getByTestId('event');
  await expect(rows.first()).toBeVisible();
  for (const action of await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-action')))) {
    expect(action?.startsWith('member.')).toBe(true);
  }
  await snap(page, testInfo, 'audit-filtered');

  // The CSV of the filtered view.
  const downloading = page.waitForEvent('download');
  await page.getByTestId('download-csv').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^audit-globex-\d{4}-\d{2}-\d{2}\.csv$/);
  const csv = require('node:fs').readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
  const lines = csv.trim().split('\r\n');
  // Every field is quoted (see docs/security.md, security defaults).
  expect(lines[0]).toBe('"occurred_at","actor_name","actor_email","actor_user_id","action","description","target_type","target_label","target_id","ip_address","user_agent","details"');
  expect(lines.length).toBeGreaterThan(1);
  expect(lines.slice(1).every((l: string) => l.includes(',"member.'))).toBe(true);
  expect(csv).toContain('max@globex.test');

  // By actor: only Gus's own sign-ins.
  await page.goto('/o/globex/audit?group=sign_in&actor=gus');
  await ready(page, javaScriptEnabled);
  await expect(page.getByTestId('event').first()).toContainText('Gus Admin signed in');
  await expect(page.getByTestId('event').filter({ hasNotText: 'Gus Admin' })).toHaveCount(0);

  expect(errors).toEqual([]);
});
