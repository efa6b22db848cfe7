// A real OpenID Connect provider (panva's certified oidc-provider) on
// loopback, for the single sign-on tests. One confidential client; PKCE
// required; its development sign-in form accepts any login with any
// password, and the login is the account:
//
//   someone@example.test        email verified, name "Someone"
//   unverified+x@example.test   email_verified: false
//   noemail+x@example.test      no email claim at all
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

const claimsOf = (login) => {
  const local = login.split('@')[0];
  const name = local.replace(/^(unverified|noemail)\+/, '').replace(/[._-]/g, ' ');
  const claims = { sub: login, name: name.charAt(0).toUpperCase() + name.slice(1) };
  if (!login.startsWith('noemail+')) {
    claims.email = login;
    claims.email_verified = !login.startsWith('unverified+');
  }
  return claims;
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: one('--client-id', 'trellis'),
      client_secret: one('--client-secret', 'trellis-secret'),
      redirect_uris: all('--redirect-uri'),
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

server.on('request', provider.callback());
console.log(JSON.stringify({ issuer, port }));

if (!argv.includes('--until-killed')) {
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}
process.on('SIGTERM', () => process.exit(0));
