/**
 * Cross-field checks that a schema cannot express key by key: the loss must
 * suit the label, strategies must suit the label, thresholds must be ordered,
 * train and eval tickers must not overlap (except under a `by_time` split, which shares them
 * with a warning), the purge must cover the label
 * horizon, and so on.
 *
 * @module
 */
import { DailySequenceField, type Experiment, synthDatasetName } from "./schema.ts";
import { isSequenceFamily, SEQUENCE_DEFAULTS, SEQUENCE_FAMILIES } from "../models/sequence_spec.ts";

/** A semantic problem at a key path of a parsed experiment (located by the loader). */
export interface SemanticIssue {
  /** Key path of the value to fix. */
  path: (string | number)[];
  /** What is wrong and what is allowed. */
  message: string;
}

const REGRESSION_LOSSES = ["mse", "huber", "mse-sign", "huber-sign", "sign-ratio"];
const MAGNITUDE_STRATEGIES = ["top_magnitude", "long_short_top_k"];
const DIRECTION_STRATEGIES = ["simple", "nuanced"];

/**
 * Checks the cross-field rules of a schema-valid experiment.
 *
 * @param e A parsed experiment (defaults filled in).
 * @returns Every rule it breaks; empty when it is consistent.
 * @example
 * ```ts
 * semanticIssues(Experiment.parse(raw)); // [{ path: ["loss", "name"], message: "..." }]
 * ```
 */
export function semanticIssues(e: Experiment): SemanticIssue[] {
  const out: SemanticIssue[] = [];
  const mode = e.label.mode;

  if (e.loss.name === "bce" && mode !== "direction") {
    out.push({
      path: ["loss", "name"],
      message: `loss "bce" needs label.mode "direction", but label.mode is "${mode}": ` +
        `use a regression loss, one of ${REGRESSION_LOSSES.map((l) => `"${l}"`).join(", ")}`,
    });
  } else if (e.loss.name !== "bce" && mode === "direction") {
    out.push({
      path: ["loss", "name"],
      message: `loss "${e.loss.name}" is a regression loss and needs label.mode "magnitude", ` +
        `but label.mode is "direction": use "bce"`,
    });
  }

  if (MAGNITUDE_STRATEGIES.includes(e.backtest.strategy) && mode !== "magnitude") {
    out.push({
      path: ["backtest", "strategy"],
      message:
        `strategy "${e.backtest.strategy}" ranks predicted magnitudes and needs label.mode ` +
        `"magnitude", but label.mode is "${mode}": with "direction" use one of ` +
        DIRECTION_STRATEGIES.map((s) => `"${s}"`).join(", "),
    });
  }

  if (MAGNITUDE_STRATEGIES.includes(e.backtest.strategy) && e.backtest.mode !== "portfolio") {
    out.push({
      path: ["backtest", "mode"],
      message: `strategy "${e.backtest.strategy}" ranks tickers against each other and needs ` +
        `backtest.mode "portfolio", but it is "${e.backtest.mode}"`,
    });
  }

  if (e.backtest.strategy === "nuanced") {
    const { short_threshold: s, exit_threshold: x, long_threshold: l } = e.backtest;
    if (!(s < x && x < l)) {
      out.push({
        path: ["backtest", s >= x ? "short_threshold" : "exit_threshold"],
        message: "nuanced thresholds must satisfy short_threshold < exit_threshold < " +
          `long_threshold, got ${s}, ${x}, ${l}`,
      });
    }
  }

  const news = e.features.families.news;
  if (news) {
    const at = ["features", "families", "news"];
    if (news.digester === "llm" && !news.llm) {
      out.push({
        path: [...at, "digester"],
        message: 'digester "llm" needs an endpoint: add llm: { url: ..., model: ... }',
      });
    }
    if (news.digester === "lexicon" && news.llm) {
      out.push({
        path: [...at, "llm"],
        message: 'llm: is set but digester is "lexicon": set digester: llm or remove llm:',
      });
    }
    if (news.events && news.digester !== "llm") {
      out.push({
        path: [...at, "events"],
        message: 'events: true needs digester "llm": the lexicon digester tags no event types',
      });
    }
  }

  out.push(...sequenceIssues(e.features));
  out.push(...synthIssues(e.data));

  const train = e.data.train_tickers;
  const evalT = e.data.eval_tickers;
  for (const [side, list] of [["train_tickers", train], ["eval_tickers", evalT]] as const) {
    if (!Array.isArray(list)) continue;
    const seen = new Set<string>();
    list.forEach((t, i) => {
      if (seen.has(t)) {
        out.push({ path: ["data", side, i], message: `ticker "${t}" is listed twice` });
      }
      seen.add(t);
    });
  }
  // A by_time split separates train and eval by period only: shared tickers are allowed, and
  // the split warns that only the period is unseen for them.
  if (Array.isArray(train) && Array.isArray(evalT) && e.split.method !== "by_time") {
    const inTrain = new Set(train);
    evalT.forEach((t, i) => {
      if (inTrain.has(t)) {
        out.push({
          path: ["data", "eval_tickers", i],
          message: `ticker "${t}" is also in data.train_tickers: ` +
            `train and eval tickers must not overlap under split.method "${e.split.method}" ` +
            "(only by_time may share them)",
        });
      }
    });
  }
  if (
    !Array.isArray(train) && !Array.isArray(evalT) && train.select === "rest" &&
    evalT.select === "rest"
  ) {
    out.push({
      path: ["data", "eval_tickers", "select"],
      message: `"rest" on both sides leaves nothing to pick from: list or select the train tickers`,
    });
  }

  if (e.split.purge !== undefined && e.split.purge < e.label.horizon) {
    out.push({
      path: ["split", "purge"],
      message:
        `expected at least label.horizon (${e.label.horizon}) quarters, got ${e.split.purge}: ` +
        "a shorter purge lets eval-period prices leak into training labels",
    });
  }

  if (
    e.train.engine === "fused" && !["webgpu", "cpu-blas", "wasm", "auto"].includes(e.train.backend)
  ) {
    out.push({
      path: ["train", "engine"],
      message: `engine "fused" runs only on backend "webgpu", "cpu-blas", "wasm" or "auto", but ` +
        `train.backend is "${e.train.backend}": use one of them, or engine "tfjs"`,
    });
  }

  out.push(...modelIssues(e));

  const { from, to } = e.data;
  if (from !== undefined && to !== undefined && from >= to) {
    out.push({
      path: ["data", "to"],
      message: `expected a date after data.from ("${from}"), got "${to}"`,
    });
  }
  const evalFrom = e.split.eval_from;
  if (evalFrom !== undefined) {
    if (from !== undefined && evalFrom <= from) {
      out.push({
        path: ["split", "eval_from"],
        message: `expected a date after data.from ("${from}"), got "${evalFrom}"`,
      });
    } else if (to !== undefined && evalFrom > to) {
      out.push({
        path: ["split", "eval_from"],
        message: `expected a date on or before data.to ("${to}"), got "${evalFrom}"`,
      });
    }
  }
  return out;
}

const quote = (xs: readonly string[]) => xs.map((x) => `"${x}"`).join(", ");

/**
 * The model keys that only some families take, and what a sequence family needs: a sequence
 * family needs `features.sequence`; `heads`, `ff_size`, `positions` and `pooling` are the
 * transformer's, `conv` is conv-lstm's; the sequence families have no `normalization` (the
 * transformer's layer norms are part of its blocks) and no hidden `activation` (their gates'
 * are fixed), so only the defaults (`none`, `relu`) pass; `heads` must divide `size`.
 */
function modelIssues(e: Experiment): SemanticIssue[] {
  const out: SemanticIssue[] = [];
  const m = e.model;
  const family = m.family;
  const sequenceFamily = isSequenceFamily(family);
  if (sequenceFamily && !e.features.sequence) {
    out.push({
      path: ["model", "family"],
      message: `model family "${family}" reads a window of history and needs features.sequence: ` +
        `add features: { sequence: { source: daily } } (or source: quarterly), or use an MLP family`,
    });
  }
  if (family !== "transformer") {
    for (const key of ["heads", "ff_size", "positions", "pooling"] as const) {
      if (m[key] !== undefined) {
        out.push({
          path: ["model", key],
          message: `model.${key} is taken by model family "transformer" only, ` +
            `but model.family is "${family}": remove it or use family "transformer"`,
        });
      }
    }
  }
  if (family !== "conv-lstm" && m.conv !== undefined) {
    out.push({
      path: ["model", "conv"],
      message: `model.conv is taken by model family "conv-lstm" only, ` +
        `but model.family is "${family}": remove it or use family "conv-lstm"`,
    });
  }
  if (sequenceFamily) {
    const mlps = "the MLP families (vanilla.*)";
    if (m.normalization !== undefined && m.normalization !== "none") {
      out.push({
        path: ["model", "normalization"],
        message: `model.normalization "${m.normalization}" is taken by ${mlps} only, ` +
          `not by the sequence families (${quote(SEQUENCE_FAMILIES)}): remove it`,
      });
    }
    if (m.activation !== "relu") {
      out.push({
        path: ["model", "activation"],
        message: `model.activation "${m.activation}" is taken by ${mlps} only: the sequence ` +
          `families (${quote(SEQUENCE_FAMILIES)}) have fixed activations; remove it`,
      });
    }
  }
  if (family === "transformer") {
    const size = m.size ?? SEQUENCE_DEFAULTS.size;
    const heads = m.heads ?? SEQUENCE_DEFAULTS.heads;
    if (size % heads !== 0) {
      out.push({
        path: ["model", m.heads !== undefined ? "heads" : "size"],
        message:
          `model.heads (${heads}) must divide model.size (${size}): each head attends over ` +
          `size / heads of the width`,
      });
    }
  }
  return out;
}

/**
 * The window's config-only problems (what the dataset can give is checked against it later, by
 * `checkData`): a daily field name that is not one, a field listed twice, `features.exclude` with
 * a daily window (it names family columns, which a daily window does not hold).
 */
function sequenceIssues(features: Experiment["features"]): SemanticIssue[] {
  const cfg = features.sequence;
  if (!cfg) return [];
  const out: SemanticIssue[] = [];
  const daily: readonly string[] = DailySequenceField.options;
  const seen = new Set<string>();
  (cfg.fields ?? []).forEach((f, i) => {
    const path = ["features", "sequence", "fields", i];
    if (seen.has(f)) out.push({ path, message: `field "${f}" is listed twice` });
    seen.add(f);
    if (cfg.source === "daily" && !daily.includes(f)) {
      out.push({
        path,
        message: `"${f}" is not a daily field: expected one of ${
          daily.map((d) => `"${d}"`).join(", ")
        } (feature columns are the fields of a source: quarterly window)`,
      });
    }
  });
  if (cfg.source === "daily" && features.exclude.length > 0) {
    out.push({
      path: ["features", "exclude"],
      message: "features.exclude names family columns, which a source: daily window does not " +
        "hold: choose the window's inputs with features.sequence.fields",
    });
  }
  return out;
}

/** What `data.dataset` may be with `data.synth`: a folder name of the cache, not a path. */
const SYNTH_DATASET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * `data.synth`'s cross-field rules (its ranges are the schema's): the generated dataset's name is
 * a name, not a path; at most one sector per ticker; `from` before `to`; the run's data window
 * (`data.from`..`data.to`) overlaps the generated span. Nothing is generated to check them.
 */
function synthIssues(data: Experiment["data"]): SemanticIssue[] {
  const synth = data.synth;
  if (!synth) return [];
  const out: SemanticIssue[] = [];
  if (!SYNTH_DATASET_NAME.test(data.dataset)) {
    out.push({
      path: ["data", "dataset"],
      message: `with data.synth, data.dataset names the generated dataset: expected a name ` +
        `(letters, digits, '.', '_' or '-', at most 64), got "${data.dataset}"; remove it for ` +
        `the default "${synthDatasetName(synth)}"`,
    });
  }
  if (synth.sectors !== undefined && synth.sectors > synth.tickers) {
    out.push({
      path: ["data", "synth", "sectors"],
      message:
        `expected at most data.synth.tickers (${synth.tickers}) sectors, got ${synth.sectors}`,
    });
  }
  if (synth.from >= synth.to) {
    out.push({
      path: ["data", "synth", "to"],
      message: `expected a date after data.synth.from ("${synth.from}"), got "${synth.to}"`,
    });
    return out;
  }
  const span = `data.synth generates "${synth.from}".."${synth.to}"`;
  if (data.from !== undefined && data.from > synth.to) {
    out.push({
      path: ["data", "from"],
      message: `expected a date on or before "${synth.to}": ${span}`,
    });
  } else if (data.to !== undefined && data.to < synth.from) {
    out.push({
      path: ["data", "to"],
      message: `expected a date on or after "${synth.from}": ${span}`,
    });
  }
  return out;
}
