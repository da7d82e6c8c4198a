/**
 * What the tests that run experiments share: quiet run options under a temporary folder, and the
 * tiny experiment on the committed synthetic dataset that the command, task and Ctrl-C tests run.
 *
 * @module
 */
import type { RunOptions } from "../src/pipeline.ts";
import { FileModelStore } from "../src/store/model_store.ts";

/**
 * Options of a run that prints nothing and keeps everything under `root`: `results/`,
 * `models/` and `checkpoints/`.
 *
 * @param root a temporary folder
 * @param extra options to add or override
 * @returns the run options
 */
export function quietRun(root: string, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    resultsDir: `${root}/results`,
    store: new FileModelStore(`${root}/models`),
    checkpointDir: `${root}/checkpoints`,
    log: () => {},
    write: () => {},
    tty: false,
    ...extra,
  };
}

/** Options of {@linkcode tinySynthYaml}. */
export interface TinySynthOptions {
  /** Training tickers, SYN01 on (default 6). */
  train?: number;
  /** Eval tickers, after the training ones (default 3). */
  eval?: number;
  /** The `model:` value (default a 1×4 vanilla.small). */
  model?: string;
  /** The lines after `loss:` (default 2 epochs on wasm). */
  rest?: string;
}

/**
 * A tiny direction experiment on `synth-small`: price features, a small MLP, a few epochs.
 *
 * @param name the experiment's name
 * @param o tickers, model and the lines after `loss:`
 * @returns the YAML text
 */
export function tinySynthYaml(name: string, o: TinySynthOptions = {}): string {
  const train = o.train ?? 6;
  const tickers = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => `SYN${String(from + i).padStart(2, "0")}`).join(", ");
  return `name: ${name}
data:
  dataset: synth-small
  train_tickers: [${tickers(1, train)}]
  eval_tickers: [${tickers(train + 1, o.eval ?? 3)}]
features:
  families:
    price: { ma_windows: [7, 90], close: false }
label: { mode: direction }
model: ${o.model ?? "{ family: vanilla.small, size: 4, layers: 1 }"}
loss: { name: bce }
${o.rest ?? "train: { epochs: 2, backend: wasm }\n"}`;
}

/**
 * A tiny direction experiment on the real Dow 30 data (`dow30-1991-2000`): 8 training and 4 eval
 * tickers, price and market features, a 2×8 MLP for 6 epochs on wasm, with ablation, Shapley values
 * and a loss target. Tests that need a variant pass `--set` overrides to `parseExperimentText`.
 */
export const TINY_DOW30 = `
name: tiny-direction
description: Tiny end-to-end run on the real Dow 30 data.
seed: 5
data:
  dataset: dow30-1991-2000
  train_tickers: [AA, AXP, BA, CAT, DD, EK, GE, GM]
  eval_tickers: [IBM, KO, MMM, PG]
features:
  families:
    price: { ma_windows: [30, 90], close: false, deltas: true }
    market: { series: [1year, 10year], deltas: true, missing: ffill, ffill_limit: 2 }
label: { mode: direction }
split: { method: ticker_and_time, eval_from: "1998-01-01" }
model: { family: vanilla.small, size: 8, layers: 2 }
loss: { name: bce }
train: { epochs: 6, batch_size: 32, patience: 50, backend: wasm }
backtest: { strategy: simple, mode: per_ticker }
analysis:
  ablation: { enabled: true }
  shap: { enabled: true, background: 4, explain: 4, permutations: 2 }
  loss_target: { r2: 0.8 }
`;
