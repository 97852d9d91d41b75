/** The INI dialect of rtpengine.conf: `[section]`, `key = value`, `#`/`;` comments. */
export type IniSections = Map<string, Map<string, string>>;

export function parseIni(text: string): IniSections {
  const out: IniSections = new Map();
  let current: Map<string, string> | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const sec = /^\[([^\]]+)\]$/.exec(line);
    if (sec) {
      const name = sec[1]!.trim();
      current = out.get(name) ?? new Map();
      out.set(name, current);
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`line ${i + 1}: expected 'key = value'`);
    if (!current) throw new Error(`line ${i + 1}: setting outside a [section]`);
    current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  });
  return out;
}
