/**
 * What the config tests share.
 *
 * @module
 */

/** A valid config of 9 lines: a case appends from line 10, so its line numbers are known. */
export const BASE_CONFIG = `name: base-test
data:
  dataset: dow30-1991-2000
  train_tickers: [AA, AXP]
  eval_tickers: [KO, DD]
label:
  mode: direction
loss:
  name: bce
`;
