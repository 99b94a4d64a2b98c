// Project 3's checks of a launch description and a kernel's declarations, on their own (the
// grading path runs them before any pipeline is made: see tests/projects/p3.test.ts for kernels
// on a device).
import { describe, expect, it } from 'vitest';
import { checkBindings, checkEntryPoint, checkFields, computeEntryPoints, PASS_FIELDS, withoutComments } from '../../projects/p3/launch-check.ts';
import { kernelIO } from '../../projects/p3/spec.ts';

const TRANSPOSE = `
struct Sizes { rows: u32, cols: u32 }
@group(0) @binding(0) var<uniform> sizes: Sizes;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
// fn notAnEntry() in a comment
@compute @workgroup_size(32, 8)
fn main(@builtin(global_invocation_id) g: vec3u) {}
@workgroup_size(64) @compute fn other() {}
fn helper() -> f32 { return 1.0; }
`;

describe('launch descriptions', () => {
  it('refuses a misspelled field with the one meant, and a field in the wrong place with where it goes', () => {
    expect(() => checkFields({ file: 'a.wgsl', workgroups: () => [1], override: {} }, [...PASS_FIELDS, 'scratch'], "'transpose'")).toThrow(
      /^'transpose': unknown field 'override' \(did you mean 'overrides'\?\); a launch description's fields are 'file', 'workgroups', 'overrides', 'entryPoint', 'scratch'$/,
    );
    expect(() => checkFields({ file: 'a.wgsl', scratch: () => 4 }, PASS_FIELDS, "'reduce_sum'.passes[0]", { scratch: "belongs beside 'passes'" })).toThrow(
      /^'reduce_sum'\.passes\[0\]: 'scratch' belongs beside 'passes'$/,
    );
    expect(() => checkFields({ file: 'a.wgsl', workgroups: () => [1], entryPoint: 'main', overrides: {} }, PASS_FIELDS, "'x'")).not.toThrow();
    // Extra fields that are not near misses (a shared config spread in), and undefined ones, are left alone.
    expect(() => checkFields({ file: 'a.wgsl', workgroups: () => [1], tile: 64, library: undefined }, PASS_FIELDS, "'x'")).not.toThrow();
  });
});

describe("a kernel's entry points and bindings", () => {
  it('finds the @compute functions, attributes in any order, not those in comments or without @compute', () => {
    expect(computeEntryPoints(TRANSPOSE)).toEqual(['main', 'other']);
    expect(() => checkEntryPoint(TRANSPOSE, 'transpose.wgsl', 'Main', "'transpose'")).toThrow(
      /^'transpose': transpose\.wgsl has no @compute function 'Main' \(did you mean 'main'\?\); its compute entry points are 'main', 'other'/,
    );
    expect(() => checkEntryPoint(TRANSPOSE, 'transpose.wgsl', 'other', "'transpose'")).not.toThrow();
    // Nested parentheses in an attribute, a '//*' toggle comment and nested block comments.
    const tricky = `//* a toggle
@compute @workgroup_size(max(WG, 1u)) fn a() {}
/* outer /* inner */ @compute fn hidden() {} */
//*/
@compute @workgroup_size(64) fn b() {}`;
    expect(computeEntryPoints(tricky)).toEqual(['a', 'b']);
    expect(withoutComments(tricky).split('\n')).toHaveLength(5); // line numbers kept
    // Not every @compute recognised: no verdict (WebGPU gives its own).
    expect(() => checkEntryPoint('@compute @workgroup_size(f(g(h(1)))) fn a() {}\n@compute fn b() {}', 'k.wgsl', 'a', "'k'")).not.toThrow();
  });

  it("names the binding, the variable and the task's layout when an input is writable or an output sits at the scratch slot", () => {
    const io = kernelIO('transpose', { rows: 3, cols: 5 } as never);
    expect(() => checkBindings(TRANSPOSE, 'transpose.wgsl', io, false, 'transpose')).not.toThrow();
    const writableInput = TRANSPOSE.replace('var<storage, read> x', 'var<storage, read_write> x');
    expect(() => checkBindings(writableInput, 'transpose.wgsl', io, false, 'transpose')).toThrow(
      /^transpose\.wgsl:4: @binding\(1\) var<storage, read_write> x: binding 1 is the input 'x', bound read-only: declare it var<storage, read>\. The bindings of 'transpose': 1 'x' \(read\), 2 'y' \(read_write\), 3 scratch$/,
    );
    const atScratch = TRANSPOSE.replace('@binding(2) var<storage, read_write> y', '@binding(3) var<storage, read_write> y');
    expect(() => checkBindings(atScratch, 'transpose.wgsl', io, false, 'transpose')).toThrow(/binding 3 is the scratch buffer, which 'transpose' does not ask for \(no scratch\(sizes\)\)/);
    expect(() => checkBindings(atScratch, 'transpose.wgsl', io, true, 'transpose')).not.toThrow();
    // The scratch binding declared beside every output (unused, or a shared file): fine.
    const extra = TRANSPOSE.replace('// fn notAnEntry', '@group(0) @binding(3) var<storage, read_write> tmp: array<f32>;\n// fn notAnEntry');
    expect(() => checkBindings(extra, 'transpose.wgsl', io, false, 'transpose')).not.toThrow();
    // Line numbers after a multi-line comment are the file's own.
    const commented = `/* one\ntwo\nthree */\n${writableInput}`;
    expect(() => checkBindings(commented, 'transpose.wgsl', io, false, 'transpose')).toThrow(/^transpose\.wgsl:7: @binding\(1\)/);
  });
});
