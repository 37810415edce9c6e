/* Not a telemetry program: `npm run doctor` loads it to learn whether this kernel accepts fentry/fexit
 * programs (BPF trampolines). bpf_fentry_test1 is the kernel's own target for exactly this. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("fentry/bpf_fentry_test1")
int BPF_PROG(probe_fentry, int a)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
