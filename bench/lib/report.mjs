/**
 * Turns a bench run into ratios and a Markdown section of docs/benchmarks.md. Only the section between this
 * file's markers is replaced; other sections of the document (e.g. playback) are kept as they are.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fmt, median } from './stats.mjs';

const DOC = fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url));
const BEGIN =
  '<!-- bench:relay:begin (written by bench/run.mjs; keep other sections outside these markers) -->';
const END = '<!-- bench:relay:end -->';

const by = (rows, name) => rows.filter((r) => r.relay === name && !r.error);

/** Highest forwarded rate a relay sustained without saturating, and the step where it saturated. */
function saturation(rows, name) {
  const ok = by(rows, name).filter((r) => r.loss <= 0.001 && r.p99_us <= 100_000 && !r.generatorLimited);
  const best = ok.reduce((m, r) => (r.pps_forwarded > (m?.pps_forwarded ?? 0) ? r : m), undefined);
  // The ladder stops for a relay at its last row when that row failed (a step fails after two attempts).
  const last = rows.filter((r) => r.relay === name).at(-1);
  const failed =
    last && (last.error || last.loss > 0.001 || last.p99_us > 100_000 || last.generatorLimited)
      ? last
      : undefined;
  // Saturated for real: the ladder ended on loss or latency, not on an error or a starved generator.
  const isSaturated = Boolean(failed && !failed.error && !failed.generatorLimited);
  return { best, failed, saturated: isSaturated };
}

/** The sipmedia variant the targets are judged on: the native dataplane with one thread when it ran. */
function primary(names) {
  return (
    names.find((n) => n === 'sipmedia-native') ??
    names.find((n) => n === 'sipmedia') ??
    names.find((n) => n.startsWith('sipmedia'))
  );
}

export function computeRatios(res) {
  const names = [...new Set(res.fixed.map((r) => r.relay))];
  const sipNames = names.filter((n) => n.startsWith('sipmedia'));
  const main = primary(names);
  const firstCalls = res.plan.fixedCalls[0];
  const fixed = res.fixed.filter((r) => r.calls === firstCalls);
  // Ratio of the two relays' runs in the same round; `quiet` when neither run was flagged noisy.
  const perRound = (a, b) => {
    const rounds = [...new Set(fixed.map((r) => r.round))];
    return rounds.flatMap((k) => {
      const x = fixed.find((r) => r.relay === a && r.round === k && !r.error);
      const y = fixed.find((r) => r.relay === b && r.round === k && !r.error);
      return x && y ? [{ ratio: x.pktsPerCpuS / y.pktsPerCpuS, quiet: !x.noisy && !y.noisy }] : [];
    });
  };
  const out = { pktsPerCpu: {}, saturation: {}, setup: {} };
  for (const s of sipNames) {
    const others = s === main ? sipNames.filter((n) => n !== s) : [];
    for (const rt of ['rtpengine-1t', 'rtpengine-2t', ...others]) {
      if (!names.includes(rt)) continue;
      const rs = perRound(s, rt);
      out.pktsPerCpu[`${s} / ${rt}`] = {
        median: median(rs.map((r) => r.ratio)),
        quietMedian: median(rs.filter((r) => r.quiet).map((r) => r.ratio)),
        rounds: rs,
      };
    }
  }
  const sat = {};
  for (const n of [...new Set(res.saturation.map((r) => r.relay))]) sat[n] = saturation(res.saturation, n);
  // A relay whose ladder ended without saturating (an error, a starved generator, the top of the ladder) has a
  // lower bound only; a ratio against it is an upper bound and says nothing about meeting a target.
  for (const s of sipNames) {
    for (const rt of ['rtpengine-1t', 'rtpengine-2t']) {
      if (sat[s]?.best && sat[rt]?.best)
        out.saturation[`${s} / ${rt}`] = {
          ratio: sat[s].best.pps_forwarded / sat[rt].best.pps_forwarded,
          conclusive: sat[rt].saturated && sat[s].saturated,
          upperBound: !sat[rt].saturated,
        };
    }
  }
  const seq = (n) => median(by(res.sequential, n).map((r) => r.setupsPerS));
  for (const s of sipNames) {
    if (names.includes('rtpengine-1t')) out.setup[`${s} / rtpengine-1t`] = seq(s) / seq('rtpengine-1t');
  }
  return { out, sat, names, firstCalls, main };
}

function relayTable(rows) {
  const lines = [
    '| relay | calls | offered pps | forwarded pps | loss % | p50 / p99 / p99.9 latency (us) | relay cores | packets per relay CPU-s | other load (cores) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    if (r.error) {
      lines.push(`| ${r.relay} | ${r.calls} | | | failed: ${r.error} | | | | |`);
      continue;
    }
    lines.push(
      `| ${r.relay} | ${r.calls} | ${fmt(r.pps_offered)} | ${fmt(r.pps_forwarded)} | ${fmt(r.loss * 100, 3)} | ` +
        `${fmt(r.p50_us)} / ${fmt(r.p99_us)} / ${fmt(r.p999_us)} | ${fmt(r.relayCores, 2)} | ${fmt(r.pktsPerCpuS)} | ` +
        `${fmt(Math.max(0, r.otherCores), 2)}${r.noisy ? ' **noisy**' : ''}${r.generatorLimited ? ' generator-limited' : ''} |`,
    );
  }
  return lines.join('\n');
}

export function renderMarkdown(res) {
  const { out, sat, firstCalls, main } = computeRatios(res);
  const m = res.machine;
  const L = [];
  L.push('## Relay and call setup: sipmedia against rtpengine');
  L.push('');
  L.push(
    `Run ${res.date}${res.quick ? ' (quick mode: short windows, one round — indicative only)' : ''}, ${fmt(res.elapsedS)} s.`,
  );
  L.push('');
  L.push(`- Command: \`${res.command}\` (from \`npm run bench\`)`);
  L.push(
    `- Machine: ${m.nproc} x ${m.model}, ${m.memGiB} GiB, kernel ${m.kernel}, Node.js ${m.node}; rtpengine ${res.rtpengine || 'not installed'}`,
  );
  L.push('- Relays, each a fresh process per measurement, loopback only:');
  for (const [k, v] of Object.entries(res.commands)) L.push(`  - ${k}: \`${v}\``);
  L.push(
    '- Load: `bench/loadgen.c` (recvmmsg/sendmmsg), 50 packets/s per direction per call, 172-byte RTP packets carrying a send timestamp and sequence number; latency is one-way through the relay as the generator sees it.',
  );
  L.push(
    '- CPU: utime + stime of `/proc/<pid>/stat` (all threads) over exactly the measured window. "Other load" is the machine\'s busy time (`/proc/stat`) minus relay and generator: this machine is shared, runs with other load above 0.5 cores (during, or in the 300 ms before) are flagged **noisy**.',
  );
  L.push('');
  L.push(
    `### Packets per relay CPU-second at ${firstCalls} calls (${firstCalls * 100} pps), A/B alternation`,
  );
  L.push('');
  for (const [k, v] of Object.entries(out.pktsPerCpu)) {
    const rounds = v.rounds.map((r) => `${fmt(r.ratio, 2)}${r.quiet ? '' : '*'}`).join(', ');
    L.push(
      `- **${k}: ${fmt(v.median, 2)}** (median of rounds ${rounds}; quiet rounds only: ${fmt(v.quietMedian, 2)}; * = a run of the pair was noisy)`,
    );
  }
  L.push('');
  L.push(relayTable(res.fixed));
  L.push('');
  L.push('### Saturation (highest step with <= 0.1 % loss and p99 <= 100 ms)');
  L.push('');
  L.push('| relay | sustained (forwarded pps) | calls | first failing step |');
  L.push('|---|---|---|---|');
  for (const [n, s] of Object.entries(sat)) {
    const f = s.failed;
    const why = !f
      ? 'none (ladder or port range exhausted)'
      : f.error
        ? `${f.calls} calls: ${f.error}`
        : f.generatorLimited
          ? `${f.calls} calls: inconclusive, the generator could only offer ${fmt(f.pps_offered)} pps`
          : `${f.calls} calls: loss ${fmt(f.loss * 100, 2)} %, p99 ${fmt(f.p99_us / 1000, 1)} ms`;
    const bound = s.saturated ? '' : '>= ';
    L.push(
      `| ${n} | ${s.best ? `${bound}${fmt(s.best.pps_forwarded)}` : '-'} | ${s.best?.calls ?? '-'} | ${why} |`,
    );
  }
  L.push('');
  for (const [k, v] of Object.entries(out.saturation)) {
    const note = v.conclusive
      ? ''
      : v.upperBound
        ? ' (upper bound: the reference did not saturate)'
        : ' (lower bound)';
    L.push(`- **${k}: ${v.upperBound ? '<= ' : ''}${fmt(v.ratio, 2)}**${note}`);
  }
  L.push('');
  L.push('<details><summary>every saturation step</summary>');
  L.push('');
  L.push(relayTable(res.saturation));
  L.push('');
  L.push('</details>');
  L.push('');
  L.push('### Call setup');
  L.push('');
  L.push(
    '| relay | calls | setups/s (offer+answer, one at a time) | cold: first setups after start, per s | offer p50 / p99 (us) | answer p50 / p99 (us) | RSS per idle call (KiB): cold / warm |',
  );
  L.push('|---|---|---|---|---|---|---|');
  for (const r of res.sequential) {
    L.push(
      `| ${r.relay} | ${r.calls} | ${fmt(r.setupsPerS)} | ${fmt(r.coldSetupsPerS)} | ${fmt(r.offerP50Us)} / ${fmt(r.offerP99Us)} | ${fmt(r.answerP50Us)} / ${fmt(r.answerP99Us)} | ${fmt(r.coldRssPerCallKiB, 1)} / ${fmt(r.rssPerCallKiB, 1)}${r.noisy ? ' **noisy**' : ''} |`,
    );
  }
  L.push('');
  L.push('| relay | setups at 500/s | offer p50 / p99 (us) | answer p50 / p99 (us) | failed |');
  L.push('|---|---|---|---|---|');
  for (const r of res.paced) {
    L.push(
      `| ${r.relay} | ${r.calls} | ${fmt(r.offerP50Us)} / ${fmt(r.offerP99Us)} | ${fmt(r.answerP50Us)} / ${fmt(r.answerP99Us)} | ${r.failed}${r.noisy ? ' **noisy**' : ''} |`,
    );
  }
  L.push('');
  for (const [k, v] of Object.entries(out.setup)) L.push(`- setup rate **${k}: ${fmt(v, 2)}**`);
  L.push('');
  L.push('### Issue 7 targets');
  L.push('');
  const sip = main;
  L.push(`Targets judged on ${sip}; saturation on the best sipmedia variant.`);
  L.push('');
  const r1 = out.pktsPerCpu[`${sip} / rtpengine-1t`];
  const ratio1 = Number.isFinite(r1?.quietMedian) ? r1.quietMedian : r1?.median;
  const bestSip = Math.max(
    ...Object.entries(sat)
      .filter(([n]) => n.startsWith('sipmedia'))
      .map(([, s]) => s.best?.pps_forwarded ?? 0),
  );
  const rt2 = sat['rtpengine-2t']?.best?.pps_forwarded;
  const rt2Saturated = sat['rtpengine-2t']?.saturated;
  const at300 = res.fixed.filter((r) => r.relay === sip && r.calls === 300 && !r.error);
  const pacedSip = res.paced.filter((r) => r.relay === sip);
  const seqSip = by(res.sequential, sip);
  const yes = (b) => (b ? 'met' : '**not met**');
  L.push('| target | measured | |');
  L.push('|---|---|---|');
  L.push(
    `| packets per CPU-s >= rtpengine 1 thread at 20 k pps | ratio ${fmt(ratio1, 2)} | ${yes(ratio1 >= 1)} |`,
  );
  L.push(
    `| saturation >= 1.3 x rtpengine 2 threads | ${fmt(bestSip)} vs ${rt2Saturated ? '' : '>= '}${fmt(rt2)} pps = ${rt2Saturated ? '' : '<= '}${fmt(rt2 ? bestSip / rt2 : Number.NaN, 2)} | ${rt2Saturated ? yes(bestSip / rt2 >= 1.3) : '**inconclusive** (rtpengine 2 threads did not saturate)'} |`,
  );
  if (at300.length)
    L.push(
      `| zero loss, p99 < 2 ms at 300 calls | ${at300.map((r) => `${r.relay}: loss ${fmt(r.loss * 100, 3)} %, p99 ${fmt(r.p99_us)} us`).join('; ')} | ${yes(at300.every((r) => r.loss === 0 && r.p99_us < 2000))} |`,
    );
  const setupRatio = out.setup[`${sip} / rtpengine-1t`];
  L.push(`| setup rate >= rtpengine | ratio ${fmt(setupRatio, 2)} | ${yes(setupRatio >= 1)} |`);
  const p99 = Math.max(...pacedSip.map((r) => r.offerP99Us));
  L.push(`| offer p99 < 2 ms at 500 setups/s | ${fmt(p99)} us | ${yes(p99 < 2000)} |`);
  const rssWarm = median(seqSip.map((r) => r.rssPerCallKiB));
  const rssCold = median(seqSip.map((r) => r.coldRssPerCallKiB ?? Number.NaN));
  const rss = Number.isFinite(rssCold) ? Math.max(rssCold, rssWarm) : rssWarm;
  L.push(
    `| idle memory per call < 20 KiB | ${fmt(rssCold, 1)} KiB cold, ${fmt(rssWarm, 1)} KiB warm (judged on the larger) | ${yes(rss < 20)} |`,
  );
  return L.join('\n');
}

export function writeReport(res, { writeDocs }) {
  const md = renderMarkdown(res);
  if (writeDocs) {
    const section = `${BEGIN}\n${md}\n${END}`;
    let doc = existsSync(DOC) ? readFileSync(DOC, 'utf8') : '# Benchmarks\n';
    const a = doc.indexOf(BEGIN);
    const b = doc.indexOf(END);
    if (a >= 0 && b > a) doc = `${doc.slice(0, a)}${section}${doc.slice(b + END.length)}`;
    else doc = `${doc.trimEnd()}\n\n${section}\n`;
    writeFileSync(DOC, doc);
  }
  return md;
}
