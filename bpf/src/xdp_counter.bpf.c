/* xdp_counter: packets, bytes and drops per interface and L3/L4 protocol, per CPU.
 * Passes every packet except ones whose headers are shorter than they claim (counted as drops). */
#include "parse.h"

struct xdp_key {
	__u32 ifindex;
	__u8 l3;
	__u8 l4;
	__u16 pad;
};

struct xdp_value {
	__u64 packets;
	__u64 bytes;
	__u64 drops;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct xdp_key);
	__type(value, struct xdp_value);
} xdp_stats SEC(".maps");

SEC("xdp")
int xdp_counter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct pkt_info pi = {};
	struct xdp_key key = {};
	struct xdp_value *v;

	parse_packet(data, data_end, &pi, 0);
	key.ifindex = ctx->ingress_ifindex;
	key.l3 = pi.l3;
	key.l4 = pi.l4;
	v = bpf_map_lookup_elem(&xdp_stats, &key);
	if (!v) {
		struct xdp_value zero = {};
		bpf_map_update_elem(&xdp_stats, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&xdp_stats, &key);
		if (!v)
			return XDP_PASS;
	}
	v->packets++;
	v->bytes += data_end - data;
	if (pi.malformed) {
		v->drops++;
		return XDP_DROP;
	}
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
