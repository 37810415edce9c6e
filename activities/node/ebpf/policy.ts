import { z } from 'zod';
import type { PolicyState } from '../../../bpf/decoders.js';
import { asActivityError } from './errors.js';
import { parseInput } from './attach.js';
import { nodeEbpf, type NodeEbpfDeps } from './runtime.js';

const ip = z.string().refine((s) => /^[0-9a-fA-F:.]+$/.test(s), 'an IPv4 or IPv6 address');

export const SetPolicyInput = z.discriminatedUnion('action', [
  z.object({ source: ip, action: z.literal('drop') }),
  z.object({
    source: ip,
    action: z.literal('rate_limit'),
    rateBytesPerSec: z.number().positive().max(1e12),
    burstBytes: z.number().positive().max(1e12),
  }),
]);
export type EbpfSetPolicyInput = z.infer<typeof SetPolicyInput>;

/** Remediation actions on tc_classifier's policy map: drop or rate-limit a source address. */
export function createPolicyActivities(deps: NodeEbpfDeps) {
  return {
    /**
     * Writes a source policy. Idempotent: writing the same policy again (a retry) changes nothing —
     * neither the token bucket nor the counters — and returns `changed: false`.
     */
    async ebpfSetSourcePolicy(input: EbpfSetPolicyInput): Promise<{ changed: boolean; policy: PolicyState }> {
      const p = parseInput(SetPolicyInput, input, 'ebpfSetSourcePolicy');
      try {
        return nodeEbpf(deps).setPolicy(p);
      } catch (err) {
        throw asActivityError(err);
      }
    },

    /** Removes a source policy; `cleared: false` when there was none (idempotent). */
    async ebpfClearSourcePolicy(input: { source: string }): Promise<{ cleared: boolean }> {
      const { source } = parseInput(z.object({ source: ip }), input, 'ebpfClearSourcePolicy');
      try {
        return { cleared: nodeEbpf(deps).clearPolicy(source) };
      } catch (err) {
        throw asActivityError(err);
      }
    },
  };
}
