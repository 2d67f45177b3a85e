// The official MCP TypeScript SDK's client, run against scopegate's examples/mcp-server by the
// Rust tests: it starts with no token, follows the 401 to the server's RFC 9728 metadata and the
// authorization server, gets a token by client_credentials (the SDK's ClientCredentialsProvider),
// lists the tools and calls the ones named in CALLS.
//
//   MCP_URL=http://127.0.0.1:3003/mcp CLIENT_ID=shopping-admin CLIENT_SECRET=admin-secret \
//   SCOPE="read:products write:products" EXPECTED_ISSUER=http://127.0.0.1:3010/oidc \
//   CALLS='[["list_products",{}],["add_product",{"name":"Tea","price_cents":899}]]' \
//   node mcp-client.js
//
// It prints one JSON document on stdout: every HTTP exchange the SDK made (method, URL, status,
// WWW-Authenticate), the tools listed, and each call's result or error. The exit code is 0
// whenever that report was written, whatever the server answered: the Rust test judges it.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';

const required = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`mcp-client.js: ${name} is required`);
    process.exit(2);
  }
  return value;
};
const url = new URL(required('MCP_URL'));
const calls = JSON.parse(process.env.CALLS ?? '[]');

const exchanges = [];
// Every request the SDK makes (MCP messages, metadata discovery, the token request) goes
// through this fetch, so the report shows the whole flow as the server saw it.
const recordingFetch = async (input, init) => {
  const request = new Request(input, init);
  const response = await fetch(input, init);
  const exchange = {
    method: request.method,
    url: request.url,
    status: response.status,
    www_authenticate: response.headers.get('www-authenticate'),
  };
  if (request.method === 'POST' && request.headers.get('content-type')?.startsWith('application/x-www-form-urlencoded')) {
    // The token request's parameters, without the credentials (they travel in Basic auth).
    exchange.form = Object.fromEntries(new URLSearchParams(await request.text()));
  }
  exchanges.push(exchange);
  return response;
};

const provider = new ClientCredentialsProvider({
  clientId: required('CLIENT_ID'),
  clientSecret: required('CLIENT_SECRET'),
  scope: process.env.SCOPE,
  expectedIssuer: required('EXPECTED_ISSUER'),
});
const transport = new StreamableHTTPClientTransport(url, { authProvider: provider, fetch: recordingFetch });
const client = new Client({ name: 'scopegate-interop', version: '0.0.0' });

const describe = (error) => ({
  name: error?.constructor?.name ?? typeof error,
  code: error?.code ?? null,
  message: String(error?.message ?? error),
});

const report = { exchanges, connected: false, tools: null, calls: [], error: null };
try {
  await client.connect(transport);
  report.connected = true;
  report.tools = (await client.listTools()).tools.map((tool) => tool.name);
  for (const [name, args] of calls) {
    try {
      const result = await client.callTool({ name, arguments: args });
      report.calls.push({ tool: name, ok: !result.isError, result });
    } catch (error) {
      report.calls.push({ tool: name, ok: false, error: describe(error) });
    }
  }
} catch (error) {
  report.error = describe(error);
} finally {
  await client.close().catch(() => {});
}
process.stdout.write(`${JSON.stringify(report)}\n`);
