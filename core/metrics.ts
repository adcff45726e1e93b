// Prometheus text metrics: HTTP requests and latency, plus gauges and counters plugins register.
type Labels = Record<string, string>;
type Sample = { labels?: Labels; value: number };

export interface Counter {
  inc(labels?: Labels, by?: number): void;
}

export interface Metrics {
  /** A gauge read at scrape time; the collector returns one number or labelled samples. */
  gauge(name: string, help: string, collect: () => number | Sample[]): void;
  counter(name: string, help: string): Counter;
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const formatLabels = (labels?: Labels) => {
  if (!labels) return "";
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
};

interface Histogram { counts: number[]; sum: number; count: number }

export class MetricsRegistry {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly gauges = new Map<string, { help: string; collect: () => number | Sample[] }>();
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();

  /** Hot path: one map update and one bucket scan per request. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    const hKey = `${method}\u0000${route}`;
    let h = this.latency.get(hKey);
    if (!h) this.latency.set(hKey, (h = { counts: new Array(BUCKETS.length).fill(0), sum: 0, count: 0 }));
    h.sum += seconds;
    h.count++;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) { h.counts[i]!++; break; }
  }

  forPlugin(plugin: string): Metrics {
    const prefixed = (name: string) => {
      const full = name.startsWith("bunker_") ? name : `bunker_${plugin.replace(/-/g, "_")}_${name}`;
      if (!METRIC_NAME.test(full)) throw new Error(`metric name "${full}" is not a valid Prometheus name`);
      return full;
    };
    return {
      gauge: (name, help, collect) => void this.gauges.set(prefixed(name), { help, collect }),
      counter: (name, help) => {
        const full = prefixed(name);
        const entry = this.counters.get(full) ?? { help, values: new Map<string, number>() };
        this.counters.set(full, entry);
        return {
          inc(labels, by = 1) {
            const key = formatLabels(labels);
            entry.values.set(key, (entry.values.get(key) ?? 0) + by);
          },
        };
      },
    };
  }

  render(): string {
    const out: string[] = [];
    out.push("# HELP bunker_http_requests_total HTTP requests by method, route and status.");
    out.push("# TYPE bunker_http_requests_total counter");
    for (const [key, n] of this.requests) {
      const [method, route, status] = key.split("\u0000") as [string, string, string];
      out.push(`bunker_http_requests_total${formatLabels({ method, route, status })} ${n}`);
    }
    out.push("# HELP bunker_http_request_duration_seconds HTTP request latency.");
    out.push("# TYPE bunker_http_request_duration_seconds histogram");
    for (const [key, h] of this.latency) {
      const [method, route] = key.split("\u0000") as [string, string];
      let cumulative = 0;
      BUCKETS.forEach((le, i) => {
        cumulative += h.counts[i]!;
        out.push(`bunker_http_request_duration_seconds_bucket${formatLabels({ method, route, le: String(le) })} ${cumulative}`);
      });
      out.push(`bunker_http_request_duration_seconds_bucket${formatLabels({ method, route, le: "+Inf" })} ${h.count}`);
      out.push(`bunker_http_request_duration_seconds_sum${formatLabels({ method, route })} ${h.sum}`);
      out.push(`bunker_http_request_duration_seconds_count${formatLabels({ method, route })} ${h.count}`);
    }
    for (const [name, g] of this.gauges) {
      out.push(`# HELP ${name} ${g.help}`, `# TYPE ${name} gauge`);
      let value: number | Sample[];
      try {
        value = g.collect();
      } catch {
        continue;
      }
      if (typeof value === "number") out.push(`${name} ${value}`);
      else for (const s of value) out.push(`${name}${formatLabels(s.labels)} ${s.value}`);
    }
    for (const [name, c] of this.counters) {
      out.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      for (const [labels, n] of c.values) out.push(`${name}${labels} ${n}`);
    }
    return out.join("\n") + "\n";
  }
}
