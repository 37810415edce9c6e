import { z } from 'zod';
import { PROGRAMS, SYSCALL_MODES, type AttachResult } from '../../../bpf/runtime.js';
import { invalidInput } from '../../errors.js';
import { asActivityError } from './errors.js';
import { nodeEbpf, type NodeEbpfDeps } from './runtime.js';

export const AttachInput = z.object({
  program: z.enum(PROGRAMS),
  /** Required for xdp_counter, tc_classifier and fault_injector. */
  interface: z.string().min(1).max(15).regex(/^[\w.@:-]+$/).optional(),
  /** tc_classifier: one direction (both when absent); fault_injector: default egress. */
  direction: z.enum(['ingress', 'egress']).optional(),
  /** kprobe_syscall_latency attach mode (default tp_btf). */
  mode: z.enum(SYSCALL_MODES).optional(),
  /** fault_injector: share of IP packets to drop, 0..100 (changing it on an attached injector updates it). */
  dropPercent: z.number().min(0).max(100).optional(),
  /** xdp_counter: XDP mode (default auto = native where possible; see AttachSpec.xdpMode). */
  xdpMode: z.enum(['auto', 'generic', 'native']).optional(),
  legacyTc: z.boolean().optional(),
});
export type EbpfAttachInput = z.infer<typeof AttachInput>;

export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (!r.success) throw invalidInput(`${what}: ${r.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}`, input);
  return r.data;
}

/** Activities that attach and detach programs on this node. */
export function createAttachActivities(deps: NodeEbpfDeps) {
  return {
    /**
     * Loads (once) and attaches a program; attaching what is already attached returns
     * `alreadyAttached: true` and changes nothing (a retried attempt does not attach twice).
     */
    async ebpfAttach(input: EbpfAttachInput): Promise<AttachResult> {
      const spec = parseInput(AttachInput, input, 'ebpfAttach');
      try {
        return nodeEbpf(deps).attach(spec);
      } catch (err) {
        throw asActivityError(err);
      }
    },

    /** Detaches a program from its target; `detached: false` when it was not attached (idempotent). */
    async ebpfDetach(input: EbpfAttachInput): Promise<{ detached: boolean }> {
      const spec = parseInput(AttachInput, input, 'ebpfDetach');
      try {
        return { detached: nodeEbpf(deps).detach(spec) };
      } catch (err) {
        throw asActivityError(err);
      }
    },

    /** What is attached on this node now, and the kernel ids of our programs. */
    async ebpfStatus(): Promise<{ attached: string[]; progIds: number[] }> {
      const rt = nodeEbpf(deps);
      return { attached: rt.attached(), progIds: rt.programIds() };
    },
  };
}
