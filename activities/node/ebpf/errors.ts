import { ApplicationFailure } from '@temporalio/common';
import { LibbpfError } from '../../../bpf/libbpf.js';
import { invalidInput } from '../../errors.js';

/**
 * Maps what the eBPF runtime throws onto activity failures: bad arguments are InvalidInput; a kernel
 * that cannot do it (kprobes absent, program refused) is non-retryable 'EbpfUnsupported'; a missing
 * device (ENODEV) or anything else stays retryable (the interface may appear).
 */
export function asActivityError(err: unknown): unknown {
  if (err instanceof RangeError || err instanceof TypeError) return invalidInput(err.message);
  if (err instanceof LibbpfError) {
    const unsupported = err.name === 'BpfLoadError' || /unavailable|not supported/i.test(err.message) || err.errno === 95 /* EOPNOTSUPP */;
    return ApplicationFailure.create({
      type: unsupported ? 'EbpfUnsupported' : err.errno === 19 ? 'NoSuchInterface' : 'EbpfError',
      message: err.message,
      nonRetryable: unsupported,
    });
  }
  return err;
}
