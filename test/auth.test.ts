import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { isLoopback, checkBindPolicy, tokenMatcher, originAllowed, parseOrigins, hostHeaderAllowed } from '../src/server/auth.js';
import { UserError } from '../src/util/errors.js';
import { startPhantomServer, upgradeOutcome, record, get, selfSigned, wsUrl } from './helpers/service.js';
import { tempDir } from './helpers/videos.js';

const TOKEN = 'correct-horse-battery-staple';

test('loopback addresses are recognised; others are not', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) assert.ok(isLoopback(host), host);
  for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.org']) assert.not.ok(isLoopback(host), host);
});

test('binding beyond loopback without a token is refused, naming the host and the fix', () => {
  assert.not.throws(() => checkBindPolicy('127.0.0.1', undefined));
  assert.not.throws(() => checkBindPolicy('0.0.0.0', TOKEN));
  try {
    checkBindPolicy('0.0.0.0', undefined);
    assert.unreachable('should refuse');
  } catch (error) {
    assert.instance(error, UserError);
    assert.match((error as Error).message, /--host 0\.0\.0\.0.*--token/);
  }
});

test('startServer refuses 0.0.0.0 without a token before opening anything', async () => {
  try {
    await startPhantomServer({ host: '0.0.0.0' });
    assert.unreachable('should refuse');
  } catch (error) {
    assert.instance(error, UserError);
  }
});

test('token matcher accepts exactly the token', () => {
  const matches = tokenMatcher(TOKEN);
  assert.ok(matches(TOKEN));
  for (const wrong of [undefined, '', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase()]) assert.not.ok(matches(wrong), String(wrong));
});

test('origins: same origin and the allow-list pass, others fail, non-browser clients (no Origin) pass', () => {
  const own = ['http://127.0.0.1:8080'];
  assert.ok(originAllowed(undefined, own, []));
  assert.ok(originAllowed('http://127.0.0.1:8080', own, []));
  assert.not.ok(originAllowed('http://evil.example', own, []));
  assert.not.ok(originAllowed('http://127.0.0.1:8081', own, []));
  assert.ok(originAllowed('https://display.example', own, ['https://display.example']));
  assert.equal(parseOrigins('https://a.example:8443, http://b.example'), ['https://a.example:8443', 'http://b.example']);
  assert.throws(() => parseOrigins('https://a.example/path'), /--allow-origin/);
  assert.throws(() => parseOrigins('ftp://a.example'), /--allow-origin/);
  assert.throws(() => parseOrigins('not an origin'), /--allow-origin/);
});

test('with a token: every HTTP path and the stream need it; wrong or missing → 401 with nothing streamed', async () => {
  const server = await startPhantomServer({ token: TOKEN });
  try {
    for (const path of ['', 'healthz', 'metrics', 'nothing-here']) {
      const response = await get(`${server.url}${path}`);
      assert.is(response.status, 401, `/${path} without token`);
      assert.is(response.headers['www-authenticate'], 'Bearer realm="bonestream"');
      assert.is((await get(`${server.url}${path}?token=wrong`)).status, 401, `/${path} with a wrong token`);
    }
    assert.is((await get(`${server.url}healthz`, { Authorization: `Bearer ${TOKEN}` })).status, 200);
    assert.is((await get(`${server.url}metrics?token=${TOKEN}`)).status, 200);
    const page = await get(`${server.url}?token=${TOKEN}`);
    assert.is(page.status, 200);
    assert.match(page.body, /<canvas/);

    for (const url of [wsUrl(server), `${wsUrl(server)}?token=nope`]) {
      const outcome = await upgradeOutcome(url);
      assert.equal(outcome, { opened: false, status: 401, messages: 0 }, url);
    }
    assert.is((await upgradeOutcome(wsUrl(server), { headers: { Authorization: 'Bearer nope' } })).status, 401);
    assert.ok((await upgradeOutcome(wsUrl(server), { headers: { Authorization: `Bearer ${TOKEN}` } })).opened);

    const client = record(`${wsUrl(server)}?token=${TOKEN}`);
    await client.until((r) => r.text.length > 0, 10_000, 'hello');
    assert.is(client.received.text[0].type, 'hello');
    client.ws.send(JSON.stringify({ type: 'control', tau: 0.3 }));
    await client.until((r) => r.text.some((m) => m.type === 'ack'), 5000, 'ack');
    await client.close();
  } finally {
    await server.close();
  }
});

test('without a token, requests must name this machine (DNS rebinding is refused)', async () => {
  assert.ok(hostHeaderAllowed('127.0.0.1:8080', '127.0.0.1'));
  assert.ok(hostHeaderAllowed('localhost:8080', '127.0.0.1'));
  assert.ok(hostHeaderAllowed('[::1]:8080', '::1'));
  assert.not.ok(hostHeaderAllowed('evil.example:8080', '127.0.0.1'));
  assert.not.ok(hostHeaderAllowed(undefined, '127.0.0.1'));
  // Forms no browser sends, some of which URL parsing reads as 127.0.0.1.
  for (const odd of ['evil.example@127.0.0.1', '127.0.0.1/evil.example', '127.0.0.1#x', '127.0.0.1?x', '127.0.0.1 ', ' 127.0.0.1', '127.0.0.1:99999', '[127.0.0.1]', 'user@localhost:8080', '127.0.0.1:8080:1']) {
    assert.not.ok(hostHeaderAllowed(odd, '127.0.0.1'), odd);
  }
  const server = await startPhantomServer();
  try {
    const plain = await get(`${server.url}healthz`);
    assert.is(plain.status, 200);
    assert.is(plain.headers['strict-transport-security'], undefined, 'no HSTS without TLS');
    assert.is((await get(`${server.url}healthz`, { Host: `evil.example:${server.port}` })).status, 403);
    const rebound = await upgradeOutcome(wsUrl(server), { headers: { Host: `evil.example:${server.port}` }, origin: `http://evil.example:${server.port}` });
    assert.equal(rebound, { opened: false, status: 403, messages: 0 });
  } finally {
    await server.close();
  }
});

test('WebSocket Origin: same origin and allowed origins get in, other pages get 403', async () => {
  const server = await startPhantomServer({ allowOrigins: ['https://display.example'] });
  try {
    const own = server.url.replace(/\/$/, '');
    assert.ok((await upgradeOutcome(wsUrl(server), { origin: own })).opened, 'same origin');
    assert.ok((await upgradeOutcome(wsUrl(server), { origin: 'https://display.example' })).opened, 'allow-listed');
    assert.equal(await upgradeOutcome(wsUrl(server), { origin: 'https://evil.example' }), { opened: false, status: 403, messages: 0 });
    assert.is((await upgradeOutcome(wsUrl(server, 'elsewhere'))).status, 404);
  } finally {
    await server.close();
  }
});

test('with a token, Origin is compared with the names the server is bound to, not with the request\'s own Host', async () => {
  const server = await startPhantomServer({ token: TOKEN });
  try {
    const withToken = `${wsUrl(server)}?token=${TOKEN}`;
    assert.ok((await upgradeOutcome(withToken, { origin: `http://localhost:${server.port}` })).opened, 'the loopback names pass');
    assert.ok((await upgradeOutcome(withToken, { origin: server.url.replace(/\/$/, '') })).opened, 'the bound address passes');
    const spoofed = await upgradeOutcome(withToken, { headers: { Host: `evil.example:${server.port}` }, origin: `http://evil.example:${server.port}` });
    assert.equal(spoofed, { opened: false, status: 403, messages: 0 });
    assert.is((await upgradeOutcome(withToken, { origin: `http://127.0.0.1:${server.port + 1}` })).status, 403, 'another port is another origin');
  } finally {
    await server.close();
  }
});

test('--tls-cert/--tls-key: HTTPS and WSS with a self-signed certificate', async () => {
  const dir = tempDir();
  try {
    const { cert, key } = selfSigned(dir);
    const tls = { cert, key };
    const server = await startPhantomServer({ tls, token: TOKEN });
    try {
      assert.match(server.url, /^https:\/\//);
      const health = await get(`${server.url}healthz?token=${TOKEN}`);
      assert.is(health.status, 200);
      assert.is(health.headers['strict-transport-security'], 'max-age=31536000', 'HSTS over TLS');
      assert.is(JSON.parse(health.body).backend, 'physics');
      const client = record(`${wsUrl(server)}?token=${TOKEN}`, { rejectUnauthorized: false });
      await client.until((r) => r.text.length > 0 && r.binary.length > 0, 10_000, 'hello and a frame over WSS');
      assert.is(client.received.text[0].type, 'hello');
      await client.close();
    } finally {
      await server.close();
    }
    try {
      await startPhantomServer({ tls: { cert: Buffer.from('not a certificate'), key: tls.key } });
      assert.unreachable('a bad certificate must be refused');
    } catch (error) {
      assert.instance(error, UserError);
      assert.match((error as Error).message, /TLS/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
