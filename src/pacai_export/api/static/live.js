'use strict';
// Live updates for the dashboard: one EventSource on /dashboard/api/events[/{id}] redraws
// the page from each event, through the renderers app.js exposes (textContent only: job data
// is user input). Without EventSource, or when the stream is refused, app.js polls instead.
(() => {
  const main = document.querySelector('main[data-poll]');
  const board = window.pacaiDashboard;
  if (!main || !board || !window.EventSource) return;
  window.pacaiLive = true;
  const live = document.getElementById('live');
  const isJob = main.dataset.view === 'job';
  const url = isJob ? '/dashboard/api/events/' + encodeURIComponent(main.dataset.job)
                    : '/dashboard/api/events';
  const STATE_EVENTS = ['added', 'waiting', 'active', 'delayed', 'waiting-children',
                        'prioritized', 'completed', 'failed'];
  const RECENT = 50;
  let model = null;  // the page's data: the snapshot, kept current by each event

  const stamp = () => { live.textContent = 'live ' + new Date().toLocaleTimeString(); };
  const stateOf = (name) => (name === 'added' ? 'waiting' : name);

  function count(state, delta) {
    if (state in model.counts) model.counts[state] = Math.max(0, model.counts[state] + delta);
  }

  function overviewEvent(name, data) {
    let job = model.jobs.find((j) => j.id === data.job_id);
    if (name === 'removed') {
      if (job) count(job.state, -1);
      model.jobs = model.jobs.filter((j) => j.id !== data.job_id);
    } else if (!job) {
      if (!STATE_EVENTS.includes(name)) return;
      job = {id: data.job_id, name: data.name || '', state: stateOf(name),
             project_id: data.project_id || null, progress: 0, attempts_made: 0};
      model.jobs.unshift(job);
      model.jobs.length = Math.min(model.jobs.length, RECENT);  // as the page lists them
      count(job.state, 1);
    } else if (STATE_EVENTS.includes(name) && job.state !== stateOf(name)) {
      count(job.state, -1);
      job.state = stateOf(name);
      count(job.state, 1);
    }
    if (job && name === 'progress') job.progress = data.progress;
    if (job && name === 'completed') job.progress = 100;
    board.renderOverview(model);
  }

  function jobEvent(name, data) {
    if (name === 'progress') model.progress = data.progress;
    else if (name === 'log') model.logs = (model.logs || []).concat([data.line]);
    else if (name === 'completed') Object.assign(model, {state: 'completed', progress: 100,
                                                          result: data.result, error: null});
    else if (name === 'failed') Object.assign(model, {state: 'failed', error: data.error});
    else if (STATE_EVENTS.includes(name)) Object.assign(model, {state: stateOf(name)});
    board.renderJob(model);
  }

  const source = new EventSource(url);
  source.addEventListener('snapshot', (event) => {
    model = JSON.parse(event.data);
    (isJob ? board.renderJob : board.renderOverview)(model);
    stamp();
  });
  const handled = ['progress', 'log', 'removed', 'stalled', ...STATE_EVENTS];
  for (const name of handled) {
    source.addEventListener(name, (event) => {
      if (!model) return;
      (isJob ? jobEvent : overviewEvent)(name, JSON.parse(event.data));
      stamp();
    });
  }
  source.addEventListener('error', () => {
    if (source.readyState === EventSource.CLOSED) {  // refused (signed out, gone): poll
      live.textContent = 'polling';
      window.pacaiLive = false;
      board.poll();
    } else {
      live.textContent = 'reconnecting';  // the browser resumes with Last-Event-ID
    }
  });
})();
