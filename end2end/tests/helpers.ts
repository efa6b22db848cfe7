import { Page, TestInfo, expect } from '@playwright/test';

/** Saves a full-page screenshot under end2end/screenshots/<project>/. */
export async function snap(page: Page, testInfo: TestInfo, name: string) {
  await page.screenshot({ path: `screenshots/${testInfo.project.name}/${name}.png`, fullPage: true });
}

/**
 * Collects console errors (a hydration mismatch shows up there) so a test
 * can assert there were none.
 */
export function watchConsole(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(msg.text());
  });
  page.on('pageerror', (err) => errors.push(err.message));
  return errors;
}

/** Waits until the wasm bundle has hydrated the page, when JavaScript is on. */
export async function ready(page: Page, javaScriptEnabled: boolean) {
  if (javaScriptEnabled) {
    await expect(page.locator('html')).toHaveAttribute('data-hydrated', 'true');
  }
}
