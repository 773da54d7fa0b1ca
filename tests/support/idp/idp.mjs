// A real OAuth 2.0 identity provider for the tests (oidc-provider, npm), on 127.0.0.1 and a free port.
//
//   node idp.mjs CONFIG_JSON     prints {"issuer": "http://127.0.0.1:PORT"} on its first line once it listens
//
// CONFIG_JSON: {"users": {"alice@example.test": "password", ...},      who may sign in (the device flow)
//               "mailboxes": {"mailrelay": "relay@example.test"},       client_credentials client -> its mailbox
//               "ttl": 300,                                              access token lifetime, seconds
//               "record": "/path"}                                       a file each token issued is appended to
//                                                                        ("KIND VALUE" lines): what tests look
//                                                                        for where no token may be
//
// Clients (../../../../shared/TESTING.md has the recipe this follows):
//   mailtool    public; device code (RFC 8628) and refresh tokens, rotated on each use
//   mailrelay   secret "relay-secret"; client credentials, scope "mail" (app-only access to a mailbox)
//   mailserver  secret "server-secret"; what the mail servers introspect tokens with (RFC 7662)
//   mailweb     secret "web-secret"; authorization code with PKCE and refresh tokens, its redirect
//               CONFIG_JSON's "redirect" (a loopback address, as for an installed app)
//   mailsa      public; the JWT bearer grant (RFC 7523) of a service account: an assertion signed by a key
//               of CONFIG_JSON's "serviceAccounts" ({client_email: public key PEM}) gets a token for its
//               `sub` (Google's domain-wide delegation, as a standard grant)
// The routes under /interaction/UID play the person's browser: GET shows the sign-in form, POST with login
// and password signs in; consent is then granted at once.
import fs from 'node:fs';
import http from 'node:http';
import * as jose from 'jose';
import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] || '{}');
const users = config.users || {};
const mailboxes = config.mailboxes || {};
const ttl = config.ttl || 300;
const serviceAccounts = config.serviceAccounts || {};
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    { client_id: 'mailtool', token_endpoint_auth_method: 'none', response_types: [], redirect_uris: [],
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'] },
    { client_id: 'mailrelay', client_secret: 'relay-secret', scope: 'mail', grant_types: ['client_credentials'],
      response_types: [], redirect_uris: [] },
    { client_id: 'mailserver', client_secret: 'server-secret', grant_types: [], response_types: [],
      redirect_uris: [] },
    { client_id: 'mailweb', client_secret: 'web-secret', grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'], redirect_uris: config.redirect ? [config.redirect] : [],
      application_type: 'native' },
    { client_id: 'mailsa', token_endpoint_auth_method: 'none', grant_types: [JWT_BEARER], response_types: [],
      redirect_uris: [] },
  ],
  cookies: { keys: ['mailfleet-tests'] },
  scopes: ['openid', 'offline_access', 'email', 'mail'],
  rotateRefreshToken: true,
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, email: id }) }),
  extraTokenClaims: async (ctx, token) => ({
    email: ctx?.oidc?.impersonated || token.accountId || mailboxes[token.clientId],
  }),
  ttl: { AccessToken: ttl, ClientCredentials: ttl },
  features: {
    devInteractions: { enabled: false },
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
});

// The JWT bearer grant: the assertion verified with the service account's key, for this token endpoint.
provider.registerGrantType(JWT_BEARER, async (ctx) => {
  const { assertion } = ctx.oidc.params;
  let payload;
  try {
    const { iss } = jose.decodeJwt(assertion);
    if (!serviceAccounts[iss]) throw new Error(`no service account ${iss}`);
    const key = await jose.importSPKI(serviceAccounts[iss], 'RS256');
    ({ payload } = await jose.jwtVerify(assertion, key, { audience: `${issuer}/token`, issuer: iss }));
  } catch (err) {
    ctx.status = 400;
    ctx.body = { error: 'invalid_grant', error_description: String(err.message || err) };
    return;
  }
  const token = new provider.ClientCredentials({ client: ctx.oidc.client, scope: payload.scope });
  ctx.oidc.impersonated = payload.sub;
  const value = await token.save();
  ctx.body = { access_token: value, expires_in: token.expiration, token_type: 'Bearer', scope: payload.scope };
}, ['assertion']);

provider.on('server_error', (ctx, err) => console.error(err));  // on stderr, for whoever debugs a test

if (config.record) {
  // Opaque tokens: the value is the model's jti. One line each, in the order issued.
  for (const kind of ['access_token', 'client_credentials', 'refresh_token']) {
    provider.on(`${kind}.saved`, (token) => fs.appendFileSync(config.record, `${kind} ${token.jti}\n`));
  }
}

async function form(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return Object.fromEntries(new URLSearchParams(body));
}

async function interaction(req, res, uid) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    if (req.method !== 'POST') { // what a browser is shown: the sign-in form, posted back to this address
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<form method="post" action="/interaction/${uid}"><input name="login"><input name="password" type="password"></form>`);
      return;
    }
    const { login, password } = await form(req);
    if (!login || users[login] !== password) {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end('wrong login or password');
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: login } });
    return;
  }
  // Consent: granted at once, for what the client asked.
  const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  const missing = details.prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  if (missing.missingResourceScopes) {
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } },
    { mergeWithLastSubmission: true });
}

const callback = provider.callback();
server.on('request', (req, res) => {
  const m = req.url.match(/^\/interaction\/([^/]+)/);
  if (!m) {
    callback(req, res);
    return;
  }
  interaction(req, res, m[1]).catch((err) => {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(err));
  });
});

process.stdout.write(JSON.stringify({ issuer }) + '\n');
