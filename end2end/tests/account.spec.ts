import { test, expect } from '@playwright/test';
import { linkIn, ready, signUp, snap, waitForMail, watchConsole } from './helpers';

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

test('the account page changes the name and the password', async ({ page, javaScriptEnabled }, testInfo) => {
  const errors = watchConsole(page);
  const tag = testInfo.project.name;
  const email = `ada.${tag}@example.test`;
  const slug = `ada-${tag}`;
  await signUp(page, javaScriptEnabled, {
    name: 'Ada Account',
    email,
    password: 'correct horse battery',
    orgName: `Ada ${tag}`,
    slug,
  });

  await page.getByTestId('user-menu').locator('summary').click();
  await page.getByRole('link', { name: 'Your account' }).click();
  await expect(page).toHaveURL('/account');
  await ready(page, javaScriptEnabled);
  await expect(page.getByLabel('Name')).toHaveValue('Ada Account');
  await expect(page.getByTestId('account-email')).toHaveText(email);

  // A name that cannot be shown is refused, with the typed text kept.
  await page.getByLabel('Name').fill('Ada \u202eLovelace');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByText('change the direction of text')).toBeVisible();
  await page.getByLabel('Name').fill('Ada Lovelace');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByText('Your name is changed.')).toBeVisible();
  await expect(page.getByLabel('Name')).toHaveValue('Ada Lovelace');

  // The password: the current one is checked first.
  const form = page.getByTestId('password-form');
  await ready(page, javaScriptEnabled);
  await form.getByLabel('Current password').fill('not it at all');
  await form.getByLabel('New password').fill('velvet harbour tangerine');
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(form.getByText('That is not your current password.')).toBeVisible();
  await snap(page, testInfo, 'account-password-wrong');
  await form.getByLabel('Current password').fill('correct horse battery');
  await form.getByLabel('New password').fill('velvet harbour tangerine');
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Your password is changed.')).toBeVisible();
  await snap(page, testInfo, 'account-password-changed');
  await waitForMail(email, 'Your Trellis password was changed');

  // This browser stays signed in; the new password is the one that works.
  await page.goto(`/o/${slug}`);
  await ready(page, javaScriptEnabled);
  await page.getByTestId('user-menu').locator('summary').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`/o/${slug}/login?signed_out=1`);
  await ready(page, javaScriptEnabled);
  await page.getByTestId('password-form').getByLabel('Email').fill(email);
  await page.getByTestId('password-form').getByLabel('Password').fill('velvet harbour tangerine');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(`/o/${slug}`);
  await expect(page.getByTestId('user-menu')).toContainText('Ada Lovelace');
  expect(errors).toEqual([]);
});

test('the account page lists the sessions and ends another one', async ({ page, browser, javaScriptEnabled }, testInfo) => {
  const errors = watchConsole(page);
  const tag = testInfo.project.name;
  const email = `ses.${tag}@example.test`;
  const slug = `ses-${tag}`;
  const password = 'seven lanterns over water';
  await signUp(page, javaScriptEnabled, {
    name: 'Sessions Person',
    email,
    password,
    orgName: `Sessions ${tag}`,
    slug,
  });

  // A second browser signs in too.
  const other = await browser.newContext({ javaScriptEnabled });
  const elsewhere = await other.newPage();
  await elsewhere.goto(`/o/${slug}/login`);
  await ready(elsewhere, javaScriptEnabled);
  await elsewhere.getByTestId('password-form').getByLabel('Email').fill(email);
  await elsewhere.getByTestId('password-form').getByLabel('Password').fill(password);
  await elsewhere.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(elsewhere).toHaveURL(`/o/${slug}`);

  await page.goto('/account');
  await ready(page, javaScriptEnabled);
  const rows = page.getByTestId('session-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.filter({ hasText: 'This browser' })).toHaveCount(1);
  await snap(page, testInfo, 'account-sessions');
  await rows.filter({ hasNotText: 'This browser' }).getByRole('button', { name: 'End' }).click();
  await expect(page.getByText('That session is ended')).toBeVisible();
  await expect(page.getByTestId('session-row')).toHaveCount(1);

  // The other browser's next page asks it to sign in again.
  await elsewhere.goto(`/o/${slug}/members`);
  await expect(elsewhere).toHaveURL(new RegExp(`/o/${slug}/login`));

  // As the organization's owner, from the members list: it signs in
  // again, and ending all of the member's sessions ends it (not this one).
  await ready(elsewhere, javaScriptEnabled);
  await elsewhere.getByTestId('password-form').getByLabel('Email').fill(email);
  await elsewhere.getByTestId('password-form').getByLabel('Password').fill(password);
  await elsewhere.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(elsewhere).toHaveURL(`/o/${slug}`);
  await page.goto(`/o/${slug}/members`);
  await ready(page, javaScriptEnabled);
  await page.getByRole('link', { name: 'Sessions of Sessions Person' }).click();
  await expect(page.getByRole('heading', { name: 'Sessions of Sessions Person' })).toBeVisible();
  await ready(page, javaScriptEnabled);
  await expect(page.getByTestId('session-row')).toHaveCount(2);
  await snap(page, testInfo, 'member-sessions');
  await page.getByRole('button', { name: 'End all their sessions' }).click();
  await expect(page.getByText('1 session ended.')).toBeVisible();
  await expect(page.getByTestId('session-row')).toHaveCount(1);
  await elsewhere.goto(`/o/${slug}`);
  await expect(elsewhere).toHaveURL(new RegExp(`/o/${slug}/login`));
  await other.close();
  expect(errors).toEqual([]);
});

test('the account page lists the sign-in methods, downloads my data and deletes the account', async ({
  page,
  javaScriptEnabled,
}, testInfo) => {
  const errors = watchConsole(page);
  const tag = testInfo.project.name;
  const email = `dora.${tag}@example.test`;
  const slug = `dora-${tag}`;
  await signUp(page, javaScriptEnabled, {
    name: 'Dora Delete',
    email,
    password: 'correct horse battery',
    orgName: `Dora ${tag}`,
    slug,
  });
  await page.goto('/account');
  await ready(page, javaScriptEnabled);
  await expect(page.getByTestId('sign-in-methods')).toContainText('Password');
  await expect(page.getByTestId('sign-in-methods')).toContainText('Set');

  // My data: one JSON file, hers.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Download my data' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('my-data.json');
  const file = await download.path();
  const doc = JSON.parse(require('fs').readFileSync(file, 'utf8'));
  expect(doc.account.email).toBe(email);
  expect(doc.memberships.map((m: { url_name: string }) => m.url_name)).toEqual([slug]);

  // Deleting: she is the only member of her organization, which goes too.
  const plan = page.getByTestId('deletion-plan');
  await expect(plan).toContainText(`Dora ${tag}`);
  await expect(plan).toContainText('deleted with your account');
  const form = page.getByTestId('delete-account-form');
  await form.getByLabel('Your email address').fill('someone.else@example.test');
  await form.getByRole('button', { name: 'Delete my account' }).click();
  await expect(form.getByText('Type your email address exactly to confirm.')).toBeVisible();
  await snap(page, testInfo, 'account-delete-refused');
  await ready(page, javaScriptEnabled);
  await form.getByLabel('Your email address').fill(email);
  await form.getByRole('button', { name: 'Delete my account' }).click();
  await expect(page).toHaveURL('/login?account_deleted=1');
  await expect(page.getByText('Your account is deleted.')).toBeVisible();
  await snap(page, testInfo, 'account-deleted');
  await waitForMail(email, 'Your Trellis account was deleted');
  await page.goto(`/o/${slug}`);
  await expect(page).not.toHaveURL(`/o/${slug}`);
  expect(errors).toEqual([]);
});
