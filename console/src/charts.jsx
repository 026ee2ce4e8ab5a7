// Two small SVG charts drawn by hand: a charting library would cost more than the whole console.
// Amounts arrive as decimal strings; they become numbers only to size a bar, never to be shown.

/** Columns over time (one per row), positive up and negative down from a zero line. */
export function Columns({ rows, label }) {
  if (!rows.length) return <p class="muted">nothing realised in this range</p>;
  const values = rows.map((r) => Number(r.value));
  const top = Math.max(0, ...values);
  const bottom = Math.min(0, ...values);
  const span = top - bottom || 1;
  const width = 600;
  const height = 160;
  const step = width / rows.length;
  const zero = (top / span) * height;
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height + 20}`} role="img" aria-label={label}>
      <line x1="0" x2={width} y1={zero} y2={zero} class="axis" />
      {rows.map((row, i) => {
        const value = values[i];
        const size = (Math.abs(value) / span) * height;
        return (
          <g key={row.key}>
            <rect x={i * step + step * 0.15} width={step * 0.7} y={value >= 0 ? zero - size : zero} height={Math.max(size, 1)} class={value < 0 ? "bar neg" : "bar"}>
              <title>{`${row.key}: ${row.value}`}</title>
            </rect>
            {(rows.length <= 10 || i % Math.ceil(rows.length / 8) === 0) && (
              <text x={i * step + step / 2} y={height + 15} class="tick" text-anchor={i === 0 ? "start" : i === rows.length - 1 ? "end" : "middle"}>{row.key.slice(5)}</text>
            )}
          </g>
        );
      })}
    </svg>
  );
}

/** One horizontal bar per row, scaled to the largest magnitude, its exact value written beside it. */
export function Bars({ rows, label }) {
  if (!rows.length) return <p class="muted">none</p>;
  const largest = Math.max(...rows.map((r) => Math.abs(Number(r.value)))) || 1;
  return (
    <ul class="bars" aria-label={label}>
      {rows.map((row) => {
        const value = Number(row.value);
        return (
          <li key={row.key}>
            <span class="bar-key">{row.key}</span>
            <span class="bar-track">
              <span class={value < 0 ? "bar-fill neg" : "bar-fill"} style={{ width: `${(Math.abs(value) / largest) * 100}%` }} />
            </span>
            <span class="bar-value">{row.text ?? row.value}</span>
          </li>
        );
      })}
    </ul>
  );
}
