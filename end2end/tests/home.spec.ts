import { test, expect } from '@playwright/test';
import { ready, snap, watchConsole } from './helpers';

test('the home page renders styled, with and without JavaScript', async ({ page, javaScriptEnabled }, testInfo) => {
  const errors = watchConsole(page);
  const css = page.waitForResponse((r) => r.url().endsWith('/pkg/trellis.css'));
  await page.goto('/');

  await expect(page).toHaveTitle('Trellis');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(
    'A workspace for every customer, kept apart by the database itself.',
  );
  await expect(page.getByRole('heading', { level: 2 })).toHaveText([
    'Sign in per organization',
    'An admin console',
    'Isolation you can test',
  ]);
  expect((await css).status()).toBe(200);

  // Tailwind's classes applied: the headline is bold and large, the cards are rounded.
  const h1 = page.getByRole('heading', { level: 1 });
  expect(await h1.evaluate((el) => getComputedStyle(el).fontWeight)).toBe('700');
  expect(parseFloat(await h1.evaluate((el) => getComputedStyle(el).fontSize))).toBeGreaterThanOrEqual(36);
  const card = page.getByRole('heading', { name: 'An admin console' }).locator('..');
  expect(await card.evaluate((el) => getComputedStyle(el).borderTopLeftRadius)).toBe('16px');

  if (javaScriptEnabled) {
    await ready(page, true);
  } else {
    // Served as plain HTML: the wasm bundle never ran.
    await expect(page.locator('html')).not.toHaveAttribute('data-hydrated', /.*/);
  }
  await snap(page, testInfo, 'home');
  expect(errors).toEqual([]);
});

test('an unknown address gets a 404 page that leads home', async ({ page, javaScriptEnabled }, testInfo) => {
  const response = await page.goto('/no/such/page');
  expect(response?.status()).toBe(404);
  await ready(page, javaScriptEnabled);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('This page does not exist');
  await snap(page, testInfo, 'not-found');
  await page.getByRole('link', { name: 'Go to the home page' }).click();
  await expect(page).toHaveURL('/');
});

test('health reports the database ready', async ({ request }) => {
  const response = await request.get('/healthz');
  expect(response.status()).toBe(200);
  expect(await response.json()).toEqual({ status: 'ok', checks: { database: 'ok' } });
});
