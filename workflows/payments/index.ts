/** The payment workflows (registered through workflows/index.ts). */
export { paymentConfirmation } from './payment-confirmation.js';
export { subscription } from './subscription.js';
export { txClaim, amountClaim } from './claims.js';
export { chainWatcher } from './chain-watcher.js';
