// A real `oidc-provider` set up the way Logto uses it for machine-to-machine apps, so the Rust
// interop tests can check scopegate against tokens and a JWKS that were not made by our code.
//
//   PORT=0 ALG=ES384 node server.js   ->   prints `READY http://127.0.0.1:<port>/oidc`
//
// DPoP (RFC 9449) is on: a token request with a proof gets a bound token (`cnf.jkt`,
// `token_type: DPoP`). DPOP_NONCE=1 makes the token endpoint require server nonces (§8).
//
// PORT and ALG may also be given as argv: `node server.js <port> <alg>`.
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';

const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const alg = process.argv[3] ?? process.env.ALG ?? 'ES384';
const requireDpopNonce = process.env.DPOP_NONCE === '1';

const KEY_TYPES = {
  ES384: ['ec', { namedCurve: 'P-384' }],
  RS256: ['rsa', { modulusLength: 2048 }],
  EdDSA: ['ed25519', {}],
};
if (!KEY_TYPES[alg] || !Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`usage: PORT=<0..65535> ALG=<${Object.keys(KEY_TYPES).join('|')}> node server.js`);
  process.exit(2);
}

// oidc-provider reports through console.info, which is stdout; the harness reads stdout for the
// READY line, so everything else goes to stderr. Two notices are expected here and only noise:
// the in-memory adapter (we want a throw-away store) and, on Node 20, "Unsupported runtime"
// (oidc-provider 9 asks for Node 22 LTS but runs on 20). This must happen before the import,
// because the runtime check runs when the module is first evaluated.
const EXPECTED_NOTICES = /Unsupported runtime|in-memory adapter/;
const toStderr = console.warn.bind(console);
console.log = console.info = console.warn = (first, ...rest) => {
  if (!EXPECTED_NOTICES.test(String(first))) toStderr(first, ...rest);
};
const { default: Provider, errors } = await import('oidc-provider');

// A fresh key on every start, so a restarted provider rotates the key (and kid) under the test.
const [type, options] = KEY_TYPES[alg];
const { privateKey } = generateKeyPairSync(type, options);
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(12).toString('base64url') };

// Which scopes each client may get, per resource. Logto derives this from the roles given to
// the M2M app; here it is a fixed table.
// The Logto Management API is one more resource: `https://<tenant-id>.logto.app/api`, which on
// Logto OSS (tenant `default`) is the one below, with the single permission `all`.
const RESOURCES = {
  'https://shopping.api': 'read:products write:products',
  'https://other.api': 'read:other',
  'https://default.logto.app/api': 'all',
};
// MCP_RESOURCE: one more resource, with the shopping scopes: an MCP server's own URL (MCP
// clients ask for a token whose audience is the server they call), given by the tests once its
// port is bound.
if (process.env.MCP_RESOURCE) RESOURCES[process.env.MCP_RESOURCE] = 'read:products write:products';
const CLIENTS = {
  'read-app': { secret: 'read-secret', scope: 'read:products read:other' },
  'admin-app': { secret: 'admin-secret', scope: 'read:products write:products' },
  // An M2M app given the built-in "Logto Management API access" role.
  'management-app': { secret: 'management-secret', scope: 'all' },
  // The shopping API's own app: it asks nothing for itself, it introspects tokens.
  'shopping-api': { secret: 'shopping-api-secret' },
};
const ACCESS_TOKEN_TTL = 3600;

const issuer = (p) => `http://127.0.0.1:${p}/oidc`;

function makeProvider(listenPort) {
  const provider = new Provider(issuer(listenPort), {
    jwks: { keys: [signingKey] },
    clients: Object.entries(CLIENTS).map(([id, c]) => ({
      client_id: id,
      client_secret: c.secret,
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      // oidc-provider rejects a requested scope outside this list with invalid_scope, but only
      // for scopes it knows as its own (the `scopes` option below), hence both are set.
      ...(c.scope ? { scope: c.scope } : {}),
    })),
    scopes: ['openid', 'offline_access', ...new Set(Object.values(RESOURCES).join(' ').split(' '))],
    // Client metadata is validated as if clients could get ID tokens, whose default alg is RS256
    // and whose allowed algs exclude ES384: without these two lines every client is rejected with
    // invalid_client_metadata unless ALG=RS256.
    clientDefaults: { id_token_signed_response_alg: alg },
    enabledJWA: { idTokenSigningAlgValues: [alg] },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      // RFC 7662 and RFC 7009 at /oidc/token/introspection and /oidc/token/revocation, as
      // Logto serves them; any authenticated client may introspect, only a token's own client
      // may revoke it.
      introspection: { enabled: true },
      revocation: { enabled: true },
      dPoP: {
        enabled: true,
        nonceSecret: randomBytes(32),
        requireNonce: () => requireDpopNonce,
      },
      resourceIndicators: {
        enabled: true,
        // defaultResource stays the library default: a request without `resource=` gets an
        // opaque token, not a JWT, as at Logto (the introspection tests rely on it).
        getResourceServerInfo(_ctx, resource, _client) {
          const scope = RESOURCES[resource];
          if (!scope) throw new errors.InvalidTarget();
          return {
            scope,
            audience: resource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: ACCESS_TOKEN_TTL,
            jwt: { sign: { alg } },
          };
        },
      },
    },
    ttl: { ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL },
    clientBasedCORS: () => false,
    cookies: { keys: ['scopegate-interop-cookie-key'] },
  });
  provider.on('server_error', (_ctx, err) => console.error('server_error', err));
  return provider;
}

// The issuer URL must carry the real port, which with PORT=0 is known only after listen; the
// provider is therefore built once the socket is bound, before any request can be served.
let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const server = createServer((req, res) => handler(req, res));

server.on('error', (err) => {
  console.error(`cannot listen on 127.0.0.1:${port}: ${err.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address();
  const callback = makeProvider(bound).callback();
  // Express-style mounting under /oidc: oidc-provider builds its URLs from the part of
  // `originalUrl` that precedes `url`, so the issuer path is kept in every URL it issues.
  handler = (req, res) => {
    if (req.url !== '/oidc' && !req.url.startsWith('/oidc/') && !req.url.startsWith('/oidc?')) {
      res.statusCode = 404;
      res.end();
      return;
    }
    req.originalUrl = req.url;
    req.url = req.url.slice('/oidc'.length) || '/';
    callback(req, res);
  };
  process.stdout.write(`READY ${issuer(bound)}\n`);
});

// Nothing is persisted, so there is nothing to drain: exit at once when the harness kills us.
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
