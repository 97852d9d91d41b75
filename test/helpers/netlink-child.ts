/**
 * Run inside a network namespace by test/dataplane/kernel-netlink.test.ts (a process cannot change its own
 * namespace): creates an owned table over netlink, adds N streams in one transaction, tries a bad delete,
 * dumps the counters, lets nft list the table, and prints what happened as JSON. The table goes when this
 * process exits.
 */
import { spawnSync } from 'node:child_process';
import { NetlinkSession } from '../../src/dataplane/kernel/netlink-session.js';
import { eachCounter, elementData, elementKey } from '../../src/dataplane/kernel/nft-netlink.js';

const n = Number(process.argv[2] ?? 1000);
const nl = NetlinkSession.connect();
const entry = (i: number) => ({
  src: `10.1.${i >> 8}.${i & 255}`,
  sport: 4000,
  laddr: '10.0.0.1',
  lport: 30000 + 2 * i,
  dst: '10.0.1.2',
  dport: 5000,
  eaddr: '10.0.1.1',
  eport: 32000 + 2 * i,
});
const created = await nl.apply(nl.batch('ip', 'bench').createTable(184));
const items = Array.from({ length: n }, (_, i): [Buffer, Buffer, number] => [
  elementKey('ip', entry(i)),
  elementData('ip', entry(i), 1),
  i + 1,
]);
const added = await nl.apply(nl.batch('ip', 'bench').addEgress(1, '10.0.1.1').addElements(items));
const badDelete = await nl.apply(
  nl.batch('ip', 'bench').deleteElements([elementKey('ip', { ...entry(0), src: '10.9.9.9' })]),
);
// Every record names one of the elements we added, by the id in its comment.
const want = new Set(items.map(([, , id]) => id));
let counters = 0;
eachCounter(await nl.counters('ip', 'bench'), (id, packets) => {
  if (want.delete(id) && packets === 0) counters++;
});
const listed = spawnSync('nft', ['list', 'table', 'ip', 'bench'], {
  encoding: 'utf8',
  maxBuffer: 64 << 20,
}).stdout;
process.stdout.write(
  JSON.stringify({
    created,
    added,
    badDelete,
    counters,
    // nft shows each element's id as its comment.
    commented: /counter packets 0 bytes 0 comment "1000"/.test(listed),
    listed: listed.replace(/elements = \{[^}]*\}/s, ''),
  }),
);
nl.close();
