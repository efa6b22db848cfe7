import { test, expect } from '@playwright/test';
import { stepUpURL } from '../playwright.config';
import { ready, signUp, snap, watchConsole } from './helpers';

// This server asks at every sensitive action (a step-up window of zero), as
// any session older than ten minutes is asked.
test.use({ baseURL: stepUpURL });

test('sensitive changes ask for the password in place, then go through', async ({
  page,
  javaScriptEnabled,
}, testInfo) => {
  const errors = watchConsole(page);
  const tag = testInfo.project.name;
  const email = `stella.${tag}@example.test`;
  const slug = `stella-${tag}`;
  const orgName = `Stella ${tag}`;
  const password = 'correct horse battery';

  await signUp(page, javaScriptEnabled, { name: 'Stella Step-Up', email, password, orgName, slug });

  // Retention: the first try asks, a wrong password is refused, the right one saves.
  await page.goto(`/o/${slug}/audit`);
  await ready(page, javaScriptEnabled);
  const retention = page.getByTestId('retention');
  await retention.getByLabel('Keep events for (days)').fill('30');
  await retention.getByRole('button', { name: 'Save' }).click();
  await expect(retention.getByTestId('step-up')).toBeVisible();
  await expect(retention.getByLabel("Confirm it's you")).toBeVisible();
  await expect(retention.getByLabel('Keep events for (days)')).toHaveValue('30');
  await snap(page, testInfo, 'step-up-asked');
  await retention.getByLabel("Confirm it's you").fill('not my password');
  await retention.getByRole('button', { name: 'Save' }).click();
  await expect(retention.getByText('That is not your password')).toBeVisible();
  await retention.getByLabel("Confirm it's you").fill(password);
  await retention.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByText('The retention period has been changed.')).toBeVisible();
  await expect(retention.getByText('Events older than 30 days are removed')).toBeVisible();

  // Deleting the organization asks too, and keeps the typed name meanwhile.
  await page.goto(`/o/${slug}/settings`);
  await ready(page, javaScriptEnabled);
  const remove = page.getByTestId('delete-form');
  await remove.getByLabel("Type the organization's name to confirm").fill(orgName);
  await remove.getByRole('button', { name: 'Delete this organization' }).click();
  await expect(remove.getByLabel("Confirm it's you")).toBeVisible();
  await expect(remove.getByLabel("Type the organization's name to confirm")).toHaveValue(orgName);
  await snap(page, testInfo, 'step-up-delete');
  await remove.getByLabel("Confirm it's you").fill(password);
  await remove.getByRole('button', { name: 'Delete this organization' }).click();
  await expect(page).toHaveURL(/\/login\?deleted=/);
  await expect(page.getByText(`${orgName} and all its data have been deleted.`)).toBeVisible();
  expect(errors).toEqual([]);
});
