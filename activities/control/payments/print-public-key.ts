/**
 * `npm run payments:public-key`: prints the Ed25519 public key (PEM) that verifies access keys,
 * loading the signing key exactly as the control worker does (X0T_LICENSE_SIGNING_KEY, else the
 * file under <dataDir>/payments/, generated on first use).
 */
import { dataDir } from '../../../common/paths.js';
import { createLogger } from '../../../common/logger.js';
import { exitOnError } from '../../../common/errors.js';
import { loadSigningKey, publicKeyPem } from './access-key.js';

try {
  process.stdout.write(publicKeyPem(loadSigningKey(dataDir(), createLogger('payments'))));
} catch (err) {
  exitOnError(err);
}
