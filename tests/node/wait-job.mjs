// Waits, as a Node BullMQ consumer of events would, for a job that someone else added (our
// HTTP API): job.waitUntilFinished with QueueEvents, then prints {"id", "state",
// "returnvalue", "failedReason", "waited"} as one JSON line.
// Usage: node wait-job.mjs REDIS_URL PREFIX QUEUE JOB_ID [TIMEOUT_MS]
import { Job, Queue, QueueEvents } from 'bullmq';
import IORedis from 'ioredis';

const [redisUrl, prefix, name, jobId, timeoutMs = '60000'] = process.argv.slice(2);
const connection = new IORedis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue(name, { connection, prefix });
const events = new QueueEvents(name, { connection: new IORedis(redisUrl, { maxRetriesPerRequest: null }), prefix });
await events.waitUntilReady();
const job = await Job.fromId(queue, jobId);
if (!job) {
  console.log(JSON.stringify({ id: jobId, state: 'missing' }));
  process.exit(3);
}
let waited = 'completed';
let returnvalue = null;
try {
  // Resolves with the returnvalue, also when the job finished before we subscribed.
  returnvalue = await job.waitUntilFinished(events, parseInt(timeoutMs, 10));
} catch (err) {
  waited = 'failed';
}
const done = await Job.fromId(queue, jobId);
console.log(JSON.stringify({
  id: jobId, state: await done.getState(), returnvalue, failedReason: done.failedReason, waited,
}));
await events.close(); await queue.close(); await connection.quit();
process.exit(0);  // the QueueEvents connection we passed in is ours to drop
