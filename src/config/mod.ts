/**
 * The config stage: the experiment schema, loading YAML configs with located
 * errors (`extends`, `--set`, sweeps) within bounds (size, aliases, nesting, what `extends` and
 * `data.dataset` may point at), the config hash, config diffs, resolved YAML and the generated
 * JSON Schema.
 *
 * @module
 */
export { ConfigError, type ConfigIssue, didYouMean, formatIssue, levenshtein } from "./errors.ts";
export {
  loadExperiment,
  loadExperiments,
  type LoadOptions,
  loadSweepPoints,
  locateConfigPath,
  MAX_SWEEP_POINTS,
  parseExperimentText,
  SET_FILE,
  type SweepPoint,
} from "./load.ts";
export { canonicalJson, configHash } from "./hash.ts";
export { type ConfigDiff, diffConfigs, formatConfigDiff } from "./diff.ts";
export { experimentToYaml } from "./yaml.ts";
export {
  EXPERIMENT_SCHEMA_PATH,
  experimentJsonSchema,
  experimentJsonSchemaText,
} from "./json_schema.ts";
export { type SemanticIssue, semanticIssues } from "./semantic.ts";
export { datasetRefProblem, MAX_CONFIG_BYTES, MAX_EXTENDS_CHAIN } from "./files.ts";
export { YAML_LIMITS } from "./tree.ts";
export { Experiment, MAX_NAME_LENGTH } from "./schema.ts";
