// The parts of the WebAssembly JavaScript API the ranks' transport uses (reduce.ts, layout.ts):
// Node has them, but the TypeScript libraries this project compiles against (ES2023, @types/node)
// do not declare them. Shaped as lib.dom.d.ts declares them, so the two merge if both are present.
declare namespace WebAssembly {
  interface MemoryDescriptor {
    initial: number;
    maximum?: number;
    shared?: boolean;
  }
  interface Memory {
    readonly buffer: ArrayBuffer;
    grow(delta: number): number;
  }
  var Memory: { prototype: Memory; new (descriptor: MemoryDescriptor): Memory };
  interface Module {}
  var Module: { prototype: Module; new (bytes: ArrayBufferView | ArrayBuffer): Module };
  type ImportValue = Memory | ((...args: never[]) => unknown) | number;
  interface Instance {
    readonly exports: Record<string, unknown>;
  }
  var Instance: { prototype: Instance; new (module: Module, imports?: Record<string, Record<string, ImportValue>>): Instance };
}
