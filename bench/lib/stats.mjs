/** Small figures helpers shared by the bench reports. */

/** A number with `d` decimals, or '-' when there is none. */
export const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');

/** Median of the finite values (the mean of the middle two for an even count); NaN when there are none. */
export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
