import { test, expect, Page } from '@playwright/test';
import * as OTPAuth from 'otpauth';
import { ready, signUp, snap, waitForMail, watchConsole } from './helpers';

// The codes come from the npm `otpauth` library, not from the server's.
function codeAt(secret: string, offsetSteps: number): string {
  const totp = new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
  });
  return totp.generate({ timestamp: Date.now() + offsetSteps * 30_000 });
}

async function signOut(page: Page, slug: string) {
  await page.getByTestId('user-menu').locator('summary').click();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(`/o/${slug}/login?signed_out=1`);
}

// Each project (with and without JavaScript) signs up its own account.
test('turn on an authenticator app, sign in with its code and a recovery code, turn it off', async ({
  page,
  javaScriptEnabled,
}, testInfo) => {
  const errors = watchConsole(page);
  const tag = testInfo.project.name;
  const email = `tess.${tag}@example.test`;
  const slug = `tess-${tag}`;
  const password = 'correct horse battery';

  await signUp(page, javaScriptEnabled, {
    name: 'Tess Two-Step',
    email,
    password,
    orgName: `Tess ${tag}`,
    slug,
  });

  // The account page, from the user menu.
  await page.getByTestId('user-menu').locator('summary').click();
  await page.getByRole('link', { name: 'Your account' }).click();
  await expect(page).toHaveURL('/account');
  await expect(page.getByRole('heading', { name: 'Your account', exact: true })).toBeVisible();
  await snap(page, testInfo, 'account');
  await ready(page, javaScriptEnabled);
  await page.getByRole('link', { name: 'Set up an authenticator app' }).click();
  await expect(page).toHaveURL('/account/two-step');
  await expect(page.getByTestId('totp-qr').locator('svg')).toBeVisible();
  const secret = (await page.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await snap(page, testInfo, 'two-step-setup');

  await ready(page, javaScriptEnabled);
  await page.getByLabel('Six-digit code').fill('000000' === codeAt(secret, 0) ? '111111' : '000000');
  await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
  await expect(page.getByText('That code is not right')).toBeVisible();
  // Kept as typed: the clock may pass a 30-second step before it is replayed below.
  const firstCode = codeAt(secret, 0);
  await page.getByLabel('Six-digit code').fill(firstCode);
  await page.getByRole('button', { name: 'Turn on two-step sign-in' }).click();
  await expect(page).toHaveURL('/account/recovery-codes');
  const codes = await page.getByTestId('recovery-codes').locator('li').allInnerTexts();
  expect(codes).toHaveLength(10);
  await snap(page, testInfo, 'recovery-codes');
  // Shown once: a reload finds none.
  await page.reload();
  await expect(page.getByText('shown only once')).toBeVisible();
  await page.getByRole('link', { name: /back to my account/ }).click();
  await expect(page.getByTestId('two-step-on')).toBeVisible();
  await expect(page.getByTestId('codes-left')).toHaveText('10 recovery codes left');
  await snap(page, testInfo, 'account-two-step-on');

  // Signing in now asks for the code; the password alone opens nothing.
  await page.goto(`/o/${slug}`);
  await ready(page, javaScriptEnabled);
  await signOut(page, slug);
  await ready(page, javaScriptEnabled);
  await page.getByTestId('password-form').getByLabel('Email').fill(email);
  await page.getByTestId('password-form').getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL('/login/second-step');
  await expect(page.getByRole('heading', { name: 'Enter your code' })).toBeVisible();
  await snap(page, testInfo, 'second-step');
  await ready(page, javaScriptEnabled);
  // The code that turned the app on is spent.
  await page.getByLabel('Authentication code').fill(firstCode);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page.getByText('already been used')).toBeVisible();
  await snap(page, testInfo, 'second-step-replayed');
  await page.getByLabel('Authentication code').fill(codeAt(secret, 1));
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page).toHaveURL(`/o/${slug}`);

  // A recovery code instead of the phone.
  await ready(page, javaScriptEnabled);
  await signOut(page, slug);
  await ready(page, javaScriptEnabled);
  await page.getByTestId('password-form').getByLabel('Email').fill(email);
  await page.getByTestId('password-form').getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL('/login/second-step');
  await ready(page, javaScriptEnabled);
  await page.getByLabel('Authentication code').fill(codes[0]);
  await page.getByRole('button', { name: 'Continue' }).click();
  await expect(page).toHaveURL(`/o/${slug}`);

  // Turning it off takes a code too.
  await page.goto('/account');
  await ready(page, javaScriptEnabled);
  await expect(page.getByTestId('codes-left')).toHaveText('9 recovery codes left');
  await page.locator('#disable-code').fill(codes[0]);
  await page.getByRole('button', { name: 'Turn off two-step sign-in' }).click();
  await expect(page.getByText('That code is not right')).toBeVisible();
  await page.locator('#disable-code').fill(codes[1]);
  await page.getByRole('button', { name: 'Turn off two-step sign-in' }).click();
  await expect(page.getByText('Two-step sign-in is off.')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Set up an authenticator app' })).toBeVisible();
  await snap(page, testInfo, 'account-two-step-off');

  // The owner requires it of everyone: her own next sign-in sets it up first.
  await page.goto(`/o/${slug}/settings`);
  await ready(page, javaScriptEnabled);
  await page.getByRole('button', { name: 'Require two-step sign-in' }).click();
  await expect(page.getByText('Two-step sign-in is now required')).toBeVisible();
  await expect(page.getByText('Required for every member')).toBeVisible();
  await snap(page, testInfo, 'settings-mfa-required');
  await waitForMail(email, 'now requires two-step sign-in');
  await signOut(page, slug);
  await ready(page, javaScriptEnabled);
  await page.getByTestId('password-form').getByLabel('Email').fill(email);
  await page.getByTestId('password-form').getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL('/login/set-up-two-step');
  await expect(page.getByText(`Tess ${tag} requires two-step sign-in`)).toBeVisible();
  await snap(page, testInfo, 'set-up-at-sign-in');
  await ready(page, javaScriptEnabled);
  const required = (await page.getByTestId('totp-secret').innerText()).replace(/\s+/g, '');
  await page.getByLabel('Six-digit code').fill(codeAt(required, 0));
  await page.getByRole('button', { name: 'Turn on and continue' }).click();
  await expect(page).toHaveURL('/account/recovery-codes');
  await expect(page.getByTestId('recovery-codes').locator('li')).toHaveCount(10);
  await page.goto(`/o/${slug}/members`);
  await expect(page.getByTestId('two-step-badge')).toBeVisible();
  await snap(page, testInfo, 'members-two-step');
  expect(errors).toEqual([]);
});
