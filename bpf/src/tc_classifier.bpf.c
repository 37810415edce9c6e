/* tc_classifier (clsact ingress and egress): per-flow stats in an LRU map, and a policy map keyed by
 * source address that a remediation writes to drop or rate-limit (token bucket) that source. */
#include "parse.h"

/* Pass = TC_ACT_UNSPEC: with tcx that is TCX_NEXT, so programs attached after ours still run
 * (TC_ACT_OK would end the chain); for a legacy clsact filter it also lets the packet through. */
#define TC_ACT_OK (-1)
#define TC_ACT_SHOT 2

enum { DIR_INGRESS = 0, DIR_EGRESS = 1 };
enum { POLICY_PASS = 0, POLICY_DROP = 1, POLICY_RATE_LIMIT = 2 };

/* Flows live in two maps so that IPv4 keys stay small (the hash over the key is most of the cost). */
struct flow_key4 {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 dir;
	__u16 pad;
	__u32 ifindex;
};

struct flow_key6 {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 dir;
	__u16 pad;
	__u32 ifindex;
};

/* Per CPU (no atomics on the hot path); user space sums counts, takes min first / max last seen.
 * Times are jiffies (bpf_jiffies64: a load, where reading a clock costs ~15 ns per packet); user space
 * converts them to monotonic ns with the pair tc_clock records. */
struct flow_value {
	__u64 packets;
	__u64 bytes;
	__u64 first_seen; /* jiffies */
	__u64 last_seen;  /* jiffies */
	__u64 policy_drops;
};

/* Written by user space: how many policies the map holds (0 skips the policy lookup entirely). */
struct tc_config {
	__u32 policy_count;
	__u32 pad;
};

struct policy_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

/* Written by user space (the policy fields); tokens/last_ns/counters are the kernel's. A rewrite with
 * the same rate and burst is skipped by user space so a retried remediation does not reset the bucket. */
struct policy_value {
	struct bpf_spin_lock lock;
	__u32 action;        /* POLICY_* */
	__u64 rate_bytes;    /* token refill, bytes per second */
	__u64 burst_bytes;   /* bucket size */
	__u64 tokens;        /* bytes available */
	__u64 last_ns;       /* last refill */
	__u64 passed;
	__u64 dropped;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key4);
	__type(value, struct flow_value);
} tc_flows4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct flow_key6);
	__type(value, struct flow_value);
} tc_flows6 SEC(".maps");

/* {jiffies64, ktime_get_ns} sampled together by tc_clock (run by user space with BPF_PROG_TEST_RUN). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} tc_clock_sample SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tc_config);
} tc_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct policy_key);
	__type(value, struct policy_value);
} tc_policy SEC(".maps");

/* Token bucket: true when the packet fits. */
static __always_inline int take_tokens(struct policy_value *p, __u64 now, __u64 len)
{
	int ok = 0;
	bpf_spin_lock(&p->lock);
	if (p->last_ns == 0) {
		p->tokens = p->burst_bytes;
	} else if (now > p->last_ns) {
		__u64 add = (now - p->last_ns) * p->rate_bytes / 1000000000ULL;
		p->tokens = p->tokens + add > p->burst_bytes ? p->burst_bytes : p->tokens + add;
	}
	p->last_ns = now;
	if (p->tokens >= len) {
		p->tokens -= len;
		ok = 1;
	}
	bpf_spin_unlock(&p->lock);
	return ok;
}

static __always_inline void count_flow(void *flows, void *key, __u32 len, __u64 now, int dropped)
{
	struct flow_value *fv = bpf_map_lookup_elem(flows, key);
	if (fv) {
		fv->packets++;
		fv->bytes += len;
		fv->last_seen = now;
		if (!fv->first_seen)
			fv->first_seen = now;
		fv->policy_drops += dropped;
	} else {
		struct flow_value nv = { .packets = 1, .bytes = len, .first_seen = now, .last_seen = now, .policy_drops = dropped };
		bpf_map_update_elem(flows, key, &nv, BPF_NOEXIST);
	}
}

static __always_inline int classify(struct __sk_buff *skb, __u8 dir)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct pkt_info pi = {};
	struct tc_config *cfg;
	__u32 zero = 0;
	__u64 now = bpf_jiffies64();
	int verdict = TC_ACT_OK;

	parse_packet(data, data_end, &pi, 1);
	if (pi.family == 0)
		return TC_ACT_OK; /* flows and policies are about IP */

	cfg = bpf_map_lookup_elem(&tc_config, &zero);
	if (cfg && cfg->policy_count) {
		struct policy_key pk = { .family = pi.family };
		struct policy_value *p;
		__builtin_memcpy(pk.addr, pi.saddr, 16);
		p = bpf_map_lookup_elem(&tc_policy, &pk);
		if (p) {
			int pass = p->action == POLICY_DROP ? 0 : p->action == POLICY_RATE_LIMIT ? take_tokens(p, bpf_ktime_get_ns(), skb->len) : 1;
			if (pass) {
				__sync_fetch_and_add(&p->passed, 1);
			} else {
				__sync_fetch_and_add(&p->dropped, 1);
				verdict = TC_ACT_SHOT;
			}
		}
	}

	if (pi.family == 4) {
		struct flow_key4 k = {
			.saddr = *(__u32 *)pi.saddr,
			.daddr = *(__u32 *)pi.daddr,
			.sport = pi.sport,
			.dport = pi.dport,
			.proto = pi.l4,
			.dir = dir,
			.ifindex = skb->ifindex,
		};
		count_flow(&tc_flows4, &k, skb->len, now, verdict == TC_ACT_SHOT);
	} else {
		struct flow_key6 k = {
			.sport = pi.sport,
			.dport = pi.dport,
			.proto = pi.l4,
			.dir = dir,
			.ifindex = skb->ifindex,
		};
		__builtin_memcpy(k.saddr, pi.saddr, 16);
		__builtin_memcpy(k.daddr, pi.daddr, 16);
		count_flow(&tc_flows6, &k, skb->len, now, verdict == TC_ACT_SHOT);
	}
	return verdict;
}

SEC("tc")
int tc_classifier_ingress(struct __sk_buff *skb)
{
	return classify(skb, DIR_INGRESS);
}

SEC("tc")
int tc_classifier_egress(struct __sk_buff *skb)
{
	return classify(skb, DIR_EGRESS);
}

/* Not attached: run by user space to pair jiffies with monotonic ns (see tc_clock_sample). */
SEC("tc")
int tc_clock(struct __sk_buff *skb)
{
	__u32 k0 = 0, k1 = 1;
	__u64 j = bpf_jiffies64(), t = bpf_ktime_get_ns();
	bpf_map_update_elem(&tc_clock_sample, &k0, &j, BPF_ANY);
	bpf_map_update_elem(&tc_clock_sample, &k1, &t, BPF_ANY);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
