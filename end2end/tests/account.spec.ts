import { test, expect } from '@playwright/test';
import { linkIn, ready, snap, waitForMail, watchConsole } from './helpers';

// Each project (with and without JavaScript) creates its own account.
test('sign up, confirm by mail, sign out, sign back in, and reset the password', async ({
  page,
  javaScriptEnabled,
}, testInfo) => {
  const errors = watchConsole(page);
  const tag = testInfo.project.name;
  const email = `nora.${tag}@example.test`;
  const slug = `nora-${tag}`;
  const orgName = `Nora's Studio ${tag}`;

  await page.goto('/signup');
  await ready(page, javaScriptEnabled);
  await page.getByLabel('Your name').fill('Nora New');
  await page.getByLabel('Work email').fill(email);
  await page.getByLabel('Password').fill('correct horse battery');
  await page.getByLabel('Organization name').fill(orgName);
  if (javaScriptEnabled) {
    // The URL name follows the organization's name.
    await expect(page.getByLabel('URL name')).toHaveValue(`nora-s-studio-${tag}`);
  }
  await page.getByLabel('URL name').fill(slug);
  await snap(page, testInfo, 'sign-up');
  await page.getByRole('button', { name: 'Create organization' }).click();

  await expect(page).toHaveURL('/signup/check-email');
  await expect(page.getByRole('heading', { name: 'Check your inbox' })).toBeVisible();
  await snap(page, testInfo, 'check-email');

  const mail = await waitForMail(email, 'Confirm your email address');
  await page.goto(linkIn(mail, '/verify-email?token='));
  await expect(page).toHaveURL(`/o/${slug}`);
  await ready(page, javaScriptEnabled);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(orgName);
  await expect(page.getByText('You are signed in as owner')).toBeVisible();
  await snap(page, testInfo, 'org-home');

  // Sign out from the user menu.
  await page.getByTestId('user-menu').locator('summary').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`/o/${slug}/login?signed_out=1`);
  await expect(page.getByText('You have signed out.')).toBeVisible();
  await snap(page, testInfo, 'org-login-signed-out');

  // Back in through the org's own login link.
  await ready(page, javaScriptEnabled);
  await page.getByTestId('password-form').getByLabel('Email').fill(email);
  await page.getByTestId('password-form').getByLabel('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(`/o/${slug}`);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(orgName);

  // Forgotten password: a link by mail, a new password, every session ends.
  await page.getByTestId('user-menu').locator('summary').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`/o/${slug}/login?signed_out=1`);
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(page).toHaveURL('/forgot-password');
  await ready(page, javaScriptEnabled);
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await expect(page).toHaveURL('/forgot-password?sent=1');
  await expect(page.getByText('a reset link is on its way')).toBeVisible();
  await snap(page, testInfo, 'forgot-password');

  const reset = await waitForMail(email, 'Reset your Trellis password');
  await page.goto(linkIn(reset, '/reset-password?token='));
  await ready(page, javaScriptEnabled);
  await page.getByLabel('New password', { exact: true }).fill('another good password');
  await page.getByLabel('Repeat the new password').fill('not the same one');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('The two passwords are not the same.')).toBeVisible();
  await snap(page, testInfo, 'reset-password-mismatch');
  await page.getByLabel('New password', { exact: true }).fill('another good password');
  await page.getByLabel('Repeat the new password').fill('another good password');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page).toHaveURL('/login?password_reset=1');
  await expect(page.getByText('Your password has been changed')).toBeVisible();
  await ready(page, javaScriptEnabled);
  await page.getByTestId('password-form').getByLabel('Email').fill(email);
  await page.getByTestId('password-form').getByLabel('Password').fill('another good password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(`/o/${slug}`);
  expect(errors).toEqual([]);
});
