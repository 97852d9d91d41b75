import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { test } from 'node:test';
import { type HostDevices, parseInterface } from '../../src/engine/interfaces.js';

function dev(address: string, internal = false): NetworkInterfaceInfo {
  const v6 = address.includes(':');
  return {
    address,
    netmask: v6 ? 'ffff:ffff:ffff:ffff::' : '255.255.255.0',
    family: v6 ? 'IPv6' : 'IPv4',
    mac: '00:00:00:00:00:00',
    internal,
    cidr: null,
    ...(v6 ? { scopeid: 0 } : {}),
  } as NetworkInterfaceInfo;
}

/** No host name resolves (the tests never reach a real resolver). */
const none = (): string[] => [];

const host: HostDevices = {
  lo: [dev('127.0.0.1', true), dev('::1', true)],
  eth0: [dev('192.0.2.10'), dev('2001:db8::10'), dev('fe80::1')],
  eth1: [dev('10.1.2.3')],
};

test('an address is one interface; the advertised address is kept', () => {
  assert.deepEqual(parseInterface('pub/192.0.2.1!198.51.100.1', host, none), [
    { name: 'pub', address: '192.0.2.1', advertised: '198.51.100.1', family: 4 },
  ]);
  assert.deepEqual(parseInterface('[2001:db8::1]', host, none), [
    { name: 'default', address: '2001:db8::1', advertised: '2001:db8::1', family: 6 },
  ]);
});

test("'any' is every address of every non-loopback device (no IPv6 link-local), as in Debian's rtpengine.conf", () => {
  assert.deepEqual(
    parseInterface('any', host, none).map((i) => [i.name, i.address]),
    [
      ['default', '192.0.2.10'],
      ['default', '2001:db8::10'],
      ['default', '10.1.2.3'],
    ],
  );
});

test('a device name is all its addresses; the advertised address goes to those of its family', () => {
  assert.deepEqual(parseInterface('ext/eth0!203.0.113.5', host, none), [
    { name: 'ext', address: '192.0.2.10', advertised: '203.0.113.5', family: 4 },
    { name: 'ext', address: '2001:db8::10', advertised: '2001:db8::10', family: 6 },
  ]);
  assert.deepEqual(
    parseInterface('lo', host, none).map((i) => i.address),
    ['127.0.0.1', '::1'],
    'a device named explicitly may be loopback',
  );
});

test('a host name is resolved once (its addresses, IPv6 link-local left out); one that does not resolve is refused', () => {
  const resolve = (h: string) => (h === 'media.example.com' ? ['192.0.2.77', 'fe80::7', '2001:db8::77'] : []);
  assert.deepEqual(
    parseInterface('ext/media.example.com!203.0.113.9', host, resolve).map((i) => [i.address, i.advertised]),
    [
      ['192.0.2.77', '203.0.113.9'],
      ['2001:db8::77', '2001:db8::77'],
    ],
  );
  assert.throws(() => parseInterface('nothere.example', host, resolve), /or a host name that resolves/);
});

test('names that are neither an address nor a device, or have no address, are refused clearly', () => {
  assert.throws(
    () => parseInterface('not_a_host', host, none),
    /not an IP address, a network device .* 'any'/,
  );
  assert.throws(() => parseInterface('constructor', host, none), /or a host name that resolves/);
  assert.throws(() => parseInterface('any', { lo: host.lo }, none), /has no usable address/);
  assert.throws(
    () => parseInterface('eth0!nothere', host, none),
    /advertised 'nothere' is not an IP address/,
  );
  assert.throws(() => parseInterface('/192.0.2.1', host, none), /empty name/);
});
