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

/** One (route, method) pair: its latency histogram and its request counts by status. */
interface RouteSeries { counts: number[]; sum: number; count: number; byStatus: Map<number, number> }

export class MetricsRegistry {
  /** route → method → series: two lookups by existing strings, no key built per request. */
  private readonly routes = new Map<string, Map<string, RouteSeries>>();
  private readonly gauges = new Map<string, { help: string; collect: () => number | Sample[] }>();
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();

  /** Hot path (every request): two map lookups, one status count, one bucket scan. */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    let methods = this.routes.get(route);
    if (!methods) this.routes.set(route, (methods = new Map()));
    let series = methods.get(method);
    if (!series) methods.set(method, (series = { counts: new Array(BUCKETS.length).fill(0), sum: 0, count: 0, byStatus: new Map() }));
    series.byStatus.set(status, (series.byStatus.get(status) ?? 0) + 1);
    series.sum += seconds;
    series.count++;
    const counts = series.counts;
    for (let i = 0; i < BUCKETS.length; i++) if (seconds <= BUCKETS[i]!) { counts[i]!++; break; }
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
    for (const [route, methods] of this.routes) {
      for (const [method, series] of methods) {
        for (const [status, n] of series.byStatus) out.push(`bunker_http_requests_total${formatLabels({ method, route, status: String(status) })} ${n}`);
      }
    }
    out.push("# HELP bunker_http_request_duration_seconds HTTP request latency.");
    out.push("# TYPE bunker_http_request_duration_seconds histogram");
    for (const [route, methods] of this.routes) {
      for (const [method, h] of methods) {
        let cumulative = 0;
        BUCKETS.forEach((le, i) => {
          cumulative += h.counts[i]!;
          out.push(`bunker_http_request_duration_seconds_bucket${formatLabels({ method, route, le: String(le) })} ${cumulative}`);
        });
        out.push(`bunker_http_request_duration_seconds_bucket${formatLabels({ method, route, le: "+Inf" })} ${h.count}`);
        out.push(`bunker_http_request_duration_seconds_sum${formatLabels({ method, route })} ${h.sum}`);
        out.push(`bunker_http_request_duration_seconds_count${formatLabels({ method, route })} ${h.count}`);
      }
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
