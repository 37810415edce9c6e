/* tc_classifier (clsact ingress and egress): per-flow stats in an LRU map, and a policy map keyed by
 * source address that a remediation writes to drop or rate-limit (token bucket) that source. */
#include "parse.h"

/* Pass = TC_ACT_UNSPEC: with tcx that is TCX_NEXT, so programs attached after ours still run
 * (TC_ACT_OK would end the chain); for a legacy clsact filter it also lets the packet through. */
#define TC_ACT_OK (-1)
#define TC_ACT_SHOT 2

enum { DIR_INGRESS = 0, DIR_EGRESS = 1 };
enum { POLICY_PASS = 0, POLICY_DROP = 1, POLICY_RATE_LIMIT = 2 };

struct flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u8 proto;
	__u8 family;
	__u8 dir;
	__u8 pad;
	__u32 ifindex;
};

struct flow_value {
	__u64 packets;
	__u64 bytes;
	__u64 first_seen_ns;
	__u64 last_seen_ns;
	__u64 policy_drops;
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
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, struct flow_value);
} tc_flows SEC(".maps");

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

static __always_inline int classify(struct __sk_buff *skb, __u8 dir)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct pkt_info pi = {};
	struct flow_key fk = {};
	struct flow_value *fv;
	__u64 now = bpf_ktime_get_ns();
	int verdict = TC_ACT_OK;

	parse_packet(data, data_end, &pi, 1);
	if (pi.family == 0)
		return TC_ACT_OK; /* flows and policies are about IP */

	{
		struct policy_key pk = { .family = pi.family };
		struct policy_value *p;
		__builtin_memcpy(pk.addr, pi.saddr, 16);
		p = bpf_map_lookup_elem(&tc_policy, &pk);
		if (p) {
			int pass = p->action == POLICY_DROP ? 0 : p->action == POLICY_RATE_LIMIT ? take_tokens(p, now, skb->len) : 1;
			if (pass) {
				__sync_fetch_and_add(&p->passed, 1);
			} else {
				__sync_fetch_and_add(&p->dropped, 1);
				verdict = TC_ACT_SHOT;
			}
		}
	}

	__builtin_memcpy(fk.saddr, pi.saddr, 16);
	__builtin_memcpy(fk.daddr, pi.daddr, 16);
	fk.sport = pi.sport;
	fk.dport = pi.dport;
	fk.proto = pi.l4;
	fk.family = pi.family;
	fk.dir = dir;
	fk.ifindex = skb->ifindex;
	fv = bpf_map_lookup_elem(&tc_flows, &fk);
	if (fv) {
		__sync_fetch_and_add(&fv->packets, 1);
		__sync_fetch_and_add(&fv->bytes, skb->len);
		fv->last_seen_ns = now;
		if (verdict == TC_ACT_SHOT)
			__sync_fetch_and_add(&fv->policy_drops, 1);
	} else {
		struct flow_value nv = {
			.packets = 1,
			.bytes = skb->len,
			.first_seen_ns = now,
			.last_seen_ns = now,
			.policy_drops = verdict == TC_ACT_SHOT,
		};
		bpf_map_update_elem(&tc_flows, &fk, &nv, BPF_ANY);
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

char LICENSE[] SEC("license") = "GPL";
