import { test, expect, Browser } from '@playwright/test';
import { publishTxt, ready, registerRedirectUri, signInAtProvider, signUp, snap, watchConsole } from './helpers';

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
  await signUp(admin, javaScriptEnabled, {
    name: 'Olga Owner',
    email: owner,
    password: 'correct horse battery',
    orgName: `Initech ${tag}`,
    slug,
  });

  // The settings page, from the navigation.
  await ready(admin, javaScriptEnabled);
  await admin.getByRole('link', { name: 'Single sign-on' }).first().click();
  await expect(admin).toHaveURL(`/o/${slug}/sso`);
  await ready(admin, javaScriptEnabled);
  await expect(admin.getByTestId('sso-status')).toHaveText('Not set up');
  // The connection's own redirect URI, known before it is saved; the admin
  // registers it at the provider.
  const redirectUri = await admin.getByTestId('redirect-uri').inputValue();
  expect(redirectUri).toMatch(/\/sso\/callback\/[0-9a-f-]{36}$/);
  await registerRedirectUri(redirectUri);
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
  // The owner signed in with a password, so her session ended with the
  // others: she signs in again through the provider. Her account exists, so
  // the first time she proves it is hers (its password), once.
  await expect(admin).toHaveURL(`/o/${slug}/login?sso_now_required=1`);
  await ready(admin, javaScriptEnabled);
  await expect(admin.getByText('Single sign-on is now required here')).toBeVisible();
  await snap(admin, testInfo, 'sso-required-login');
  // (She is still signed in at the provider from the test run, so it
  // answers at once.)
  await admin.getByTestId('sso-button').click();
  await expect(admin).toHaveURL('/sso/link');
  await ready(admin, javaScriptEnabled);
  await expect(admin.getByText('Confirm it is your account')).toBeVisible();
  await snap(admin, testInfo, 'sso-link');
  await admin.getByLabel('Your password').fill('correct horse battery');
  await admin.getByRole('button', { name: 'Confirm and sign in' }).click();
  await expect(admin).toHaveURL(`/o/${slug}`);
  await admin.goto(`/o/${slug}/sso`);
  await ready(admin, javaScriptEnabled);
  await expect(admin.getByTestId('sso-status')).toHaveText('Required');
  await snap(admin, testInfo, 'sso-settings');

  // A new person of the domain: the login link offers the provider (one
  // press: a link alone starts nothing), and they join with the default role.
  const pat = await newPage(browser, javaScriptEnabled);
  await pat.goto(`/o/${slug}/login`);
  await ready(pat, javaScriptEnabled);
  await snap(pat, testInfo, 'sso-only-login');
  await pat.getByTestId('sso-button').click();
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
  await stray.goto(`${redirectUri}?code=abc&state=forged`);
  await expect(stray).toHaveURL(`/sso/failed?org=${slug}&reason=no_flow`);
  await expect(stray.getByRole('heading', { name: 'This sign-in has expired or was already used' })).toBeVisible();
  await snap(stray, testInfo, 'sso-failed');

  // A link from anywhere to the start of a sign-in starts nothing: the
  // person is asked first.
  const linked = await newPage(browser, javaScriptEnabled);
  await linked.goto(`/sso/start?org=${slug}`);
  await expect(linked).toHaveURL(`/sso/continue?org=${slug}`);
  await ready(linked, javaScriptEnabled);
  await expect(linked.getByRole('heading', { name: `Sign in to Initech ${tag} with single sign-on?` })).toBeVisible();
  await snap(linked, testInfo, 'sso-confirm');
  await linked.getByTestId('sso-confirm').click();
  await expect(linked).toHaveURL(new RegExp(`^${provider}/interaction/`));

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
