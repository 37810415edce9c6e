/* fault_injector: drops a configured share of a link's IP packets (TC, ingress or egress). Used by the
 * lab and tests in place of netem, which these kernels lack. ARP and other non-IP frames always pass,
 * so neighbour resolution keeps working. */
#include "parse.h"

/* Pass = TC_ACT_UNSPEC: with tcx that is TCX_NEXT, so programs attached after ours still run
 * (TC_ACT_OK would end the chain); for a legacy clsact filter it also lets the packet through. */
#define TC_ACT_OK (-1)
#define TC_ACT_SHOT 2

struct fault_config {
	__u32 drop_per_million; /* share of IP packets to drop, in parts per million */
	__u32 pad;
};

struct fault_stats {
	__u64 seen;
	__u64 dropped;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fault_config);
} fault_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fault_stats);
} fault_stats SEC(".maps");

SEC("tc")
int fault_injector(struct __sk_buff *skb)
{
	__u32 zero = 0;
	struct fault_config *cfg = bpf_map_lookup_elem(&fault_config, &zero);
	struct fault_stats *st = bpf_map_lookup_elem(&fault_stats, &zero);
	if (!cfg || !st)
		return TC_ACT_OK;
	if (skb->protocol != bpf_htons(ETH_P_IP) && skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	st->seen++;
	if (cfg->drop_per_million && bpf_get_prandom_u32() % 1000000 < cfg->drop_per_million) {
		st->dropped++;
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
