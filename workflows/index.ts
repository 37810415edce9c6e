/** Every workflow the control worker runs. Add a workflow here to register it. */
export { nodeRegistry } from './node-registry.js';
export { hostSurvey } from './host-survey.js';
export { incidentAnalysis } from './incident-analysis.js';
export { paymentConfirmation, subscription, txClaim, amountClaim, chainWatcher } from './payments/index.js';
