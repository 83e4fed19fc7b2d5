import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { EncoderRun } from '../models/encoders';

/** Prometheus metrics of one service instance (own registry, so tests can run several). */
export class Metrics {
  readonly registry = new Registry();
  private histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]) {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
  readonly httpDuration = this.histogram(
    'http_request_duration_seconds',
    'HTTP request latency',
    ['method', 'route', 'status'],
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly encoderDuration = this.histogram(
    'encoder_run_duration_seconds',
    'Time of one encoder run (a batch)',
    ['kind'],
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  );
  readonly encodedItems = this.counter('encoder_items_total', 'Images and texts encoded', ['kind']);
  readonly ingestItems = this.counter('ingest_items_total', 'Ingest items finished, by result', ['result']);
  readonly ocrDuration = this.histogram(
    'ocr_duration_seconds',
    'OCR of one image (decode, detection, recognition, storing), by result',
    ['result'],
    [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  readonly stageDuration = this.histogram(
    'stage_item_duration_seconds',
    'One item of a background image stage (duplicates, auto tags, captions), by stage and outcome',
    ['stage', 'state'],
    [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  );
  readonly rateLimited = new Counter({ name: 'http_rate_limited_total', help: 'Requests refused by the per-key rate limit', registers: [this.registry] });
  /** Read at scrape time; set once the encoder and the ingest queue exist. */
  probes = { encoderQueue: () => 0, ingestQueue: () => 0 };

  private probe(name: keyof Metrics['probes']) {
    const probes = () => this.probes;
    return function (this: Gauge) {
      this.set(probes()[name]());
    };
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: 'encoder_queue_depth', help: 'Encoder runs waiting for a slot', registers: [this.registry], collect: this.probe('encoderQueue') });
    new Gauge({ name: 'ingest_queue_depth', help: 'Ingest jobs queued or running', registers: [this.registry], collect: this.probe('ingestQueue') });
  }

  onEncoderRun = (run: EncoderRun): void => {
    this.encoderDuration.observe({ kind: run.kind }, run.ms / 1000);
    this.encodedItems.inc({ kind: run.kind }, run.items);
  };

  onOcr = (r: { result: string; ms: number }): void => {
    this.ocrDuration.observe({ result: r.result }, r.ms / 1000);
  };

  onStage = (stage: string, a: { state: string; ms: number }): void => {
    this.stageDuration.observe({ stage, state: a.state }, a.ms / 1000);
  };

  onIngestProgress = (d: { done?: number; skipped?: number; failed?: number }): void => {
    for (const result of ['done', 'skipped', 'failed'] as const) if (d[result]) this.ingestItems.inc({ result }, d[result]);
  };
}
