// A Node BullMQ producer, as the production enqueue API is: adds one export job and waits for
// it through QueueEvents, then prints {"id", "state", "returnvalue", "failedReason",
// "attemptsMade", "progress"} as one JSON line.
// Usage: node producer.mjs REDIS_URL PREFIX QUEUE JOB_DATA_JSON [JOB_OPTS_JSON] [TIMEOUT_MS]
import { Queue, QueueEvents } from 'bullmq';
import IORedis from 'ioredis';

const [redisUrl, prefix, name, dataJson, optsJson = '{}', timeoutMs = '60000'] = process.argv.slice(2);
const connection = new IORedis(redisUrl, { maxRetriesPerRequest: null });
const queue = new Queue(name, { connection, prefix });
const events = new QueueEvents(name, { connection: new IORedis(redisUrl, { maxRetriesPerRequest: null }), prefix });
await events.waitUntilReady();
const job = await queue.add('export', JSON.parse(dataJson), JSON.parse(optsJson));
let state = 'completed';
try {
  await job.waitUntilFinished(events, parseInt(timeoutMs, 10));
} catch (err) {
  state = 'failed';
}
const done = await queue.getJob(job.id);
console.log(JSON.stringify({
  id: job.id, state: await done.getState(), returnvalue: done.returnvalue,
  failedReason: done.failedReason, attemptsMade: done.attemptsMade, progress: done.progress,
  waited: state,
}));
await events.close(); await queue.close(); await connection.quit();
process.exit(0);  // the QueueEvents connection we passed in is ours to drop
