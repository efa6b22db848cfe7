import { test, expect, Browser } from '@playwright/test';
import { linkIn, publishTxt, ready, signInAtProvider, snap, waitForMail, watchConsole } from './helpers';

const provider = `http://127.0.0.1:${Number(process.env.E2E_OIDC_PORT ?? 3190)}`;

async function newPage(browser: Browser, javaScriptEnabled: boolean) {
  const context = await browser.newContext({ javaScriptEnabled });
  return context.newPage();
}

// Each project (with and without JavaScript) signs up its own organization
// and domain, so enforcing SSO there leaves the demo orgs alone.
test('an owner sets up, tests, enables and enforces SSO; people sign in through the provider', async ({
  browser,
  javaScriptEnabled,
}, testInfo) => {
  const tag = testInfo.project.name;
  const domain = `initech-${tag}.test`;
  const slug = `initech-${tag}`;
  const owner = `owner@${domain}`;

  // A new organization, confirmed by mail.
  const admin = await newPage(browser, javaScriptEnabled);
  const errors = watchConsole(admin);
  await admin.goto('/signup');
  await ready(admin, javaScriptEnabled);
  await admin.getByLabel('Your name').fill('Olga Owner');
  await admin.getByLabel('Work email').fill(owner);
  await admin.getByLabel('Password').fill('correct horse battery');
  await admin.getByLabel('Organization name').fill(`Initech ${tag}`);
  await admin.getByLabel('URL name').fill(slug);
  await admin.getByRole('button', { name: 'Create organization' }).click();
  await expect(admin).toHaveURL('/signup/check-email');
  await admin.goto(linkIn(await waitForMail(owner, 'Confirm your email address'), '/verify-email?token='));
  await expect(admin).toHaveURL(`/o/${slug}`);

  // The settings page, from the navigation.
  await ready(admin, javaScriptEnabled);
  await admin.getByRole('link', { name: 'Single sign-on' }).first().click();
  await expect(admin).toHaveURL(`/o/${slug}/sso`);
  await ready(admin, javaScriptEnabled);
  await expect(admin.getByTestId('sso-status')).toHaveText('Not set up');
  await expect(admin.getByTestId('redirect-uri')).toHaveValue(/\/sso\/callback$/);
  if (javaScriptEnabled) {
    await admin.getByTestId('copy-redirect-uri').click();
    await expect(admin.getByTestId('copy-redirect-uri')).toHaveText('Copied');
  } else {
    await expect(admin.getByTestId('copy-redirect-uri')).toBeHidden();
  }

  // A wrong issuer is explained on the field.
  const form = admin.getByTestId('connection-form');
  await form.getByLabel('Issuer URL').fill(provider.replace('127.0.0.1', 'localhost'));
  await form.getByLabel('Client id').fill('trellis');
  await form.getByLabel('Client secret').fill('trellis-secret');
  await form.getByRole('button', { name: 'Save connection' }).click();
  await expect(admin.getByText('calls itself by a different issuer')).toBeVisible();
  await snap(admin, testInfo, 'sso-wrong-issuer');

  await form.getByLabel('Issuer URL').fill(provider);
  await form.getByLabel('Client secret').fill('trellis-secret');
  await form.getByRole('button', { name: 'Save connection' }).click();
  await expect(admin.getByText('The connection is saved.')).toBeVisible();
  await expect(admin.getByRole('button', { name: 'Turn single sign-on on' })).toBeDisabled();

  // Test connection: a real sign-in at the provider, then the claims.
  await admin.getByTestId('test-connection').click();
  await signInAtProvider(admin, owner);
  await expect(admin).toHaveURL(`/o/${slug}/sso?notice=tested`);
  await ready(admin, javaScriptEnabled);
  await expect(admin.getByTestId('test-report')).toHaveAttribute('data-ok', 'true');
  await expect(admin.getByTestId('test-report')).toContainText(owner);
  await snap(admin, testInfo, 'sso-tested');

  await admin.getByRole('button', { name: 'Turn single sign-on on' }).click();
  await expect(admin.getByText('Single sign-on is on')).toBeVisible();
  await expect(admin.getByTestId('sso-status')).toHaveText('On');

  // The domain, proved by a TXT record on the test DNS server.
  await admin.getByLabel('Add a domain').fill(domain);
  await admin.getByRole('button', { name: 'Add domain' }).click();
  await expect(admin.getByText('The domain is added.')).toBeVisible();
  const row = admin.getByTestId('domain');
  await row.getByRole('button', { name: 'Check now' }).click();
  await expect(row.getByTestId('check-error')).toContainText('No TXT record was found');
  await publishTxt(await row.getByTestId('txt-name').innerText(), await row.getByTestId('txt-value').innerText());
  await snap(admin, testInfo, 'sso-domain-pending');
  await row.getByRole('button', { name: 'Check now' }).click();
  await expect(admin.getByText('The domain is verified.')).toBeVisible();
  await expect(row).toContainText('Verified');

  await admin.getByRole('button', { name: 'Require single sign-on' }).click();
  await expect(admin.getByText('Single sign-on is now required')).toBeVisible();
  await expect(admin.getByTestId('sso-status')).toHaveText('Required');
  await snap(admin, testInfo, 'sso-settings');

  // A new person of the domain: the login link goes straight to the
  // provider, and they join with the default role.
  const pat = await newPage(browser, javaScriptEnabled);
  await pat.goto(`/o/${slug}/login`);
  await expect(pat).toHaveURL(new RegExp(`^${provider}/interaction/`));
  await signInAtProvider(pat, `pat@${domain}`);
  await expect(pat).toHaveURL(`/o/${slug}`);
  await ready(pat, javaScriptEnabled);
  await expect(pat.getByText('You are signed in as member')).toBeVisible();
  await snap(pat, testInfo, 'sso-signed-in');

  // /login finds the organization by the address's domain.
  const lee = await newPage(browser, javaScriptEnabled);
  await lee.goto('/login');
  await ready(lee, javaScriptEnabled);
  await lee.getByText('Sign in with single sign-on (SSO)').click();
  await lee.getByTestId('sso-discovery-form').getByLabel('Work email').fill(`lee@${domain}`);
  await snap(lee, testInfo, 'login-sso-discovery');
  await lee.getByRole('button', { name: 'Continue with single sign-on' }).click();
  await expect(lee).toHaveURL(new RegExp(`^${provider}/interaction/`));
  await expect(lee.locator('input[name=login]')).toHaveValue(`lee@${domain}`);
  await signInAtProvider(lee, `lee@${domain}`);
  await expect(lee).toHaveURL(`/o/${slug}`);

  // A callback that belongs to no sign-in gets a page that says so.
  const stray = await newPage(browser, javaScriptEnabled);
  await stray.goto('/sso/callback?code=abc&state=forged');
  await expect(stray).toHaveURL('/sso/failed?reason=no_flow');
  await expect(stray.getByRole('heading', { name: 'This sign-in has expired or was already used' })).toBeVisible();
  await snap(stray, testInfo, 'sso-failed');

  // The owner's way in when the provider is broken.
  const recovery = await newPage(browser, javaScriptEnabled);
  await recovery.goto(`/o/${slug}/login?break_glass=1`);
  await ready(recovery, javaScriptEnabled);
  await expect(recovery.getByText('Owner recovery sign-in')).toBeVisible();
  await snap(recovery, testInfo, 'break-glass');
  await recovery.getByLabel('Email').fill(owner);
  await recovery.getByLabel('Password').fill('correct horse battery');
  await recovery.getByRole('button', { name: 'Sign in as an owner' }).click();
  await expect(recovery).toHaveURL(`/o/${slug}`);

  expect(errors).toEqual([]);
});
