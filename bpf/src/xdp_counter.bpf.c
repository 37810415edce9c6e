/* xdp_counter: packets, bytes and drops per L3/L4 protocol, per CPU, for the interface this object
 * is attached to (one object per interface: the loader knows which, so the hot path needs no hash
 * lookup — a per-CPU array indexed by l3 << 8 | l4). Passes every packet except ones whose headers
 * are shorter than they claim (counted as drops). */
#include "parse.h"

struct xdp_value {
	__u64 packets;
	__u64 bytes;
	__u64 drops;
};

/* Index (L3 class << 8) | IP protocol; L3 classes are the L3_* values of parse.h. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4 * 256);
	__type(key, __u32);
	__type(value, struct xdp_value);
} xdp_stats SEC(".maps");

/* xdp.frags: the program copes with multi-buffer packets, so a veth keeps GSO/GRO with it attached
 * (without it, veth turns GSO off on the peer and TCP across the pair loses most of its throughput). */
SEC("xdp.frags")
int xdp_counter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt_info pi = {};
	struct xdp_value *v;
	__u32 idx;

	parse_packet(data, data_end, &pi, 0);
	idx = ((__u32)(pi.l3 & 3) << 8) | pi.l4;
	v = bpf_map_lookup_elem(&xdp_stats, &idx);
	if (!v)
		return XDP_PASS;
	v->packets++;
	v->bytes += bpf_xdp_get_buff_len(ctx); /* whole packet, all fragments */
	if (pi.malformed) {
		v->drops++;
		return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
