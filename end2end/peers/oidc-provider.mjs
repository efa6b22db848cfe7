// A real OpenID Connect provider (panva's certified oidc-provider) on
// loopback, for the single sign-on tests. One confidential client; PKCE
// required; its development sign-in form accepts any login with any
// password, and the login is the account:
//
//   someone@example.test        email verified, name "Someone"; sub = the login
//   unverified+x@example.test   email_verified: false
//   noemail+x@example.test      no email claim at all
//
// The subject is always the login; a test can change the address an
// account asserts (the same person after an address change, or another
// account claiming someone's address) with
//   POST /__peer/accounts?login=LOGIN&email=ADDRESS
//
// Like a real provider it redirects only to registered redirect URIs: those
// given with --redirect-uri, and those registered later, as an administrator
// would at their provider, with
//   POST /__peer/redirect-uris?uri=URI
//
//   node peers/oidc-provider.mjs --redirect-uri URI [--redirect-uri URI…]
//        [--port N] [--host 127.0.0.1|localhost] [--client-id ID]
//        [--client-secret S] [--clock-offset SECONDS] [--until-killed]
//
// --clock-offset moves the token endpoint's clock (a negative offset issues
// ID tokens that have already expired). Prints one JSON line
// {"issuer":…,"port":N} once it listens. Exits when its standard input
// closes, unless --until-killed.
const argv = process.argv.slice(2);
const one = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const all = (name) => argv.flatMap((a, i) => (a === name ? [argv[i + 1]] : []));

// Shifts the provider's clock while its token endpoint answers, so the ID
// tokens it issues can be already expired (its sign-in pages and cookies
// keep the real time, or the browser would drop them).
const offsetMs = Number(one('--clock-offset', '0')) * 1000;
let skew = 0;
const realNow = Date.now;
Date.now = () => realNow() + skew;

const { default: Provider } = await import('oidc-provider');
const http = await import('node:http');

const host = one('--host', '127.0.0.1');
const requestedPort = Number(one('--port', '0'));

// Find the port first: the issuer names it.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(requestedPort, '127.0.0.1', resolve);
});
const port = server.address().port;
const issuer = `http://${host}:${port}`;

const addresses = new Map();
const claimsOf = (login) => {
  const sub = login;
  const address = addresses.get(login) ?? login;
  const local = address.split('@')[0];
  const name = local.replace(/^(unverified|noemail)\+/, '').replace(/[._-]/g, ' ');
  const claims = { sub, name: name.charAt(0).toUpperCase() + name.slice(1) };
  if (!address.startsWith('noemail+')) {
    claims.email = address;
    claims.email_verified = !address.startsWith('unverified+');
  }
  return claims;
};

const registered = new Set(all('--redirect-uri'));

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: one('--client-id', 'trellis'),
      client_secret: one('--client-secret', 'trellis-secret'),
      // The client needs one at start; `registered` decides (see below).
      redirect_uris: [all('--redirect-uri')[0] ?? `http://127.0.0.1/unregistered`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  // Put the email and profile claims in the ID token itself, as the big
  // providers do (by default this provider keeps them for userinfo).
  conformIdTokenClaims: false,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    return { accountId: id, claims: async () => claimsOf(id) };
  },
  // Consent is given once and for everything the client asks: the tests
  // exercise sign-in, not the provider's consent screen.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid email profile');
    await grant.save();
    return grant;
  },
  ttl: { IdToken: 600, AccessToken: 600, AuthorizationCode: 60, Interaction: 600, Session: 3600, Grant: 3600 },
  cookies: { keys: ['trellis-test-provider-cookie-key'] },
});
provider.use(async (ctx, next) => {
  skew = ctx.path === '/token' ? offsetMs : 0;
  try {
    await next();
  } finally {
    skew = 0;
  }
});
// Quiet: an expected failure (a replayed code, a wrong secret) is not news.
provider.on('server_error', (_ctx, error) => console.error('provider error:', error));

// Exact matching against the registered set, which can grow at run time.
provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(uri) {
  return registered.has(uri);
};

const handle = provider.callback();
server.on('request', (req, res) => {
  const url = new URL(req.url, issuer);
  if (req.method === 'POST' && url.pathname === '/__peer/accounts') {
    const login = url.searchParams.get('login');
    const email = url.searchParams.get('email');
    if (login && email) addresses.set(login, email);
    res.writeHead(login && email ? 204 : 400).end();
    return;
  }
  if (req.method === 'POST' && url.pathname === '/__peer/redirect-uris') {
    const uri = url.searchParams.get('uri');
    if (uri) registered.add(uri);
    res.writeHead(uri ? 204 : 400).end();
    return;
  }
  handle(req, res);
});
console.log(JSON.stringify({ issuer, port }));

if (!argv.includes('--until-killed')) {
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}
process.on('SIGTERM', () => process.exit(0));
