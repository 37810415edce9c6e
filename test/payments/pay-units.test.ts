import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { loadSigningKey, publicKeyPem, signAccessKey, verifyAccessKey, issueOnce } from '../../activities/control/payments/access-key.js';
import { findWithFailover, listWithFailover, ProviderUnavailableError, type ChainProvider } from '../../activities/control/payments/providers.js';
import { loadTariffs, parseTariffs } from '../../activities/control/payments/tariffs.js';
import { tronHex } from '../../activities/control/payments/tron.js';
import { ConfigError } from '../../common/errors.js';
import { fromBaseUnits, toBaseUnits } from '../../workflows/payments/amounts.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'x0t-pay-'));
const claims = { v: 1 as const, inv: 'INV-1', cus: '42', tier: 'month', iat: '2026-01-01T00:00:00.000Z', exp: '2026-01-31T00:00:00.000Z' };

describe('payments: config, money, addresses, keys, failover (no server)', () => {
  test('the shipped tariff file is valid; a broken one is refused with the path of the problem', () => {
    const t = loadTariffs();
    assert.ok(t.tiers.length >= 1);
    assert.equal(t.merchants.USDT_TRC20.usdtContract, 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t');
    const text = fs.readFileSync('config/tariffs.yaml', 'utf8');
    assert.throws(() => parseTariffs(text.replace('USDT_TRC20: "10"', 'USDT_TRC20: "10.1234567"'), 'x.yaml'), (e: Error) => e instanceof ConfigError && /tiers\.0\.price\.USDT_TRC20/.test(e.message));
    assert.throws(() => parseTariffs(text.replace('address: ""                                   # our TRON', 'address: "Tnotanaddress" # our TRON'), 'x.yaml'), /merchants\.USDT_TRC20\.address/);
    assert.equal(parseTariffs(text, 'x.yaml', { X0T_MERCHANT_TON: 'EQDtFpEwcFAEcRe5mLVh2N6C0x-_hJEM7W61_JLnSF74p4q2' }).merchants.TON.address, 'EQDtFpEwcFAEcRe5mLVh2N6C0x-_hJEM7W61_JLnSF74p4q2');
  });

  test('amounts are exact base units, never floats', () => {
    assert.equal(toBaseUnits('10.000137', 6), 10_000_137n);
    assert.equal(toBaseUnits('2.5', 9), 2_500_000_000n);
    assert.equal(fromBaseUnits(10_000_137n, 6), '10.000137');
    assert.equal(fromBaseUnits(2_000_000_000n, 9), '2');
    assert.throws(() => toBaseUnits('1e3', 6));
    assert.throws(() => toBaseUnits('0.1234567', 6));
  });

  test('TRON addresses compare as decoded hex: base58 and hex forms match; lookalikes and junk do not', () => {
    assert.equal(tronHex('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t'), '41a614f803b6fd780986a42c78ec9c7f77e6ded13c');
    assert.equal(tronHex('41A614F803B6FD780986A42C78EC9C7F77E6DED13C'), '41a614f803b6fd780986a42c78ec9c7f77e6ded13c');
    assert.equal(tronHex('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6T'), null, 'a one-letter lookalike fails the checksum');
    assert.equal(tronHex('tr7nhqjekqxgtci8q8zy4pl8otszgjlj6t'), null);
  });

  test('access keys verify with the public key only; a tampered payload or another key fails', () => {
    const dir = tmp();
    const key = loadSigningKey(dir);
    const token = signAccessKey(claims, key);
    assert.deepEqual(verifyAccessKey(token, publicKeyPem(key)), claims);
    const [h, p, s] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ ...claims, exp: '2099-01-01T00:00:00.000Z' })).toString('base64url');
    assert.equal(verifyAccessKey(`${h}.${forged}.${s}`, publicKeyPem(key)), null);
    assert.equal(verifyAccessKey(`${h}.${p}.${s}`, publicKeyPem(crypto.generateKeyPairSync('ed25519').privateKey)), null);
    assert.equal(publicKeyPem(loadSigningKey(dir)), publicKeyPem(key), 'the generated key is reused');
  });

  test('the signing key comes from env as PEM or as a base64 seed; anything else is a ConfigError', () => {
    const pk = crypto.generateKeyPairSync('ed25519').privateKey;
    const pem = pk.export({ format: 'pem', type: 'pkcs8' }) as string;
    const seed = (pk.export({ format: 'der', type: 'pkcs8' }) as Buffer).subarray(-32).toString('base64');
    assert.equal(publicKeyPem(loadSigningKey(tmp(), undefined, { X0T_LICENSE_SIGNING_KEY: pem })), publicKeyPem(pk));
    assert.equal(publicKeyPem(loadSigningKey(tmp(), undefined, { X0T_LICENSE_SIGNING_KEY: seed })), publicKeyPem(pk));
    assert.throws(() => loadSigningKey(tmp(), undefined, { X0T_LICENSE_SIGNING_KEY: 'bm90IGEga2V5' }), ConfigError);
  });

  test('issuing twice for one invoice returns the first key', () => {
    const dir = tmp();
    const key = loadSigningKey(dir);
    const a = issueOnce(dir, claims, key);
    const b = issueOnce(dir, { ...claims, exp: '2027-01-01T00:00:00.000Z' }, key);
    assert.equal(a.issued, 'new');
    assert.equal(b.issued, 'existing');
    assert.equal(b.accessKey, a.accessKey);
  });

  test('failover: the first provider that answers wins; all down is one error naming each', async () => {
    const fail = (name: string) => async (): Promise<never> => { throw new ProviderUnavailableError(name, 'HTTP 503'); };
    const down = (name: string): ChainProvider => ({ name, findPayments: fail(name), listIncoming: fail(name) });
    const up: ChainProvider = {
      name: 'up',
      findPayments: async () => ({ observations: [{ txHash: 'a', amountBaseUnits: '1', timestampMs: 1, final: true }, { txHash: 'b', amountBaseUnits: '1', timestampMs: 2, final: true }], cursor: '7' }),
      listIncoming: async () => ({ transfers: [{ txHash: 'c', amountBaseUnits: '5', timestampMs: 3, comment: 'INV-1' }], cursor: '9' }),
    };
    const q = { invoiceId: 'i', currency: 'TON' as const, merchantAddress: 'x', amountBaseUnits: '1', windowStartMs: 0, windowEndMs: 1, excludeTxHashes: ['a'] };
    const r = await findWithFailover([down('p1'), up], q);
    assert.equal(r.provider, 'up');
    assert.deepEqual(r.observations.map((o) => o.txHash), ['b']);
    assert.deepEqual(r.skipped.map((s) => s.provider), ['p1']);
    assert.equal(r.cursor, '7', 'the answering provider\'s cursor is passed on');
    await assert.rejects(findWithFailover([down('p1'), down('p2')], q), /p1: HTTP 503 \| p2: HTTP 503/);
    const scan = await listWithFailover([down('p1'), up], { merchantAddress: 'x', sinceMs: 0 });
    assert.deepEqual([scan.provider, scan.cursor, scan.transfers.map((t) => t.txHash), scan.skipped.map((s) => s.provider)], ['up', '9', ['c'], ['p1']], 'the watcher\'s scan fails over the same way');
    await assert.rejects(listWithFailover([down('p1'), down('p2')], { merchantAddress: 'x', sinceMs: 0 }), /p1: HTTP 503 \| p2: HTTP 503/);
  });
});
