/**
 * The sequence families' names and defaults, without tfjs: what the config's semantic checks
 * and the registry share (`./sequence.ts` builds the models).
 *
 * @module
 */

/** The sequence families, in the schema's order. */
export const SEQUENCE_FAMILIES = ["lstm", "gru", "conv-lstm", "transformer"] as const;
/** One of {@linkcode SEQUENCE_FAMILIES}. */
export type SequenceFamily = typeof SEQUENCE_FAMILIES[number];

/**
 * Whether a family reads a window (and so needs `features.sequence`).
 *
 * @param family a model family
 * @returns true for `lstm`, `gru`, `conv-lstm` and `transformer`
 */
export function isSequenceFamily(family: string): family is SequenceFamily {
  return (SEQUENCE_FAMILIES as readonly string[]).includes(family);
}

/** Defaults of the sequence families (what `model:` does not say). */
export const SEQUENCE_DEFAULTS = Object.freeze({
  /** Recurrent units (lstm, gru, conv-lstm) or model width (transformer). */
  size: 64,
  /** Stacked recurrent layers. */
  recurrentLayers: 1,
  /** Transformer encoder blocks. */
  transformerLayers: 2,
  /** Transformer attention heads. */
  heads: 4,
  /** Transformer positions. */
  positions: "sinusoidal" as const,
  /** Transformer pooling. */
  pooling: "mean" as const,
  /** conv-lstm's Conv1D stack (the schema's defaults of `model.conv`). */
  conv: Object.freeze({ filters: 32, kernel: 5, layers: 1 }),
});
