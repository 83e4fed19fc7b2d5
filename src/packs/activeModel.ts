import type { VectorCollection } from '../store/vectorStore';
import type { ModelPack } from '../models/modelPack';

/** A model pack and the collections its vectors live in (each pack has its own: vectors of two models never mix). */
export interface ModelInUse {
  readonly pack: ModelPack;
  readonly images: VectorCollection;
  readonly texts: VectorCollection;
}

/** Where services read the model in use from; tests and tools may hand a fixed one. */
export interface ModelSource {
  readonly current: ModelInUse;
}

export const fixedModel = (model: ModelInUse): ModelSource => ({ current: model });

/**
 * The model the service encodes with, replaced whole when the pack changes (the real model arriving after
 * a first start on the test pack, a models:fetch while the service runs). Every operation reads `current`
 * once and keeps that snapshot, so a search never encodes with one pack and looks in another's collection.
 */
export class ActiveModel implements ModelSource {
  private readonly listeners = new Set<(next: ModelInUse, previous: ModelInUse) => void>();

  constructor(private model: ModelInUse) {}

  get current(): ModelInUse {
    return this.model;
  }

  /** Makes `next` the model in use and tells the listeners; returns the one replaced, for its owner to close. */
  replace(next: ModelInUse): ModelInUse {
    const previous = this.model;
    this.model = next;
    for (const l of this.listeners) l(next, previous);
    return previous;
  }

  onChange(listener: (next: ModelInUse, previous: ModelInUse) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/**
 * Calls `listener(busy)` as queries start and stop waiting for the encoder of the pack in use (see
 * EncoderGate.watchQueries), following each next pack; returns the way to stop.
 */
export function followQueries(model: ActiveModel, listener: (busy: boolean) => void): () => void {
  let unwatch = model.current.pack.gate.watchQueries(listener);
  const unfollow = model.onChange((next) => {
    unwatch();
    listener(false);
    unwatch = next.pack.gate.watchQueries(listener);
  });
  return () => {
    unfollow();
    unwatch();
  };
}
