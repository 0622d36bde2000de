// Cross-server replay (issue 24 item 8): the same user with the same key on two servers; a request signed for server
// A is refused by server B when B has a `domain` of its own, even with A's host in the Host header (which the sender
// chooses). Without `domain`, B can only compare that Host header: the replay passes, which the start-up warning names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signRequest } from '../../client/signing';
import { newKeyPair, startAccountsHarness, type AccountsHarness } from '../support/accounts-harness';

const USER = 'alice@example.com';
const A = 'https://a.example';
const B = 'https://b.example';

describe('a request signed for one server, sent to another', () => {
  let serverA: AccountsHarness;
  let serverB: AccountsHarness;
  const key = newKeyPair();

  beforeAll(async () => {
    serverA = await startAccountsHarness({ domain: A });
    serverB = await startAccountsHarness({ domain: B });
    for (const server of [serverA, serverB]) await server.seedUser(USER, { key });
  });
  afterAll(async () => {
    await serverA?.close();
    await serverB?.close();
  });

  /** A fresh signature for A's origin (never seen anywhere), sent to `url` on `app`. */
  const signedForA = (app: AccountsHarness['app'], url: string) =>
    app.request(url, {
      headers: signRequest({
        method: 'GET',
        baseUrl: A,
        pathAndQuery: '/who-am-i',
        user: USER,
        body: '',
        secretKeyPem: key.secretKeyPem,
      }),
    });

  it('A accepts it', async () => {
    const answer = await signedForA(serverA.app, `${A}/who-am-i`);
    expect(answer.status).toBe(200);
  });

  it('B refuses it, whatever Host it comes with, and names both origins', async () => {
    for (const url of [`${B}/who-am-i`, `${A}/who-am-i`]) {
      const answer = await signedForA(serverB.app, url);
      expect(answer.status).toBe(401);
      const problem = (await answer.json()) as { code: string; detail?: string; title?: string };
      expect(problem.code).toBe('AUTH.DOMAIN_MISMATCH');
      expect(JSON.stringify(problem)).toContain(`signed for ${A}, not for this server (${B})`);
    }
  });

  it("B without domain can only compare the Host header: with A's host the replay passes", async () => {
    serverB.setConfig({ domain: undefined });
    const app = serverB.newApp();
    expect((await signedForA(app, `${B}/who-am-i`)).status).toBe(401);
    const replayed = await signedForA(app, `${A}/who-am-i`);
    expect(replayed.status).toBe(200);
  });
});
