import { test, expect, Browser, Page } from '@playwright/test';
import { linkIn, ready, snap, sql, waitForMail, watchConsole } from './helpers';

async function signInAs(browser: Browser, javaScriptEnabled: boolean, slug: string, email: string, password = 'demo-password') {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  await page.goto(`/o/${slug}/login`);
  await ready(page, javaScriptEnabled);
  await page.getByTestId('password-form').getByLabel('Email').fill(email);
  await page.getByTestId('password-form').getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL(`/o/${slug}`);
  return page;
}

async function invite(admin: Page, javaScriptEnabled: boolean, email: string, role: string) {
  await admin.goto('/o/acme/members');
  await ready(admin, javaScriptEnabled);
  await admin.getByLabel('Email addresses').fill(email);
  await admin.getByLabel('Role', { exact: true }).selectOption(role);
  await admin.getByRole('button', { name: 'Send invitations' }).click();
  await expect(admin.getByText(`Invitation sent to ${email}.`)).toBeVisible();
}

test('an admin invites a person who joins; a role change and a removal apply on their next page', async ({
  browser,
  javaScriptEnabled,
}, testInfo) => {
  const tag = testInfo.project.name;
  const email = `ivy.${tag}@example.test`;
  const admin = await signInAs(browser, javaScriptEnabled, 'acme', 'adam@acme.test');
  const adminErrors = watchConsole(admin);

  await invite(admin, javaScriptEnabled, email, 'member');
  await expect(admin.getByTestId('pending-invitations')).toContainText(email);
  await snap(admin, testInfo, 'members-invited');

  // The invitee opens the mail from the real SMTP server and creates an account.
  const mail = await waitForMail(email, 'invited you to Acme Corporation');
  expect(mail.text).toContain('Adam Admin invited you to join Acme Corporation as a member.');
  const guestContext = await browser.newContext({ javaScriptEnabled });
  const guest = await guestContext.newPage();
  const guestErrors = watchConsole(guest);
  await guest.goto(linkIn(mail, '/invite?token='));
  await ready(guest, javaScriptEnabled);
  await expect(guest.getByRole('heading', { name: 'Join Acme Corporation' })).toBeVisible();
  await snap(guest, testInfo, 'invitation-new-person');
  await guest.getByLabel('Your name').fill(`Ivy ${tag}`);
  await guest.getByLabel('Choose a password').fill('correct horse battery');
  await guest.getByRole('button', { name: 'Create account and join' }).click();
  await expect(guest).toHaveURL('/o/acme');
  await expect(guest.getByText('You are signed in as member')).toBeVisible();

  // The admin sees the new member with the invited role.
  await admin.goto(`/o/acme/members?q=${encodeURIComponent(email)}`);
  await ready(admin, javaScriptEnabled);
  const row = admin.getByRole('row', { name: new RegExp(email) });
  await expect(row.getByRole('combobox')).toHaveValue('member');
  await expect(admin.getByTestId('pending-invitations')).not.toContainText(email);

  // Role change: the member's next page shows it.
  await row.getByRole('combobox').selectOption('viewer');
  await row.getByRole('button', { name: 'Save' }).click();
  await expect(admin.getByText(`${email}'s role has been changed.`)).toBeVisible();
  await snap(admin, testInfo, 'members-role-changed');
  await guest.goto('/o/acme');
  await expect(guest.getByText('You are signed in as viewer')).toBeVisible();
  await expect(guest.getByRole('link', { name: 'Members' })).toHaveCount(0);

  // Removal, in two steps: the member's next request is signed out.
  await admin.goto(`/o/acme/members?q=${encodeURIComponent(email)}`);
  await ready(admin, javaScriptEnabled);
  await admin.getByRole('link', { name: `Remove Ivy ${tag}` }).click();
  await expect(admin.getByRole('alertdialog')).toContainText(`Remove Ivy ${tag} from the organization?`);
  await snap(admin, testInfo, 'members-confirm-remove');
  await admin.getByRole('button', { name: `Remove Ivy ${tag}` }).click();
  await expect(admin.getByText(`${email} has been removed from the organization.`)).toBeVisible();
  await guest.goto('/o/acme');
  await expect(guest).toHaveURL('/o/acme/login');

  expect(adminErrors).toEqual([]);
  expect(guestErrors).toEqual([]);
});

test('an expired invitation link shows its own page', async ({ browser, javaScriptEnabled }, testInfo) => {
  const email = `late.${testInfo.project.name}@example.test`;
  const admin = await signInAs(browser, javaScriptEnabled, 'acme', 'olivia@acme.test');
  await invite(admin, javaScriptEnabled, email, 'viewer');
  const link = linkIn(await waitForMail(email, 'invited you'), '/invite?token=');
  sql(`update invitation set expires_at = now() - interval '1 minute' where email = '${email}'`);
  const visitor = await (await browser.newContext({ javaScriptEnabled })).newPage();
  await visitor.goto(link);
  await expect(visitor.getByRole('heading', { name: 'This invitation has expired' })).toBeVisible();
  await expect(visitor.getByText('Ask Olivia Owner at Acme Corporation to send it again.')).toBeVisible();
  await snap(visitor, testInfo, 'invitation-expired');
});
