// A real OpenID provider (the OpenID-certified npm package oidc-provider) for the tests, on
// 127.0.0.1 and a free port. Configuration comes from the environment:
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET   the one confidential client
//   OIDC_REDIRECT_URIS                   comma-separated redirect URIs registered for it
//   OIDC_POST_LOGOUT_REDIRECT_URIS       comma-separated (optional)
//   OIDC_USERS_FILE                      JSON {"<login>": {"email": ..., "groups": [...]}, ...}
// The users file is read again on every lookup, so a test changes a user's groups by rewriting
// it between two sign-ins. Once listening it prints one JSON line {"issuer": ..., "port": ...}.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) {
    console.error(`${name} must be set`);
    process.exit(2);
  }
  return value;
};
const list = (value) => value.split(',').map((item) => item.trim()).filter(Boolean);

const clientId = env('OIDC_CLIENT_ID');
const clientSecret = env('OIDC_CLIENT_SECRET');
const redirectUris = list(env('OIDC_REDIRECT_URIS'));
const postLogoutRedirectUris = list(env('OIDC_POST_LOGOUT_REDIRECT_URIS', ''));
const usersFile = env('OIDC_USERS_FILE');

function users() {
  return JSON.parse(readFileSync(usersFile, 'utf8'));
}

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const signingKey = { ...(await exportJWK(privateKey)), alg: 'RS256', use: 'sig', kid: 'test-rs256' };

const server = createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const { port } = server.address();
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: postLogoutRedirectUris,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_post',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
    groups: ['groups'],
  },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(_ctx, id) {
    const user = users()[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          preferred_username: user.preferred_username ?? id,
          email: user.email,
          email_verified: true,
          name: user.name ?? id,
          groups: user.groups ?? [],
        };
      },
    };
  },
});
server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
