import { defineConfig } from '@playwright/test';

// The server under test: the debug build cargo-leptos produced, on its own
// port and its own database (scripts/test.sh creates both fresh).
const port = Number(process.env.E2E_PORT ?? 3100);
const baseURL = `http://127.0.0.1:${port}`;
// A second server on the same database that asks for the password or a code
// at every sensitive action (a step-up window of zero), as a session older
// than ten minutes would.
export const stepUpURL = `http://127.0.0.1:${port + 1}`;
const database = process.env.E2E_DATABASE ?? 'trellis_e2e';
const pgHost = process.env.E2E_PG_HOST ?? '127.0.0.1:5432';
// The real SMTP server the app delivers to, and its HTTP view for the tests.
export const smtpPort = Number(process.env.E2E_SMTP_PORT ?? 2525);
export const mailApi = `http://127.0.0.1:${smtpPort + 1}`;
// The real OpenID provider and DNS server single sign-on is tested against.
export const providerPort = Number(process.env.E2E_OIDC_PORT ?? 3190);
export const dnsPort = Number(process.env.E2E_DNS_PORT ?? 3153);

/** The app's debug build serving `url`, on the one test database. */
function appServer(url: string, extra: Record<string, string>) {
  return {
    command: `${process.env.CARGO_TARGET_DIR ?? 'target'}/debug/server`,
    cwd: '..',
    url: `${url}/healthz`,
    reuseExistingServer: false,
    timeout: 120_000,
    stdout: 'pipe' as const,
    stderr: 'pipe' as const,
    env: {
      APP_ENV: 'test',
      LEPTOS_SITE_ADDR: new URL(url).host,
      LEPTOS_SITE_ROOT: 'target/site',
      PUBLIC_BASE_URL: url,
      DATABASE_URL: `postgres://app_runtime@${pgHost}/${database}`,
      DATABASE_OWNER_URL: `postgres://app_owner@${pgHost}/${database}`,
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      MAIL_FROM: 'Trellis <no-reply@trellis.test>',
      // Both projects sign in many times from one address.
      RATE_LIMIT_MULTIPLIER: '20',
      DNS_RESOLVER: `127.0.0.1:${dnsPort}`,
      RUST_LOG: process.env.RUST_LOG ?? 'info,sqlx=warn',
      ...extra,
    },
  };
}

export default defineConfig({
  testDir: './tests',
  outputDir: './test-results',
  // One server, one database: tests run one at a time and build on seeded data.
  workers: 1,
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 30_000,
  reporter: [['list']],
  use: {
    baseURL,
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      // Debian's Chromium; Playwright's own browser download is not used.
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  // Every spec runs twice: hydrated, and as plain server-rendered HTML.
  projects: [
    { name: 'with-js', use: { javaScriptEnabled: true } },
    { name: 'without-js', use: { javaScriptEnabled: false } },
  ],
  webServer: [
    {
      command: `node peers/smtp-sink.mjs --until-killed --smtp-port ${smtpPort} --http-port ${smtpPort + 1}`,
      url: `${mailApi}/messages`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      // Redirect URIs are registered by the tests, from the SSO page, as an
      // administrator would at their provider.
      command: `node peers/oidc-provider.mjs --until-killed --port ${providerPort}`,
      url: `http://127.0.0.1:${providerPort}/.well-known/openid-configuration`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    {
      command: `node peers/dns-server.mjs --until-killed --dns-port ${dnsPort} --http-port ${dnsPort + 1}`,
      url: `http://127.0.0.1:${dnsPort + 1}/queries`,
      reuseExistingServer: false,
      timeout: 30_000,
    },
    appServer(baseURL, { SEED_DEMO_DATA: 'true' }),
    appServer(stepUpURL, { SEED_DEMO_DATA: 'false', STEP_UP_WINDOW_MINUTES: '0' }),
  ],
});
