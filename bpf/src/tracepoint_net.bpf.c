/* tracepoint_net: packet drops with the kernel's drop reason (skb:kfree_skb), and packets/bytes each
 * device transmits (net:net_dev_xmit) and receives (net:netif_receive_skb). BTF tracepoints: no tracefs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct drop_key {
	__u32 reason;   /* enum skb_drop_reason, named in user space from the kernel's BTF */
	__u32 ifindex;  /* the skb's device when known, else 0 */
	char ifname[16];
};

struct dev_key {
	__u32 ifindex;
	__u32 dir;      /* 0 receive, 1 transmit */
	char ifname[16];
};

struct dev_value {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct drop_key);
	__type(value, __u64);
} net_drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct dev_key);
	__type(value, struct dev_value);
} net_dev SEC(".maps");

static __always_inline void count_dev(struct net_device *dev, __u32 dir, __u32 len)
{
	struct dev_key k = { .dir = dir };
	struct dev_value *v;
	if (!dev)
		return;
	k.ifindex = BPF_CORE_READ(dev, ifindex);
	BPF_CORE_READ_STR_INTO(&k.ifname, dev, name);
	v = bpf_map_lookup_elem(&net_dev, &k);
	if (!v) {
		struct dev_value zero = {};
		bpf_map_update_elem(&net_dev, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&net_dev, &k);
		if (!v)
			return;
	}
	v->packets++;
	v->bytes += len;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(net_kfree_skb, struct sk_buff *skb, void *location, enum skb_drop_reason reason)
{
	struct drop_key k = { .reason = reason };
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	__u64 *v;
	if (dev) {
		k.ifindex = BPF_CORE_READ(dev, ifindex);
		BPF_CORE_READ_STR_INTO(&k.ifname, dev, name);
	}
	v = bpf_map_lookup_elem(&net_drops, &k);
	if (!v) {
		__u64 zero = 0;
		bpf_map_update_elem(&net_drops, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&net_drops, &k);
		if (!v)
			return 0;
	}
	*v += 1;
	return 0;
}

SEC("tp_btf/net_dev_xmit")
int BPF_PROG(net_dev_xmit, struct sk_buff *skb, int rc, struct net_device *dev, unsigned int len)
{
	if (rc == 0)
		count_dev(dev, 1, len);
	return 0;
}

SEC("tp_btf/netif_receive_skb")
int BPF_PROG(net_netif_receive_skb, struct sk_buff *skb)
{
	count_dev(BPF_CORE_READ(skb, dev), 0, BPF_CORE_READ(skb, len));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
