import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../util/clock.js';
import { newRegistry } from '../util/metrics.js';
import { NotFoundError } from './errors.js';
import { instrumentRuntime, operationTypes } from './instrumented.js';
import { SimRuntime } from './sim/index.js';

describe('instrumentRuntime', () => {
  it('counts operations and errors with the kubelet operation_type names', async () => {
    const registry = newRegistry();
    const rt = instrumentRuntime(new SimRuntime({ clock: new FakeClock() }), registry);
    await rt.version();
    await rt.listContainers();
    await rt.listContainers();
    await assert.rejects(rt.containerStatus('nope'), NotFoundError);

    const text = await registry.metrics();
    assert.match(text, /kubelet_runtime_operations_total\{operation_type="list_containers"\} 2/);
    assert.match(text, /kubelet_runtime_operations_total\{operation_type="version"\} 1/);
    assert.match(text, /kubelet_runtime_operations_total\{operation_type="container_status"\} 1/);
    assert.match(text, /kubelet_runtime_operations_errors_total\{operation_type="container_status"\} 1/);
    assert.doesNotMatch(text, /kubelet_runtime_operations_errors_total\{operation_type="list_containers"\}/);
    assert.match(text, /kubelet_runtime_operations_duration_seconds_count\{operation_type="list_containers"\} 2/);
  });

  it('wraps every runtime method', () => {
    const rt = instrumentRuntime(new SimRuntime({ clock: new FakeClock() }), newRegistry());
    for (const m of Object.keys(operationTypes)) assert.equal(typeof (rt as unknown as Record<string, unknown>)[m], 'function', m);
    const names = Object.values(operationTypes);
    assert.equal(new Set(names).size, names.length, 'operation types are distinct');
  });

  it('shares the metrics when two runtimes use one registry', async () => {
    const registry = newRegistry();
    const a = instrumentRuntime(new SimRuntime({ clock: new FakeClock() }), registry);
    const b = instrumentRuntime(new SimRuntime({ clock: new FakeClock() }), registry);
    await a.version();
    await b.version();
    assert.match(await registry.metrics(), /kubelet_runtime_operations_total\{operation_type="version"\} 2/);
  });
});
