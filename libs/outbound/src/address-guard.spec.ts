import { parseCidr } from '@chiptrail/config';
import { AddressGuard } from './address-guard';

describe('AddressGuard', () => {
  const guard = new AddressGuard();

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['0.0.0.0', 'this network'],
    ['224.0.0.1', 'multicast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fd00:ec2::254', 'unique local (ULA)'],
    ['fc12::1', 'unique local (ULA)'],
    ['fe80::1', 'link-local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local (cloud metadata)'],
    ['64:ff9b::a9fe:a9fe', 'link-local (cloud metadata)'],
  ])('refuses %s (%s)', (address, reason) => {
    expect(guard.check(address)).toEqual({ allowed: false, reason: expect.stringContaining(reason) });
  });

  it.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '2001:4860:4860::8888', '::ffff:8.8.8.8'])('allows the public address %s', (address) => {
    expect(guard.check(address)).toEqual({ allowed: true });
  });

  it('lets the allowlist open exactly what it names', () => {
    const allowing = new AddressGuard([parseCidr('127.0.0.1/32')!]);
    expect(allowing.check('127.0.0.1')).toEqual({ allowed: true });
    expect(allowing.check('::ffff:127.0.0.1')).toEqual({ allowed: true });
    expect(allowing.check('127.0.0.2').allowed).toBe(false);
    expect(allowing.check('::1').allowed).toBe(false);
    expect(allowing.check('10.0.0.1').allowed).toBe(false);
  });

  it('refuses what is not an address at all', () => {
    expect(guard.check('localhost').allowed).toBe(false);
  });
});
