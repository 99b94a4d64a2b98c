// Project 2 on the submission's side: wire tensors become tfjs tensors, the student's function
// is called, and what it returns is validated and brought back as plain typed arrays.
import type * as TF from '@tensorflow/tfjs';
import { BadOutputError, defineChild, type ChildContext, type Submission } from '../../harness/child/api.ts';
import type { Record_, Tensor, Value } from '../../harness/protocol/values.ts';

type Tf = typeof TF;

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return `an object (${Object.keys(x as object).slice(0, 5).join(', ') || 'no keys'})`;
  return typeof x;
}

function isTfTensor(x: unknown): x is TF.Tensor {
  return typeof x === 'object' && x !== null && Array.isArray((x as TF.Tensor).shape) && typeof (x as TF.Tensor).data === 'function' && typeof (x as TF.Tensor).dispose === 'function';
}

/** Reads a returned tensor to the host and disposes it (the harness owns returned tensors). */
async function toWire(x: unknown, what: string): Promise<Tensor> {
  let shape: number[];
  let dtype: string;
  try {
    if (!isTfTensor(x)) throw new BadOutputError(`${what} must be a tf.Tensor, got ${describe(x)}`);
    shape = x.shape.map(Number);
    dtype = x.dtype;
  } catch (e) {
    // A returned object whose getters throw is a bad output, not a crash of the harness's code.
    if (e instanceof BadOutputError) throw e;
    throw new BadOutputError(`${what}: reading the returned value failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (dtype !== 'float32' && dtype !== 'int32') throw new BadOutputError(`${what} has dtype ${dtype}; expected float32`);
  const data = await x.data();
  x.dispose();
  return dtype === 'int32'
    ? { dtype: 'int32', shape, data: Int32Array.from(data as Int32Array) }
    : { dtype: 'float32', shape, data: Float32Array.from(data as Float32Array) };
}

function fromWire(tf: Tf, t: Value): TF.Tensor {
  const w = t as Tensor;
  return tf.tensor(w.data as Float32Array, w.shape, w.dtype === 'int32' ? 'int32' : 'float32');
}

function fn(sub: Submission, name: string): (...a: unknown[]) => unknown {
  return sub[name] as (...a: unknown[]) => unknown;
}

type Tensors = Record<string, TF.Tensor>;

function tensorsOf(ctx: ChildContext, inputs: Record_, names: string[]): Tensors {
  const out: Tensors = {};
  for (const n of names) out[n] = fromWire(ctx.rt.tf, inputs[n]!);
  return out;
}

function disposeAll(x: unknown): void {
  if (isTfTensor(x)) x.dispose();
  else if (Array.isArray(x)) x.forEach(disposeAll);
  else if (x && typeof x === 'object') Object.values(x).forEach(disposeAll);
}

interface QkvArgs {
  t: Tensors;
  opts: Record<string, unknown>;
}

const qkvPrepare = (inputs: Record_, ctx: ChildContext): QkvArgs => ({
  t: tensorsOf(ctx, inputs, ['q', 'k', 'v']),
  opts: inputs.opts as Record<string, unknown>,
});

interface DecoderArgs {
  model: Record<string, unknown>;
  prompt: number[];
  nNew: number;
  mode: string;
  /** The model's weights as handed over, by path (`layers[0].wq`): none may be disposed by the submission. */
  weights: [string, TF.Tensor][];
}

async function runGenerate(sub: Submission, a: DecoderArgs, useCache: boolean, ctx: ChildContext): Promise<Record_> {
  // A case calls generate twice (with and without the cache): every message says which call.
  const call = `generate(..., { useCache: ${useCache} })`;
  const times: number[] = [];
  const seen: number[] = [];
  const t0 = ctx.nowMs();
  let r: Record<string, unknown>;
  try {
    r = (await fn(sub, 'generate')(a.model, [...a.prompt], a.nNew, {
      useCache,
      onToken: (tok: number) => {
        times.push(ctx.nowMs() - t0);
        seen.push(Number(tok));
      },
    })) as Record<string, unknown>;
  } catch (e) {
    // At the end: the start of a message says what it is (an allocation failure, say).
    if (e instanceof Error) e.message = `${e.message} (in ${call})`;
    throw e;
  }
  const gone = a.weights.filter(([, w]) => w.isDisposed).map(([name]) => name);
  if (gone.length)
    throw new BadOutputError(`${call} disposed the model's ${gone.length === 1 ? 'tensor' : 'tensors'} ${gone.slice(0, 4).map((g) => `'${g}'`).join(', ')}${gone.length > 4 ? ', ...' : ''}: the model's weights are the caller's (dispose only tensors your code makes)`);
  if (typeof r !== 'object' || r === null) throw new BadOutputError(`${call} must return {tokens, logits, cacheBytes, cachedTokens}, got ${describe(r)}`);
  const tokens = r.tokens;
  if (!Array.isArray(tokens) || !tokens.every((x) => typeof x === 'number' && Number.isInteger(x)))
    throw new BadOutputError(`${call}: tokens must be an array of integers, got ${describe(tokens)}`);
  const logits = await toWire(r.logits, `${call}: logits`);
  const num = (k: string) => {
    const v = r[k];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new BadOutputError(`${call}: ${k} must be a number${useCache ? '' : ' (0 without the cache)'}, got ${describe(v)}`);
    return v;
  };
  return {
    tokens: { dtype: 'int32', shape: [tokens.length], data: Int32Array.from(tokens as number[]) },
    logits,
    cache_bytes: num('cacheBytes'),
    cached_tokens: num('cachedTokens'),
    token_times_ms: { dtype: 'float64', shape: [times.length], data: Float64Array.from(times) },
    on_token: { dtype: 'int32', shape: [seen.length], data: Int32Array.from(seen) },
  };
}

export default defineChild({
  runtime: 'tfjs',
  tasks: {
    attention: {
      exports: ['attention'],
      prepare: qkvPrepare,
      async invoke(sub, a: QkvArgs) {
        const out = await fn(sub, 'attention')(a.t.q, a.t.k, a.t.v, { ...a.opts });
        return { out: await toWire(out, 'attention(...)') };
      },
      release: (a: QkvArgs) => disposeAll(a.t),
    },
    multiHeadAttention: {
      exports: ['multiHeadAttention'],
      prepare: (inputs, ctx) => ({
        x: fromWire(ctx.rt.tf, inputs.x!),
        w: tensorsOf(ctx, inputs, ['wq', 'wk', 'wv', 'wo']),
        opts: inputs.opts as Record<string, unknown>,
      }),
      async invoke(sub, a: { x: TF.Tensor; w: Tensors; opts: Record<string, unknown> }) {
        const out = await fn(sub, 'multiHeadAttention')(a.x, { ...a.w }, { ...a.opts });
        return { out: await toWire(out, 'multiHeadAttention(...)') };
      },
      release: (a: { x: TF.Tensor; w: Tensors }) => disposeAll([a.x, a.w]),
    },
    flashAttention: {
      exports: ['flashAttention'],
      prepare: qkvPrepare,
      async invoke(sub, a: QkvArgs) {
        const r = (await fn(sub, 'flashAttention')(a.t.q, a.t.k, a.t.v, { ...a.opts })) as Record<string, unknown>;
        if (typeof r !== 'object' || r === null || isTfTensor(r))
          throw new BadOutputError(`flashAttention must return {out, lse}, got ${isTfTensor(r) ? 'a single tensor' : describe(r)}`);
        return { out: await toWire(r.out, 'flashAttention(...).out'), lse: await toWire(r.lse, 'flashAttention(...).lse') };
      },
      release: (a: QkvArgs) => disposeAll(a.t),
    },
    generate: {
      exports: ['generate'],
      prepare(inputs, ctx): DecoderArgs {
        const tf = ctx.rt.tf;
        const w = inputs.weights as Record_;
        const model: Record<string, unknown> = { config: { ...(inputs.config as object) }, layers: [] };
        const weights: [string, TF.Tensor][] = [];
        const keep = (name: string, t: TF.Tensor) => (weights.push([name, t]), t);
        for (const [k, v] of Object.entries(w)) {
          if (k === 'layers') model.layers = (v as Record_[]).map((L, i) => Object.fromEntries(Object.entries(L).map(([n, t]) => [n, keep(`layers[${i}].${n}`, fromWire(tf, t))])));
          else model[k] = keep(k, fromWire(tf, v));
        }
        const p = inputs.prompt as Tensor;
        return { model, prompt: Array.from(p.data), nNew: Number(inputs.nNew), mode: String(inputs.mode), weights };
      },
      async invoke(sub, a: DecoderArgs, ctx) {
        if (a.mode === 'both') {
          const cached = await runGenerate(sub, a, true, ctx);
          const plain = await runGenerate(sub, a, false, ctx);
          return { cached, plain };
        }
        return { [a.mode === 'cached' ? 'cached' : 'plain']: await runGenerate(sub, a, a.mode === 'cached', ctx) };
      },
      release: (a: DecoderArgs) => disposeAll(a.model),
    },
    linearAttention: {
      exports: ['linearAttention'],
      prepare: qkvPrepare,
      async invoke(sub, a: QkvArgs) {
        const out = await fn(sub, 'linearAttention')(a.t.q, a.t.k, a.t.v, { ...a.opts });
        return { out: await toWire(out, 'linearAttention(...)') };
      },
      release: (a: QkvArgs) => disposeAll(a.t),
    },
  },
});
