const { TestEnvironment } = require('jest-environment-node');

/**
 * onnxruntime-node checks `data instanceof Float32Array` against the main realm's
 * constructors; jest runs tests in a separate vm realm. Sharing the typed-array
 * constructors makes tensors built in tests (and in the code under test) acceptable.
 */
class SharedTypedArrayEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of [
      'ArrayBuffer',
      'Float32Array',
      'Float64Array',
      'Int8Array',
      'Uint8Array',
      'Int16Array',
      'Uint16Array',
      'Int32Array',
      'Uint32Array',
      'BigInt64Array',
      'BigUint64Array',
    ]) {
      this.global[name] = globalThis[name];
    }
  }
}

module.exports = SharedTypedArrayEnvironment;
