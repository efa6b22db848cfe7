import { test, expect, Browser } from '@playwright/test';
import { ready, snap, watchConsole } from './helpers';

async function signInAs(browser: Browser, javaScriptEnabled: boolean, email: string) {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  await page.goto('/o/acme/login');
  await ready(page, javaScriptEnabled);
  await page.getByTestId('password-form').getByLabel('Email').fill(email);
  await page.getByTestId('password-form').getByLabel('Password').fill('demo-password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page).toHaveURL('/o/acme');
  return page;
}

test('a member creates, edits, archives, restores and deletes a project', async ({ browser, javaScriptEnabled }, testInfo) => {
  const tag = javaScriptEnabled ? 'with-js' : 'without-js'; // the Playwright run's name
  const name = `Launch plan ${tag}`;
  const page = await signInAs(browser, javaScriptEnabled, 'mia@acme.test');
  const errors = watchConsole(page);

  // The header leads to the list.
  await ready(page, javaScriptEnabled);
  await page.getByRole('navigation', { name: 'Organization' }).first().getByRole('link', { name: 'Projects' }).click();
  await expect(page).toHaveURL('/o/acme/projects');
  await ready(page, javaScriptEnabled);

  // A name is required; the description typed so far is kept.
  await page.getByLabel('Description').fill('Everything for the launch.');
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page.getByText('Enter a name for the project.')).toBeVisible();
  await expect(page.getByLabel('Description')).toHaveValue('Everything for the launch.');
  await snap(page, testInfo, 'projects-name-missing');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create project' }).click();
  await expect(page.getByText('Project created.')).toBeVisible();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
  await expect(page.getByTestId('project-description')).toHaveText('Everything for the launch.');
  await ready(page, javaScriptEnabled);

  // Edit: rename and a longer description.
  await page.getByLabel('Name', { exact: true }).fill(`${name} v2`);
  await page.getByLabel('Description').fill('Everything for the launch.\nAnd the week after.');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await expect(page.getByText('Changes saved.')).toBeVisible();
  await expect(page.getByRole('heading', { level: 1, name: `${name} v2` })).toBeVisible();
  await snap(page, testInfo, 'project-saved');

  // Archive: read-only and listed under Archived; then restore.
  await ready(page, javaScriptEnabled);
  await page.getByRole('button', { name: 'Archive project' }).click();
  await expect(page.getByText('Project archived.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Save changes' })).toHaveCount(0);
  await page.goto('/o/acme/projects?show=archived');
  await ready(page, javaScriptEnabled);
  await expect(page.getByTestId('project-list')).toContainText(`${name} v2`);
  await snap(page, testInfo, 'projects-archived');
  await page.getByRole('link', { name: new RegExp(`${name} v2`) }).click();
  await ready(page, javaScriptEnabled);
  await page.getByRole('button', { name: 'Restore project' }).click();
  await expect(page.getByText('Project restored.')).toBeVisible();

  // Delete, in two steps.
  await ready(page, javaScriptEnabled);
  await page.getByRole('link', { name: 'Delete project…' }).click();
  await expect(page.getByRole('alertdialog')).toContainText(`Delete “${name} v2”?`);
  await snap(page, testInfo, 'project-confirm-delete');
  await page.getByRole('button', { name: 'Delete project' }).click();
  await expect(page).toHaveURL(/\/o\/acme\/projects\?notice=deleted/);
  await expect(page.getByText(`“${name} v2” has been deleted.`)).toBeVisible();
  await expect(page.getByTestId('project-list')).not.toContainText(`${name} v2`);

  // Two more, for the search and for the viewer's test below.
  await ready(page, javaScriptEnabled);
  for (const other of [`Kept ${tag}`, `Other ${tag}`]) {
    await page.getByLabel('Name', { exact: true }).fill(other);
    await page.getByRole('button', { name: 'Create project' }).click();
    await expect(page.getByText('Project created.')).toBeVisible();
    await page.goto('/o/acme/projects');
    await ready(page, javaScriptEnabled);
  }
  await page.getByLabel('Search projects').fill(`kept ${tag}`);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL(/q=kept/);
  await expect(page.getByTestId('project-list')).toContainText(`Kept ${tag}`);
  await expect(page.getByTestId('project-list')).not.toContainText(`Other ${tag}`);
  await snap(page, testInfo, 'projects-search');

  // projects only: the home page lists the recently changed ones (copies leave it out).
  await page.goto('/o/acme');
  await expect(page.getByTestId('recent-projects')).toContainText(`Other ${tag}`);
  await snap(page, testInfo, 'org-home-projects');
  // end projects only
  expect(errors).toEqual([]);
});

test('a viewer reads projects but cannot change them', async ({ browser, javaScriptEnabled }, testInfo) => {
  const kept = `Kept ${javaScriptEnabled ? 'with-js' : 'without-js'}`;
  const page = await signInAs(browser, javaScriptEnabled, 'victor@acme.test');
  await page.goto('/o/acme/projects');
  await ready(page, javaScriptEnabled);
  await expect(page.getByText('Viewers can read projects.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Create project' })).toHaveCount(0);
  await page.getByRole('link', { name: new RegExp(kept) }).click();
  await expect(page.getByRole('heading', { level: 1, name: kept })).toBeVisible();
  await expect(page.getByText('Only the project\'s creator, an admin or an owner can change it.')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Archive project' })).toHaveCount(0);
  await snap(page, testInfo, 'project-viewer');
});
