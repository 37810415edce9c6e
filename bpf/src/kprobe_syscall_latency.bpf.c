/* kprobe_syscall_latency: log2 latency histograms per syscall number.
 * Attach modes (user space enables exactly one pair with bpf_program__set_autoload):
 *   tp_btf (default)  BTF syscall tracepoints, no tracefs needed
 *   tracepoint        classic raw_syscalls tracepoints (tracefs)
 *   raw_tp            raw tracepoints
 *   kprobe            kprobe/kretprobe on x64_sys_call (needs CONFIG_KPROBES)
 * (fentry/fexit on x64_sys_call is refused by the kernel: it is not traceable.)
 * The name is the original's; nothing requires kprobes. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define NR_SYSCALLS 512
#define SLOTS 32

struct start {
	__u64 ts;
	__u32 nr;
	__u32 active;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct start);
} syscall_start SEC(".maps");

/* Index nr * SLOTS + slot: slot k counts latencies in [2^k, 2^(k+1)) ns (slot 0 also holds 0). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_SYSCALLS * SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} syscall_hist SEC(".maps");

/* Index nr: total latency in ns (the histogram's sum). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NR_SYSCALLS);
	__type(key, __u32);
	__type(value, __u64);
} syscall_sum_ns SEC(".maps");

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;
	shift = (v > 0xFFFFFFFFULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xFFFF) << 4; v >>= shift; r |= shift;
	shift = (v > 0xFF) << 3; v >>= shift; r |= shift;
	shift = (v > 0xF) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/* Fast path: the syscall's start lives in a per-CPU slot (a task cannot leave its CPU without a
 * context switch). When a task is switched out inside a syscall, syscall_spill moves its slot into task
 * storage, where the exit finds it. So most syscalls never touch task storage, and blocking ones are
 * still measured. */
struct cpu_slot {
	__u64 ts;  /* 0 = empty */
	__u32 tid;
	__u32 nr;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cpu_slot);
} syscall_slot SEC(".maps");

static __always_inline void record(__u32 nr, __u64 delta)
{
	__u64 *cnt, *sum;
	__u32 slot = log2_u64(delta), idx = nr & (NR_SYSCALLS - 1);

	if (slot >= SLOTS)
		slot = SLOTS - 1;
	sum = bpf_map_lookup_elem(&syscall_sum_ns, &idx);
	if (sum)
		*sum += delta;
	idx = idx * SLOTS + slot;
	cnt = bpf_map_lookup_elem(&syscall_hist, &idx);
	if (cnt)
		*cnt += 1;
}

static __always_inline void on_enter(long nr)
{
	__u32 zero = 0;
	struct cpu_slot *c;
	if (nr < 0 || nr >= NR_SYSCALLS)
		return;
	c = bpf_map_lookup_elem(&syscall_slot, &zero);
	if (!c)
		return;
	c->tid = (__u32)bpf_get_current_pid_tgid();
	c->nr = nr;
	c->ts = bpf_ktime_get_ns();
}

static __always_inline void on_exit(void)
{
	__u32 zero = 0, tid = (__u32)bpf_get_current_pid_tgid();
	struct cpu_slot *c = bpf_map_lookup_elem(&syscall_slot, &zero);
	struct start *s;
	__u64 now;

	if (!c)
		return;
	if (c->ts && c->tid == tid) {
		now = bpf_ktime_get_ns();
		record(c->nr, now - c->ts);
		c->ts = 0;
		return;
	}
	s = bpf_task_storage_get(&syscall_start, bpf_get_current_task_btf(), 0, 0);
	if (!s || !s->active)
		return;
	s->active = 0;
	record(s->nr, bpf_ktime_get_ns() - s->ts);
}

/* Attached in every mode: a task switched out mid-syscall takes its start along in task storage. */
SEC("tp_btf/sched_switch")
int BPF_PROG(syscall_spill, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 zero = 0;
	struct cpu_slot *c = bpf_map_lookup_elem(&syscall_slot, &zero);
	struct start *s;

	if (!c || !c->ts || c->tid != (__u32)prev->pid)
		return 0;
	s = bpf_task_storage_get(&syscall_start, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (s) {
		s->ts = c->ts;
		s->nr = c->nr;
		s->active = 1;
	}
	c->ts = 0;
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sys_enter_btf, struct pt_regs *regs, long id)
{
	on_enter(id);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sys_exit_btf, struct pt_regs *regs, long ret)
{
	on_exit();
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter_tp(struct trace_event_raw_sys_enter *ctx)
{
	on_enter(ctx->id);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit_tp(struct trace_event_raw_sys_exit *ctx)
{
	on_exit();
	return 0;
}

SEC("raw_tp/sys_enter")
int sys_enter_raw(struct bpf_raw_tracepoint_args *ctx)
{
	on_enter((long)ctx->args[1]);
	return 0;
}

SEC("raw_tp/sys_exit")
int sys_exit_raw(struct bpf_raw_tracepoint_args *ctx)
{
	on_exit();
	return 0;
}

SEC("kprobe/x64_sys_call")
int BPF_KPROBE(sys_enter_kprobe, const struct pt_regs *regs, unsigned int nr)
{
	on_enter(nr);
	return 0;
}

SEC("kretprobe/x64_sys_call")
int BPF_KRETPROBE(sys_exit_kretprobe)
{
	on_exit();
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
