import { ApplicationFailure } from '@temporalio/common';

/**
 * Bad input to an activity: retrying cannot fix it, so it fails at once with type 'InvalidInput'
 * and a message that says what is wrong. Workflows list 'InvalidInput' as non-retryable.
 */
export function invalidInput(message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({ type: 'InvalidInput', message, nonRetryable: true, details: details === undefined ? [] : [details] });
}
