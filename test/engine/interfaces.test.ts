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

const host: HostDevices = {
  lo: [dev('127.0.0.1', true), dev('::1', true)],
  eth0: [dev('192.0.2.10'), dev('2001:db8::10'), dev('fe80::1')],
  eth1: [dev('10.1.2.3')],
};

test('an address is one interface; the advertised address is kept', () => {
  assert.deepEqual(parseInterface('pub/192.0.2.1!198.51.100.1', host), [
    { name: 'pub', address: '192.0.2.1', advertised: '198.51.100.1', family: 4 },
  ]);
  assert.deepEqual(parseInterface('[2001:db8::1]', host), [
    { name: 'default', address: '2001:db8::1', advertised: '2001:db8::1', family: 6 },
  ]);
});

test("'any' is every address of every non-loopback device (no IPv6 link-local), as in Debian's rtpengine.conf", () => {
  assert.deepEqual(
    parseInterface('any', host).map((i) => [i.name, i.address]),
    [
      ['default', '192.0.2.10'],
      ['default', '2001:db8::10'],
      ['default', '10.1.2.3'],
    ],
  );
});

test('a device name is all its addresses; the advertised address goes to those of its family', () => {
  assert.deepEqual(parseInterface('ext/eth0!203.0.113.5', host), [
    { name: 'ext', address: '192.0.2.10', advertised: '203.0.113.5', family: 4 },
    { name: 'ext', address: '2001:db8::10', advertised: '2001:db8::10', family: 6 },
  ]);
  assert.deepEqual(
    parseInterface('lo', host).map((i) => i.address),
    ['127.0.0.1', '::1'],
    'a device named explicitly may be loopback',
  );
});

test('names that are neither an address nor a device, or have no address, are refused clearly', () => {
  assert.throws(
    () => parseInterface('media.example.com', host),
    /not an IP address, a network device .* or 'any'/,
  );
  assert.throws(() => parseInterface('any', { lo: host.lo }), /has no usable address/);
  assert.throws(() => parseInterface('eth0!nothere', host), /advertised 'nothere' is not an IP address/);
  assert.throws(() => parseInterface('/192.0.2.1', host), /empty name/);
});
