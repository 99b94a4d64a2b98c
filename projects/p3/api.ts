// Project 3's API: what a submission's index.ts exports. One launch description per task: which
// WGSL file (beside index.ts), which entry point, the values of its `override` constants
// (workgroup shape, tile sizes...), and how many workgroups to dispatch for given sizes.
// README.md explains the contract in full (bindings, layouts, what the harness does around a run).

/** Workgroup counts in x, y and z (missing ones are 1). Each must be an integer from 1 to 65535. */
export type Grid = [number] | [number, number] | [number, number, number];

/** What the device allows and offers, for choosing a launch. */
export interface DeviceInfo {
  maxComputeWorkgroupsPerDimension: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupStorageSize: number;
  /** Subgroup sizes (0 when unknown); kernels that use them need `enable subgroups;`. */
  subgroupMinSize: number;
  subgroupMaxSize: number;
  /** True on a CPU adapter (Mesa's lavapipe): correct, slow, not what grading times on. */
  fallback: boolean;
}

/** One dispatch of one entry point of one WGSL file. */
export interface Pass<S> {
  /** A WGSL file in the submission's folder, e.g. 'matmul_tiled.wgsl'. */
  file: string;
  /** The `@compute` function to run (default 'main'). */
  entryPoint?: string;
  /**
   * Values for the file's `override` declarations, e.g. { TILE: 64, WG_X: 16 }; or a function
   * of the sizes returning them (one pipeline is compiled per distinct set of values).
   */
  overrides?: Record<string, number> | ((sizes: S, device: DeviceInfo) => Record<string, number>);
  /** How many workgroups to dispatch for these sizes. */
  workgroups(sizes: S, device: DeviceInfo): Grid;
}

/** A kernel run as one dispatch. */
export interface Kernel<S> extends Pass<S> {
  /** Float32 elements of a scratch buffer (bound after the outputs); default none. */
  scratch?(sizes: S): number;
}

/** A kernel run as several dispatches in order (e.g. a two-pass reduction), sharing bindings. */
export interface MultiPassKernel<S> {
  passes: Pass<S>[];
  /** Float32 elements of a scratch buffer (bound after the outputs), e.g. partial sums. */
  scratch?(sizes: S): number;
}

/** A library's implementation, for the harness's named baselines only (refused on graded cases). */
export interface LibraryKernel {
  library: 'tfjs-webgpu';
}

export type Launch<S> = Kernel<S> | MultiPassKernel<S>;

export interface MatmulSizes {
  M: number;
  N: number;
  K: number;
}
export interface RowsSizes {
  rows: number;
  cols: number;
}
export interface LayernormSizes extends RowsSizes {
  /** float32 */
  eps: number;
}
export interface AttentionSizes {
  B: number;
  H: number;
  Sq: number;
  Sk: number;
  D: number;
  /** 1 when causal, else 0. */
  causal: number;
  /** 1/√D, float32. */
  scale: number;
}

/** What index.ts exports (each a launch description). */
export interface Submission {
  matmul_naive: Launch<MatmulSizes>;
  matmul_coalesced: Launch<MatmulSizes>;
  matmul_tiled: Launch<MatmulSizes>;
  matmul_regblock: Launch<MatmulSizes>;
  matmul_vec4: Launch<MatmulSizes>;
  /** Your best matmul (usually one of the stages above): the one timed for speed credit. */
  matmul: Launch<MatmulSizes>;
  softmax: Launch<RowsSizes>;
  layernorm: Launch<LayernormSizes>;
  reduce_sum: Launch<RowsSizes>;
  transpose: Launch<RowsSizes>;
  attention_fwd: Launch<AttentionSizes>;
}

