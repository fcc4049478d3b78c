import { ModelProto, DataType, AttributeType, IR_VERSION } from './onnx-proto.js';

/** A float attribute; plain numbers are ints, arrays are int lists (ONNX attributes are typed). */
export interface FloatAttr {
  float: number;
}
export type Attr = number | number[] | FloatAttr;

export const float = (value: number): FloatAttr => ({ float: value });

export interface Opset {
  domain: string;
  version: number;
}

/**
 * Collects nodes and initializers of one ONNX graph and serializes it. Value names are
 * generated (`name_0`, `name_1`, …) so model code reads as a chain of calls, like PyTorch.
 */
export class GraphBuilder {
  private readonly nodes: object[] = [];
  private readonly initializers: object[] = [];
  private readonly inputs: object[] = [];
  private readonly outputs: object[] = [];
  private readonly constants = new Map<string, string>();
  private readonly weights = new Map<string, Float32Array | Int8Array>();
  private counter = 0;

  /** A fresh value name. */
  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  input(name: string, dims: number[]): string {
    this.inputs.push(valueInfo(name, dims));
    return name;
  }

  output(name: string, dims: number[]): void {
    this.outputs.push(valueInfo(name, dims));
  }

  /**
   * A float32 initializer (weights; `data` is referenced, not copied, until encode()).
   * Adding the same array under the same name again reuses it.
   */
  weight(name: string, data: Float32Array, dims: number[]): string {
    return this.initializer(name, DataType.FLOAT, data, dims);
  }

  /** An int8 initializer (quantized weights), referenced and reused like weight(). */
  int8(name: string, data: Int8Array, dims: number[]): string {
    return this.initializer(name, DataType.INT8, data, dims);
  }

  private initializer(name: string, dataType: number, data: Float32Array | Int8Array, dims: number[]): string {
    const known = this.weights.get(name);
    if (known === data) return name;
    if (known) throw new Error(`initializer ${name} added twice with different data`);
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new Error(`initializer ${name}: dims [${dims}] need ${count} values, got ${data.length}`);
    }
    this.weights.set(name, data);
    this.initializers.push({ name, dims, dataType, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** An int64 constant (shapes, axes, slice bounds); equal values share one initializer. */
  ints(values: number[]): string {
    const key = values.join(',');
    const known = this.constants.get(key);
    if (known) return known;
    const name = `const_i64_${this.constants.size}`;
    const data = new BigInt64Array(values.map((v) => BigInt(v)));
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: DataType.INT64,
      rawData: new Uint8Array(data.buffer),
    });
    this.constants.set(key, name);
    return name;
  }

  /** A float scalar constant. */
  scalar(value: number): string {
    const key = `f${value}`;
    const known = this.constants.get(key);
    if (known) return known;
    const name = this.weight(`const_f32_${this.constants.size}`, new Float32Array([value]), []);
    this.constants.set(key, name);
    return name;
  }

  /** Adds a node with one output and returns that output's name (`out` names it). */
  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, out?: string, domain = ''): string {
    const name = out ?? this.fresh(opType.toLowerCase());
    this.opMulti(opType, inputs, [name], attrs, domain);
    return name;
  }

  /** Adds a node with several outputs. */
  opMulti(opType: string, inputs: string[], outputs: string[], attrs: Record<string, Attr> = {}, domain = ''): string[] {
    this.nodes.push({
      opType,
      domain,
      name: `${opType}_${this.nodes.length}`,
      input: inputs,
      output: outputs,
      attribute: Object.entries(attrs).map(([key, value]) => attribute(key, value)),
    });
    return outputs;
  }

  encode(opsets: Opset[], name: string): Uint8Array {
    const model = ModelProto.fromObject({
      irVersion: IR_VERSION,
      producerName: 'bonestream',
      opsetImport: opsets,
      graph: {
        name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return ModelProto.encode(model).finish();
  }
}

function attribute(name: string, value: Attr): object {
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: value };
  if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
  return { name, type: AttributeType.FLOAT, f: value.float };
}

function valueInfo(name: string, dims: number[]): object {
  return {
    name,
    type: { tensorType: { elemType: DataType.FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  };
}
