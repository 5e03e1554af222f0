/**
 * The results as a plain-text table that fits 120 columns: one section per suite, long measurement names
 * wrapped, and the name of each limit given once, as a numbered note under the table.
 */
import { meetsTarget, ratioToLimit, type Measurement } from './harness.js';

export const tableWidth = 120;
const widths = { measurement: 44, annals: 17, limit: 21, ratio: 6, target: 24 };

const rateUnits: Record<string, string> = { 'events/s': 'ev/s', 'commands/s': 'cmd/s', 'requests/s': 'req/s' };

const format = (value: number, unit: string) =>
  unit in rateUnits
    ? `${Math.round(value).toLocaleString('en-US')} ${rateUnits[unit]}`
    : unit === 'x'
      ? `${value.toFixed(2)}x`
      : `${value.toFixed(2)} ${unit}`;

/** Splits text into lines of at most `width` characters, at spaces where it can. */
const wrap = (text: string, width: number): string[] => {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    for (let rest = word; rest.length > 0;) {
      const room = line === '' ? width : width - line.length - 1;
      if (rest.length <= room) {
        line = line === '' ? rest : `${line} ${rest}`;
        rest = '';
      } else if (line !== '') {
        lines.push(line);
        line = '';
      } else {
        lines.push(rest.slice(0, width));
        rest = rest.slice(width);
      }
    }
  }
  return [...lines, line].filter((item) => item !== '');
};

const verdict = (m: Measurement, scale: number): string => {
  if (m.target === undefined) return '';
  const met = meetsTarget(m, scale);
  return `${m.target}: ${met === undefined ? 'n/a' : met ? 'met' : 'MISSED'}`;
};

export const renderTable = (results: { suite: string; skipped?: string; measurements: Measurement[] }[], scale: number): string => {
  const notes: string[] = [];
  const noteOf = (name: string) => {
    if (!notes.includes(name)) notes.push(name);
    return notes.indexOf(name) + 1;
  };
  const row = (cells: [string, string, string, string, string]) =>
    [
      cells[0].padEnd(widths.measurement),
      cells[1].padStart(widths.annals),
      cells[2].padStart(widths.limit),
      cells[3].padStart(widths.ratio),
      cells[4].padEnd(widths.target),
    ]
      .join('  ')
      .trimEnd();
  const out = [row(['measurement', 'annals', 'limit underneath', 'x', 'target']), '-'.repeat(tableWidth)];
  for (const { suite, skipped, measurements } of results) {
    out.push(skipped === undefined ? `${suite}` : `${suite}: skipped (${skipped})`.slice(0, tableWidth));
    for (const m of measurements) {
      const ratio = ratioToLimit(m);
      const limit = m.limit === undefined ? '' : `${format(m.limit.value, m.unit)} [${noteOf(m.limit.name)}]`;
      const [first = '', ...more] = wrap(m.name, widths.measurement - 2);
      out.push(row([`  ${first}`, format(m.value, m.unit), limit, ratio === undefined ? '' : `${ratio.toFixed(2)}x`, verdict(m, scale)]));
      for (const line of more) out.push(`    ${line}`);
    }
  }
  out.push('', 'limits underneath, measured in the same run:');
  notes.forEach((name, index) => out.push(...wrap(`[${index + 1}] ${name}`, tableWidth)));
  if (scale < 1) out.push('', `scale ${scale}: absolute targets do not apply below scale 1 (n/a); ratios to the limit do.`);
  return out.join('\n');
};
