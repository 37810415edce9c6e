/* Packet parsing shared by the XDP and TC programs: bounded, verifier-friendly, IPv4 and IPv6. */
#pragma once
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_ARP 0x0806
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IPPROTO_ICMPV6_ 58

/* L3 classes (label values in user space: bpf/decoders.ts). */
enum { L3_OTHER = 0, L3_IPV4 = 1, L3_IPV6 = 2, L3_ARP = 3 };

struct pkt_info {
	__u8 l3;          /* L3_* */
	__u8 l4;          /* IP protocol number (0 when not IP) */
	__u8 family;      /* 4 or 6, 0 when not IP */
	__u8 malformed;   /* headers shorter than they claim */
	__u8 saddr[16];   /* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u16 sport;      /* ports in host order; ICMP: echo id / (type << 8 | code) */
	__u16 dport;
};

/* want_l4: also read addresses and ports (the XDP counter needs only the protocol numbers). */
static __always_inline void parse_packet(void *data, void *data_end, struct pkt_info *pi, const int want_l4)
{
	struct ethhdr *eth = data;
	__u16 proto;
	void *l4 = 0;

	if ((void *)(eth + 1) > data_end) {
		pi->malformed = 1;
		return;
	}
	proto = eth->h_proto;
	data = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = data;
		if ((void *)(vh + 1) > data_end) {
			pi->malformed = 1;
			return;
		}
		proto = vh->h_vlan_encapsulated_proto;
		data = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data;
		pi->l3 = L3_IPV4;
		if ((void *)(ip + 1) > data_end || ip->ihl < 5) {
			pi->malformed = 1;
			return;
		}
		pi->family = 4;
		pi->l4 = ip->protocol;
		if (!want_l4)
			return;
		__builtin_memcpy(pi->saddr, &ip->saddr, 4);
		__builtin_memcpy(pi->daddr, &ip->daddr, 4);
		if (ip->frag_off & bpf_htons(0x1FFF)) /* not the first fragment: no L4 header */
			return;
		l4 = (void *)ip + ip->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data;
		pi->l3 = L3_IPV6;
		if ((void *)(ip6 + 1) > data_end) {
			pi->malformed = 1;
			return;
		}
		pi->family = 6;
		pi->l4 = ip6->nexthdr;
		if (!want_l4)
			return;
		__builtin_memcpy(pi->saddr, &ip6->saddr, 16);
		__builtin_memcpy(pi->daddr, &ip6->daddr, 16);
		l4 = ip6 + 1; /* extension headers are not walked: l4 is then the extension's number */
	} else {
		pi->l3 = proto == bpf_htons(ETH_P_ARP) ? L3_ARP : L3_OTHER;
		return;
	}
	if (pi->l4 == IPPROTO_TCP || pi->l4 == IPPROTO_UDP) {
		__be16 *ports = l4;
		if ((void *)(ports + 2) > data_end)
			return;
		pi->sport = bpf_ntohs(ports[0]);
		pi->dport = bpf_ntohs(ports[1]);
	} else if (pi->l4 == IPPROTO_ICMP || pi->l4 == IPPROTO_ICMPV6_) {
		__u8 *h = l4;
		if ((void *)(h + 8) > data_end)
			return;
		pi->dport = ((__u16)h[0] << 8) | h[1];           /* type, code */
		pi->sport = ((__u16)h[4] << 8) | h[5];           /* echo identifier */
	}
}
