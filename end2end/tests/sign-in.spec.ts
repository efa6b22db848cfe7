import { test, expect, Page } from '@playwright/test';
import { ready, snap, watchConsole } from './helpers';

async function signIn(page: Page, email: string, password: string) {
  const form = page.getByTestId('password-form');
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

const sameMessage = 'That email and password do not let you sign in to Acme Corporation. Check them and try again.';

test('a wrong password is refused with the email kept', async ({ page, javaScriptEnabled }, testInfo) => {
  const errors = watchConsole(page);
  await page.goto('/o/acme/login');
  await ready(page, javaScriptEnabled);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Sign in to Acme Corporation');
  await snap(page, testInfo, 'org-login');
  await signIn(page, 'olivia@acme.test', 'not-her-password');
  await expect(page.getByRole('alert')).toHaveText(sameMessage);
  await expect(page.getByTestId('password-form').getByLabel('Email')).toHaveValue('olivia@acme.test');
  await snap(page, testInfo, 'org-login-wrong-password');
  await page.goto('/o/acme');
  await expect(page).toHaveURL('/o/acme/login');
  expect(errors).toEqual([]);
});

test('a member of another organization gets the same answer on its login link', async ({
  page,
  javaScriptEnabled,
}, testInfo) => {
  await page.goto('/o/acme/login');
  await ready(page, javaScriptEnabled);
  await signIn(page, 'grace@globex.test', 'demo-password');
  await expect(page.getByRole('alert')).toHaveText(sameMessage);
  await snap(page, testInfo, 'org-login-non-member');
});

test('a user of two organizations picks one, then switches by signing in again', async ({
  page,
  javaScriptEnabled,
}, testInfo) => {
  const errors = watchConsole(page);
  await page.goto('/login');
  await ready(page, javaScriptEnabled);
  await snap(page, testInfo, 'login');
  await signIn(page, 'sam@consulting.test', 'demo-password');

  await expect(page).toHaveURL('/orgs');
  const picker = page.getByTestId('org-picker');
  await expect(picker.getByRole('listitem')).toHaveCount(2);
  await expect(picker.getByRole('button', { name: /Acme Corporation.*Admin/ })).toBeVisible();
  await expect(picker.getByRole('button', { name: /Globex.*Member/ })).toBeVisible();
  await snap(page, testInfo, 'org-picker');
  await ready(page, javaScriptEnabled);
  await picker.getByRole('button', { name: /Globex/ }).click();

  await expect(page).toHaveURL('/o/globex');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Globex');
  await ready(page, javaScriptEnabled);
  const switcher = page.getByTestId('org-switcher');
  await switcher.locator('summary').click();
  await expect(switcher.getByRole('button')).toHaveCount(1);
  await snap(page, testInfo, 'org-switcher');
  await switcher.getByRole('button', { name: /Acme Corporation/ }).click();

  // Signed out of Globex, not yet into Acme: the target org's sign-in runs.
  await expect(page).toHaveURL('/o/acme/login?email=sam%40consulting.test&switching=1');
  await expect(page.getByText('You signed out of Globex. Sign in to Acme Corporation to continue.')).toBeVisible();
  await expect(page.getByTestId('password-form').getByLabel('Email')).toHaveValue('sam@consulting.test');
  await snap(page, testInfo, 'switch-sign-in');
  await page.goto('/o/globex');
  await expect(page).toHaveURL('/o/globex/login');
  await page.goto('/o/acme/login?email=sam%40consulting.test&switching=1');
  await ready(page, javaScriptEnabled);
  await page.getByTestId('password-form').getByLabel('Password').fill('demo-password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL('/o/acme');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Acme Corporation');
  await expect(page.getByText('You are signed in as admin')).toBeVisible();
  expect(errors).toEqual([]);
});
