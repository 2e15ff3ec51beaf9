import { BlockList, isIP } from 'node:net';
import type { Cidr } from '@chiptrail/config';

/** Ranges no outbound request may reach unless allow-listed: loopback, private, link-local, CGNAT, ULA, metadata… */
const BLOCKED_V4: ReadonlyArray<[string, number, string]> = [
  ['0.0.0.0', 8, 'this network'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

const BLOCKED_V6: ReadonlyArray<[string, number, string]> = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['100::', 64, 'discard'],
  ['2001:db8::', 32, 'documentation'],
  ['fc00::', 7, 'unique local (ULA)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

export type GuardVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Decides whether an outbound connection may go to an IP address. Checked on the address actually connected to
 * (after DNS), never on a hostname. IPv4-mapped and NAT64 IPv6 addresses are judged as the IPv4 address inside.
 */
export class AddressGuard {
  private readonly allow = new BlockList();
  private readonly hasAllowlist: boolean;

  constructor(allowlist: readonly Cidr[] = []) {
    for (const cidr of allowlist) this.allow.addSubnet(cidr.address, cidr.prefix, cidr.family === 4 ? 'ipv4' : 'ipv6');
    this.hasAllowlist = allowlist.length > 0;
  }

  /** Whether the allowlist names this address (test receivers may then be reached over plain http). */
  allowlisted(address: string): boolean {
    const family = isIP(address);
    if (!this.hasAllowlist || family === 0) return false;
    const v4 = family === 4 ? address : embeddedIpv4(address);
    return Boolean((v4 && this.allow.check(v4, 'ipv4')) || (family === 6 && this.allow.check(address, 'ipv6')));
  }

  check(address: string): GuardVerdict {
    const family = isIP(address);
    if (family === 0) return { allowed: false, reason: `${address} is not an IP address` };
    const embedded = family === 6 ? embeddedIpv4(address) : undefined;
    const v4 = family === 4 ? address : embedded;
    if (this.hasAllowlist) {
      if (v4 && this.allow.check(v4, 'ipv4')) return { allowed: true };
      if (family === 6 && this.allow.check(address, 'ipv6')) return { allowed: true };
    }
    if (v4) {
      const hit = BLOCKED_V4.find(([net, prefix]) => inSubnet(v4, net, prefix, 'ipv4'));
      return hit ? { allowed: false, reason: `${address} is a ${hit[2]} address` } : { allowed: true };
    }
    const hit = BLOCKED_V6.find(([net, prefix]) => inSubnet(address, net, prefix, 'ipv6'));
    return hit ? { allowed: false, reason: `${address} is a ${hit[2]} address` } : { allowed: true };
  }
}

function inSubnet(address: string, net: string, prefix: number, family: 'ipv4' | 'ipv6'): boolean {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return list.check(address, family);
}

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible or NAT64 (64:ff9b::/96) address. */
function embeddedIpv4(address: string): string | undefined {
  const words = expandIpv6(address);
  if (!words) return undefined;
  const tail = `${words[6]! >> 8}.${words[6]! & 0xff}.${words[7]! >> 8}.${words[7]! & 0xff}`;
  const zeroesUpTo = (n: number) => words.slice(0, n).every((word) => word === 0);
  if (zeroesUpTo(5) && words[5] === 0xffff) return tail;
  if (words[0] === 0x64 && words[1] === 0xff9b && words.slice(2, 6).every((word) => word === 0)) return tail;
  if (zeroesUpTo(6) && (words[6] !== 0 || words[7]! > 1)) return tail;
  return undefined;
}

function expandIpv6(address: string): number[] | undefined {
  let text = address.toLowerCase().split('%')[0] as string;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const parts = (dotted[1] as string).split('.').map(Number);
    text = text.slice(0, -dotted[1]!.length) + `${((parts[0]! << 8) | parts[1]!).toString(16)}:${((parts[2]! << 8) | parts[3]!).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail !== undefined ? (tail ? tail.split(':') : []) : [];
  const missing = 8 - left.length - right.length;
  if (tail === undefined && left.length !== 8) return undefined;
  const words = [...left, ...Array(Math.max(missing, 0)).fill('0'), ...right].map((word) => parseInt(word, 16));
  return words.length === 8 && words.every((word) => Number.isInteger(word) && word >= 0 && word <= 0xffff) ? words : undefined;
}
