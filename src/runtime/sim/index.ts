// runtime/sim: an in-memory Runtime driven by the Clock, for unit tests and node simulation.
export { SimRuntime, criLogTimestamp, type SimRuntimeOptions, type SimRegistryImage } from './sim.js';
export { parseScript, SimProcess, knownCommands } from './shell.js';
