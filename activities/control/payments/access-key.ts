/**
 * Signed access keys: `x0t1.<payload>.<signature>` (base64url), the payload a JSON object
 * {v, inv, cus, tier, iat, exp} and the signature Ed25519 over the payload bytes. Anyone with the
 * public key can verify a key offline (`npm run payments:public-key` prints it).
 *
 * The signing key comes from X0T_LICENSE_SIGNING_KEY (PEM, base64 PKCS#8 DER, or base64 32-byte
 * seed); without it one is generated into <dataDir>/payments/license-signing-key.pem on first use,
 * with a warning (keys it signed stop verifying if that file is lost).
 *
 * Issuance is exactly once per invoice: the first key for an invoice is recorded atomically under
 * <dataDir>/payments/access-keys/<invoiceId>.json and every retry returns that record.
 */
import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../../common/logger.js';
import { ConfigError } from '../../../common/errors.js';

export interface AccessKeyClaims {
  v: 1;
  inv: string; // invoice id
  cus: string; // customer id
  tier: string;
  iat: string; // ISO
  exp: string; // ISO
}

export interface IssuedAccessKey {
  accessKey: string;
  claims: AccessKeyClaims;
  /** 'new' on the first issuance for this invoice, 'existing' on every later call. */
  issued: 'new' | 'existing';
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function parsePrivateKey(text: string): KeyObject {
  const t = text.trim();
  try {
    if (t.startsWith('-----BEGIN')) return crypto.createPrivateKey(t);
    const der = Buffer.from(t, 'base64');
    if (der.length === 32) return crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, der]), format: 'der', type: 'pkcs8' });
    return crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new ConfigError(`X0T_LICENSE_SIGNING_KEY is not an Ed25519 private key (PEM, base64 PKCS#8 or base64 seed): ${(err as Error).message}`);
  }
}

/** The Ed25519 signing key: from env, else from (or generated into) dataDir. */
export function loadSigningKey(dataDir: string, logger?: Logger, env: NodeJS.ProcessEnv = process.env): KeyObject {
  let key: KeyObject;
  if (env.X0T_LICENSE_SIGNING_KEY) {
    key = parsePrivateKey(env.X0T_LICENSE_SIGNING_KEY);
  } else {
    const file = path.join(dataDir, 'payments', 'license-signing-key.pem');
    if (!fs.existsSync(file)) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const pem = crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
      try {
        fs.writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
        logger?.warn('no X0T_LICENSE_SIGNING_KEY: generated an access-key signing key; back it up or set the env var', { file });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process won the race: use its key
      }
    }
    key = parsePrivateKey(fs.readFileSync(file, 'utf8'));
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(`X0T_LICENSE_SIGNING_KEY is a ${key.asymmetricKeyType} key, not Ed25519`);
  return key;
}

/** The public key as PEM (SPKI), for verifiers. */
export function publicKeyPem(privateKey: KeyObject): string {
  return crypto.createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }) as string;
}

export function signAccessKey(claims: AccessKeyClaims, privateKey: KeyObject): string {
  const payload = Buffer.from(JSON.stringify(claims));
  return `x0t1.${payload.toString('base64url')}.${crypto.sign(null, payload, privateKey).toString('base64url')}`;
}

/** Verifies a key with the public key (PEM or KeyObject): its claims when valid, else null. Expiry is the caller's check. */
export function verifyAccessKey(accessKey: string, publicKey: string | KeyObject): AccessKeyClaims | null {
  const parts = accessKey.split('.');
  if (parts.length !== 3 || parts[0] !== 'x0t1') return null;
  const payload = Buffer.from(parts[1]!, 'base64url');
  const pub = typeof publicKey === 'string' ? crypto.createPublicKey(publicKey) : publicKey;
  if (!crypto.verify(null, payload, pub, Buffer.from(parts[2]!, 'base64url'))) return null;
  try {
    return JSON.parse(payload.toString('utf8')) as AccessKeyClaims;
  } catch {
    return null;
  }
}

/** Where the issuance record of an invoice lives. */
export function accessKeyRecordPath(dataDir: string, invoiceId: string): string {
  return path.join(dataDir, 'payments', 'access-keys', `${encodeURIComponent(invoiceId)}.json`);
}

/**
 * Issues the invoice's key once: writes the record to a temp file and hard-links it into place
 * (atomic, fails if it exists), so concurrent or retried attempts all end with the first key.
 */
export function issueOnce(dataDir: string, claims: AccessKeyClaims, privateKey: KeyObject): IssuedAccessKey {
  const file = accessKeyRecordPath(dataDir, claims.inv);
  const read = (): IssuedAccessKey => {
    const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as { accessKey: string; claims: AccessKeyClaims };
    return { ...rec, issued: 'existing' };
  };
  if (fs.existsSync(file)) return read();
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const accessKey = signAccessKey(claims, privateKey);
  const tmp = `${file}.${process.pid}.${crypto.randomUUID()}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ accessKey, claims }) + '\n');
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return read();
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return { accessKey, claims, issued: 'new' };
}
