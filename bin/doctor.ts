/**
 * `npm run doctor [-- --json]`: what this machine offers the eBPF side and what to do about what is
 * missing (bpf/doctor.ts). Exit 0 when every required check passes, 2 otherwise.
 */
import { formatChecks, refusal, runDoctor } from '../bpf/doctor.js';

const checks = runDoctor({ attachProbes: true });
if (process.argv.includes('--json')) console.log(JSON.stringify(checks, null, 2));
else {
  console.log(formatChecks(checks));
  const why = refusal(checks);
  console.log(why ? `\n${why}` : '\neBPF: every required check passed.');
}
process.exit(refusal(checks) ? 2 : 0);
