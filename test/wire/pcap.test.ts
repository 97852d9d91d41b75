import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ipv6Bytes,
  PcapError,
  pcapGlobalHeader,
  pcapRecord,
  pcapUdpRecord,
  udpPacket,
} from '../../src/wire/pcap.js';
import { serializeRtp } from '../../src/wire/rtp.js';

test('global and record headers (golden bytes)', () => {
  assert.equal(
    pcapGlobalHeader().toString('hex'),
    'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + 'ffff0000' + '65000000',
  );
  const r = pcapRecord(1_700_000_000_123.456, Buffer.from('abcd', 'hex'));
  assert.equal(r.toString('hex'), '00f15365' + '40e20100' + '02000000' + '02000000' + 'abcd');
});

test('IPv4 + UDP header with a correct IP checksum and UDP checksum 0', () => {
  const p = udpPacket(
    { srcAddress: '192.168.0.1', srcPort: 4000, dstAddress: '10.0.0.2', dstPort: 5000 },
    Buffer.from('hi'),
  );
  assert.equal(p.length, 30);
  assert.equal(
    p.subarray(0, 20).toString('hex'),
    '4500001e' + '00004000' + '4011' + '7024' + 'c0a80001' + '0a000002',
  );
  assert.equal(p.subarray(20).toString('hex'), '0fa01388' + '000a' + '0000' + '6869');
  // Verifying the checksum: the one's complement sum of the header, checksum included, is 0xffff.
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += p.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  assert.equal(sum, 0xffff);
});

test('IPv6 + UDP with the mandatory UDP checksum', () => {
  assert.equal(ipv6Bytes('::1').toString('hex'), '00000000000000000000000000000001');
  assert.equal(ipv6Bytes('2001:db8::8:1').toString('hex'), '20010db8000000000000000000080001');
  assert.equal(ipv6Bytes('::ffff:1.2.3.4').toString('hex'), '00000000000000000000ffff01020304');
  const p = udpPacket({ srcAddress: '::1', srcPort: 1, dstAddress: '::1', dstPort: 2 }, Buffer.from('x'));
  assert.equal(p.length, 49);
  assert.equal(p.subarray(0, 8).toString('hex'), '60000000' + '0009' + '11' + '40');
  // Pseudo-header sum + UDP sum including the checksum must fold to 0xffff.
  let sum = 0;
  for (let i = 8; i < 40; i += 2) sum += p.readUInt16BE(i);
  sum += 9 + 17;
  for (let i = 40; i + 1 < p.length; i += 2) sum += p.readUInt16BE(i);
  sum += p[p.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  assert.equal(sum, 0xffff);
  assert.throws(
    () => udpPacket({ srcAddress: '::1', srcPort: 1, dstAddress: '1.2.3.4', dstPort: 2 }, Buffer.alloc(0)),
    PcapError,
  );
});

function tshark(): boolean {
  return !spawnSync('tshark', ['--version']).error;
}

for (const family of ['IPv4', 'IPv6'] as const) {
  test(`tshark reads 50 recorded RTP packets as one stream without loss (${family})`, (t) => {
    if (!tshark()) {
      t.skip('MISSING PEER: tshark not installed');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'sipmedia-pcap-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const port = 30_000;
    const ep =
      family === 'IPv4'
        ? { srcAddress: '127.0.0.1', srcPort: 40_000, dstAddress: '127.0.0.2', dstPort: port }
        : { srcAddress: '::1', srcPort: 40_000, dstAddress: '2001:db8::2', dstPort: port };
    const parts = [pcapGlobalHeader()];
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 50; i++) {
      const rtp = serializeRtp(
        {
          marker: i === 0,
          payloadType: 0,
          sequenceNumber: 65_530 + i,
          timestamp: 1000 + 160 * i,
          ssrc: 0x12345678,
        },
        Buffer.alloc(160, 0xff),
      );
      parts.push(pcapUdpRecord(t0 + 20 * i, ep, rtp));
    }
    const file = join(dir, 'rtp.pcap');
    writeFileSync(file, Buffer.concat(parts));
    const r = spawnSync(
      'tshark',
      ['-n', '-r', file, '-d', `udp.port==${port},rtp`, '-q', '-z', 'rtp,streams'],
      {
        encoding: 'utf8',
        timeout: 25_000,
        env: { ...process.env, HOME: dir }, // keep tshark from touching a real profile
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => /0x12345678/i.test(l));
    assert.equal(rows.length, 1, r.stdout);
    // Columns: ... SSRC, payload, packets, lost (n (p%)), ...
    const m = /0x12345678\s+(\S+)\s+(\d+)\s+(-?\d+)\s+\(/i.exec(rows[0]!);
    assert.ok(m, rows[0]);
    assert.equal(Number(m[2]), 50, rows[0]);
    assert.equal(Number(m[3]), 0, rows[0]);
  });
}
