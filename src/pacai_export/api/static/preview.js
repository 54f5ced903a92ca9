'use strict';
// A completed job's preview on its dashboard page: the bundle.json summary, the files per
// engine, the scene's node tree, and the scene itself drawn by viewer.js (three.js), which
// is loaded only when there is a scene to draw. Everything is built with textContent.
(() => {
  const main = document.querySelector('main[data-view="job"]');
  const state = document.getElementById('state');
  if (!main || !state) return;
  const jobId = main.dataset.job;
  let started = false;

  const el = (tag, attrs, text) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  };

  function facts(summary) {
    const sig = summary.signature || {};
    const signature = !sig.signed ? 'unsigned'
      : !sig.valid_envelope ? 'signature envelope unreadable'
      : 'signed by ' + (sig.keyids || []).join(', ') +
        (sig.signs_this_bundle_json ? ' (covers this bundle.json)' : ' (does NOT cover this bundle.json)');
    const leftOut = (summary.left_out || []).map((x) => (x.id || x.asset || JSON.stringify(x)) +
                                                  (x.uri ? ' (' + x.uri + ')' : ''));
    const warnings = (summary.warnings || []).map((w) => (typeof w === 'string' ? w : JSON.stringify(w)));
    const rows = [
      ['engines', (summary.engines || []).join(', ')],
      ['quality', summary.quality],
      ['assets included', summary.include_assets ? 'yes' : 'no'],
      ['left out', leftOut.length ? leftOut.join('; ') : 'nothing'],
      ['warnings', warnings.length ? warnings.join('; ') : 'none'],
      ['triangles', summary.scene ? summary.scene.triangles.toLocaleString('en') : '—'],
      ['signature', signature],
    ];
    const dl = el('dl', {id: 'summary'});
    for (const [k, v] of rows) dl.append(el('dt', {}, k), el('dd', {}, v));
    return dl;
  }

  function tree(nodes) {
    const ul = el('ul');
    for (const node of nodes) {
      const li = el('li', {'data-kind': node.kind});
      li.append(el('span', {class: 'node-name'}, node.name));
      const extra = node.triangles ? node.kind + ', ' + node.triangles + ' triangles' : node.kind;
      li.append(el('span', {class: 'node-kind'}, extra));
      if (node.children.length) li.append(tree(node.children));
      ul.append(li);
    }
    return ul;
  }

  function files(summary) {
    const wrap = el('div', {id: 'engine-files'});
    for (const [engine, listing] of Object.entries(summary.files || {})) {
      const details = el('details', {'data-engine': engine});
      details.append(el('summary', {}, engine + ' — ' + listing.count + ' files'));
      const ul = el('ul', {class: 'files'});
      for (const name of listing.files) ul.append(el('li', {}, name));
      if (listing.count > listing.files.length) {
        ul.append(el('li', {class: 'note'}, '… and ' + (listing.count - listing.files.length) + ' more'));
      }
      details.append(ul);
      wrap.append(details);
    }
    return wrap;
  }

  function loadViewer() {
    if (window.PacaiViewer) return Promise.resolve(window.PacaiViewer);
    return new Promise((resolve, reject) => {
      const script = el('script', {src: '/dashboard/static/viewer.js'});
      script.onload = () => resolve(window.PacaiViewer);
      script.onerror = () => reject(new Error('viewer.js did not load'));
      document.head.append(script);
    });
  }

  async function draw(canvas, note, url) {
    try {
      const viewer = await loadViewer();
      canvas.pacaiViewer = await viewer.show(canvas, url);
      canvas.dataset.state = 'ready';
      note.textContent = 'Drag to orbit, scroll to zoom; with the view focused: arrow keys ' +
                         'orbit, + and − zoom, R resets.';
    } catch (error) {
      canvas.dataset.state = 'error';
      note.textContent = 'The scene could not be drawn: ' + error.message;
    }
  }

  async function start() {
    if (started || state.textContent !== 'completed') return;
    started = true;
    const section = el('section', {id: 'preview', 'aria-labelledby': 'preview-h'});
    section.append(el('h2', {id: 'preview-h'}, 'Preview'));
    main.append(section);
    const response = await fetch('/dashboard/api/preview/' + encodeURIComponent(jobId),
                                 {credentials: 'same-origin', headers: {accept: 'application/json'}});
    if (!response.ok) {
      const problem = await response.json().catch(() => ({}));
      section.append(el('p', {class: 'note', id: 'preview-error'},
                        problem.detail || 'HTTP ' + response.status));
      return;
    }
    const summary = await response.json();
    section.append(facts(summary));
    if (summary.scene) {
      const canvas = el('canvas', {id: 'scene', tabindex: '0', role: 'img',
                                   'aria-label': '3D view of the exported scene'});
      const note = el('p', {class: 'note', id: 'scene-note'}, 'Loading the scene…');
      const nodes = el('nav', {id: 'node-tree', 'aria-label': 'scene nodes'});
      nodes.append(tree(summary.scene.nodes));
      section.append(canvas, note, el('h3', {}, 'Nodes'), nodes);
      draw(canvas, note, summary.scene.url);
    } else {
      section.append(el('p', {class: 'note', id: 'scene-note'},
                        'No scene to draw: this bundle has no preview file and no ue5 folder.'));
    }
    section.append(el('h3', {}, 'Files'), files(summary));
  }

  new MutationObserver(start).observe(state, {childList: true, characterData: true, subtree: true});
  start();
})();
