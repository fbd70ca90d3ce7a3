import { backendChecks } from '../../src/diagnostics/backend-checks.js';

/** A process that runs onnxruntime sessions the way the bot does, then prints its pid. */
const results = await backendChecks('cpu');
process.stdout.write(`${JSON.stringify({ pid: process.pid, cpu: results[0].status })}\n`);
