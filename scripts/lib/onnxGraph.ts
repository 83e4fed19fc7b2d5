import { onnx } from 'onnx-proto';
import { toFloat16Bits } from '../../src/models/float16';

/** Minimal builder for ONNX graphs, enough to write the project's own test encoders. */
export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly valueInfos: onnx.IValueInfoProto[] = [];
  private counter = 0;
  /** onnxruntime's contrib ops (com.microsoft), e.g. MatMulNBits, when a graph uses them. */
  private contrib = false;

  constructor(
    private readonly name: string,
    private readonly opset = 13,
  ) {}

  /** Declares an intermediate tensor's type and shape (onnxruntime checks it against its own inference). */
  valueInfo(name: string, elemType: onnx.TensorProto.DataType, dims: (number | string)[]): void {
    this.valueInfos.push(valueInfo(name, elemType, dims));
  }

  input(name: string, elemType: onnx.TensorProto.DataType, dims: (number | string)[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: onnx.TensorProto.DataType, dims: (number | string)[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  floatConst(values: ArrayLike<number>, dims: number[]): string {
    const name = `c${this.counter++}`;
    // raw_data (little-endian bytes) keeps large weight tensors compact to build and to store.
    // Float32Array.from over a typed array lists its values first: past ~100M values that list cannot be made.
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    this.initializers.push({ name, dataType: onnx.TensorProto.DataType.FLOAT, dims, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  /** Half-precision weights, as fp16 exports store them. */
  float16Const(values: ArrayLike<number>, dims: number[]): string {
    const name = `c${this.counter++}`;
    const bits = toFloat16Bits(Float32Array.from(values));
    this.initializers.push({ name, dataType: onnx.TensorProto.DataType.FLOAT16, dims, rawData: new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength) });
    return name;
  }

  int64Const(values: number[]): string {
    const name = `c${this.counter++}`;
    this.initializers.push({ name, dataType: onnx.TensorProto.DataType.INT64, dims: [values.length], int64Data: values });
    return name;
  }

  op(opType: string, inputs: string[], attributes: onnx.IAttributeProto[] = [], output?: string): string {
    const out = output ?? `t${this.counter++}`;
    this.nodes.push({ opType, input: inputs, output: [out], attribute: attributes, name: `${opType}_${this.counter++}` });
    return out;
  }

  /** A raw tensor (quantised weights: int8, or 4-bit values packed two to a byte as uint8). */
  rawConst(dataType: onnx.TensorProto.DataType, bytes: Uint8Array, dims: number[]): string {
    const name = `c${this.counter++}`;
    this.initializers.push({ name, dataType, dims, rawData: bytes });
    return name;
  }

  /** An op of onnxruntime's com.microsoft domain (what its quantisers write). */
  contribOp(opType: string, inputs: string[], attributes: onnx.IAttributeProto[] = []): string {
    this.contrib = true;
    const out = `t${this.counter++}`;
    this.nodes.push({ opType, domain: 'com.microsoft', input: inputs, output: [out], attribute: attributes, name: `${opType}_${this.counter++}` });
    return out;
  }

  encode(): Uint8Array {
    const model: onnx.IModelProto = {
      irVersion: 8,
      producerName: 'image-search test pack',
      opsetImport: [{ domain: '', version: this.opset }, ...(this.contrib ? [{ domain: 'com.microsoft', version: 1 }] : [])],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
        valueInfo: this.valueInfos,
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}

export const intAttr = (name: string, i: number): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INT,
  i,
});

export const intsAttr = (name: string, ints: number[]): onnx.IAttributeProto => ({
  name,
  type: onnx.AttributeProto.AttributeType.INTS,
  ints,
});

function valueInfo(name: string, elemType: onnx.TensorProto.DataType, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}
