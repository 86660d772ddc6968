// The runner's HTML report: draws a scenario's steps when it is opened, and
// filters the list. Allowed by its hash in the page's Content-Security-Policy.
// Every text from the run goes into the page through textContent (never as
// markup), so a body holding <script> shows as text.
(function () {
  'use strict';
  var t0 = performance.now();
  var doc = document;
  doc.documentElement.classList.add('js');
  // Scenarios that did not pass are opened at load, up to this many: a run where
  // thousands failed must still open quickly (the rest open on a click).
  var OPEN_AT_LOAD = 20;
  // Read once, then taken out of the document: the text lives on in `raw` only,
  // not twice in memory.
  var block = doc.getElementById('data');
  var raw = block.textContent;
  block.parentNode.removeChild(block);
  var list = doc.getElementById('list');
  var rows = Array.prototype.slice.call(list.children);

  // The data block holds one scenario per line, in the order of the list: a line
  // is parsed when its scenario is opened, never the whole block.
  var starts = null;
  function scenarioData(i) {
    if (!starts) {
      starts = [0];
      for (var p = raw.indexOf('\n'); p >= 0; p = raw.indexOf('\n', p + 1)) starts.push(p + 1);
    }
    if (i < 0 || i >= starts.length) return null;
    var end = i + 1 < starts.length ? starts[i + 1] - 1 : raw.length;
    try {
      return JSON.parse(raw.slice(starts[i], end));
    } catch (e) {
      return null;
    }
  }

  function el(tag, cls, text) {
    var e = doc.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function add(parent, child) {
    parent.appendChild(child);
    return child;
  }

  function fmtMs(ms) {
    return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(2) + ' s';
  }

  function badge(outcome) {
    var word = { passed: 'PASS', failed: 'FAIL', error: 'ERROR', skipped: 'SKIP' }[outcome] || outcome;
    return el('span', 'badge o-' + outcome, word);
  }

  function stepLabel(st) {
    return (st.phase === 'finally' ? 'finally ' : '') + st.number + '. ' + (st.name || '(unnamed)');
  }

  // A link to a scenario file; the href was made relative by the runner, and
  // anything that looks like a scheme is refused here too.
  function fileLink(st) {
    if (st.href && !/^[a-z][a-z0-9+.-]*:/i.test(st.href)) {
      var a = el('a', 'loc', st.location);
      a.href = st.href;
      return a;
    }
    return el('span', 'loc', st.location);
  }

  // The waterfall: one line per step, placed at its start within the scenario
  // (steps run one after another), as wide as it took. Inside the bar, each
  // exchange (redirect hops, then the final response) as long as its response
  // took, at the end of the bar; what comes before them is the step's delay,
  // polling pauses and retried attempts.
  function timeline(sc, sid) {
    var total = sc.ms;
    var sum = 0;
    sc.steps.forEach(function (st) { sum += st.ms; });
    if (sum > total) total = sum;
    if (!(total > 0)) total = 1;
    var box = el('div', 'wf');
    var at = 0;
    sc.steps.forEach(function (st, k) {
      var line = add(box, el('div', 'wr o-' + st.outcome + (st.phase === 'finally' ? ' fin' : '')));
      var label = add(line, el('a', 'wl', stepLabel(st)));
      label.href = '#' + sid + '-' + k;
      var track = add(line, el('span', 'wt'));
      var bar = add(track, el('span', 'wb'));
      bar.style.left = (100 * at / total) + '%';
      bar.style.width = Math.max(100 * st.ms / total, 0.4) + '%';
      var ex = st.exchanges;
      var right = 0;
      for (var i = ex.length - 1; i >= 0; i--) {
        var r = ex[i].response;
        if (!r || !(st.ms > 0)) continue;
        var w = Math.min(100 * r.ms / st.ms, 100 - right);
        var seg = add(bar, el('span', 'seg' + (ex[i].hop ? ' hop' : '')));
        seg.style.right = right + '%';
        seg.style.width = Math.max(w, 0) + '%';
        seg.title = r.delivery ? r.delivery
          : (ex[i].hop ? 'redirect hop: ' : '') + 'HTTP ' + r.status + ' in ' + r.ms + ' ms';
        right += w;
      }
      var words = [];
      var last = ex.length ? ex[ex.length - 1] : null;
      if (last && last.request) words.push(last.request.method);
      if (last && last.response) words.push(last.response.delivery ? 'webhook' : String(last.response.status));
      words.push(fmtMs(st.ms));
      var hops = ex.filter(function (x) { return x.hop; }).length;
      if (hops) words.push(hops + (hops === 1 ? ' redirect' : ' redirects'));
      if (st.attempts > 1) words.push(st.attempts + ' attempts');
      if (st.outcome !== 'passed') words.push(st.outcome);
      add(line, el('span', 'wm', words.join(' · ')));
      bar.title = stepLabel(st) + ': ' + words.join(' · ');
      at += st.ms;
    });
    return box;
  }

  function headers(list) {
    var t = el('table', 'hd');
    list.forEach(function (h) {
      var tr = add(t, el('tr'));
      add(tr, el('th', null, h[0]));
      add(tr, el('td', null, h[1]));
    });
    return t;
  }

  function body(text, empty) {
    if (text === null || text === undefined || text === '') return el('p', 'note', empty);
    return el('pre', 'body', text);
  }

  function request(q) {
    var box = el('div', 'rq');
    add(box, el('h5', null, 'request'));
    add(box, el('div', 'line', q.method + ' ' + q.url));
    if (q.headers.length) add(box, headers(q.headers));
    add(box, body(q.body, 'no body'));
    return box;
  }

  function response(r) {
    var box = el('div', 'rs');
    var size = r.body_bytes === 1 ? '1 byte' : r.body_bytes + ' bytes';
    if (r.delivery) {
      add(box, el('h5', null, 'webhook delivery'));
      add(box, el('div', 'line', r.delivery));
    } else {
      add(box, el('h5', null, 'response'));
      add(box, el('div', 'line s' + String(r.status).charAt(0),
        r.version + ' ' + r.status + ' · ' + r.ms + ' ms · ' + size));
    }
    if (r.headers.length) add(box, headers(r.headers));
    add(box, body(r.body, 'empty body'));
    if (r.cut) add(box, el('p', 'note', 'The report keeps the start of each body; the rest was not kept.'));
    if (r.truncated) add(box, el('p', 'note', 'The runner stopped reading this body at the --max-body cap.'));
    if (r.pretty) add(box, el('p', 'note', 'JSON, re-indented for reading (every value as sent).'));
    return box;
  }

  function assertions(st) {
    var t = el('table', 'as');
    var head = add(t, el('tr'));
    ['', 'checked', 'expected', 'actual'].forEach(function (h) { add(head, el('th', null, h)); });
    function rowsOf(items, ok) {
      items.forEach(function (a) {
        var tr = add(t, el('tr', ok ? 'held' : 'broke'));
        add(tr, el('td', 'mark', ok ? '✓' : '✗'));
        add(tr, el('td', 'subj', a[0]));
        add(tr, el('td', 'exp', a[1]));
        add(tr, el('td', 'act', a[2]));
      });
    }
    rowsOf(st.failures, false);
    rowsOf(st.passed, true);
    return t;
  }

  function step(st, id) {
    st.failures = st.failures || [];
    st.passed = st.passed || [];
    st.failed_attempts = st.failed_attempts || [];
    var d = el('details', 'st o-' + st.outcome + (st.phase === 'finally' ? ' fin' : ''));
    d.id = id;
    if (st.outcome === 'failed' || st.outcome === 'error') d.open = true;
    var sum = add(d, el('summary'));
    add(sum, badge(st.outcome));
    add(sum, doc.createTextNode(' '));
    add(sum, el('span', 'nm', stepLabel(st)));
    add(sum, doc.createTextNode(' '));
    add(sum, el('span', 'du', fmtMs(st.ms)));
    var inner = add(d, el('div', 'sb'));
    var at = add(inner, el('p', 'where', 'written at '));
    add(at, fileLink(st));
    if (st.message) add(inner, el('p', 'msg', st.message));
    if (st.failures.length || st.passed.length) {
      add(inner, el('h5', null, st.failures.length + ' failed, ' + st.passed.length + ' held'
        + (st.assertions > st.failures.length + st.passed.length ? ' (of ' + st.assertions + ' checked)' : '')));
      add(inner, assertions(st));
    } else if (st.assertions) {
      add(inner, el('p', 'note', st.assertions + ' assertions held'));
    }
    if (st.attempts > 1 || st.failed_attempts.length) {
      add(inner, el('h5', null, 'sent ' + st.attempts + ' times'
        + (st.failed_attempts.length ? ', ' + st.failed_attempts.length + ' retried after a failure' : '')
        + (st.attempts > st.failed_attempts.length + 1 ? ', the rest polling (retry.until)' : '')));
      if (st.failed_attempts.length) {
        var ul = add(inner, el('ul', 'attempts'));
        st.failed_attempts.forEach(function (a) { add(ul, el('li', null, a)); });
      }
    }
    if (st.curl) {
      add(inner, el('h5', null, 'send it again with curl (secrets masked: put them back first)'));
      add(inner, el('pre', 'body curl', st.curl));
    }
    st.exchanges.forEach(function (x, i) {
      var box = add(inner, el('div', 'ex' + (x.hop ? ' hop' : '')));
      if (x.hop) add(box, el('h4', null, 'redirect hop ' + (i + 1)));
      else if (i > 0) add(box, el('h4', null, 'after ' + i + (i === 1 ? ' redirect' : ' redirects')));
      if (x.request) add(box, request(x.request));
      if (x.response) add(box, response(x.response));
    });
    return d;
  }

  // Open or close a scenario's line; its steps are drawn the first time.
  function setOpen(li, open) {
    var head = li.firstElementChild;
    var host = head.nextElementSibling;
    if (open && !host) {
      host = add(li, el('div', 'sd'));
      draw(li, host);
    }
    if (host) host.hidden = !open;
    li.classList.toggle('open', open);
    head.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  function draw(li, host) {
    var sc = scenarioData(rows.indexOf(li));
    if (!sc) {
      add(host, el('p', 'note', 'No details were recorded for this scenario.'));
      return;
    }
    var sid = 'st-' + li.id.slice(2);
    if (sc.message) add(host, el('p', 'msg', sc.message));
    if (sc.steps.length) {
      add(host, el('h4', null, 'timeline'));
      add(host, timeline(sc, sid));
      add(host, el('h4', null, 'steps'));
      sc.steps.forEach(function (st, k) { add(host, step(st, sid + '-' + k)); });
    }
  }

  function rowOf(target) {
    var head = target.closest ? target.closest('.rh') : null;
    return head && head.parentNode && head.parentNode.parentNode === list ? head.parentNode : null;
  }
  list.addEventListener('click', function (e) {
    var a = e.target.closest ? e.target.closest('a.wl') : null;
    if (a) {
      var target = doc.getElementById(a.getAttribute('href').slice(1));
      if (target) target.open = true;
      return;
    }
    var li = rowOf(e.target);
    if (li) setOpen(li, !li.classList.contains('open'));
  });
  list.addEventListener('keydown', function (e) {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    var li = rowOf(e.target);
    if (!li || e.target !== li.firstElementChild) return;
    e.preventDefault();
    setOpen(li, !li.classList.contains('open'));
  });

  function openHash() {
    var id;
    try { id = decodeURIComponent(window.location.hash.slice(1)); } catch (e) { return; }
    var m = /^(?:s|st)-(\d+)/.exec(id);
    if (!m) return;
    var li = doc.getElementById('s-' + m[1]);
    if (!li || li.parentNode !== list) return;
    setOpen(li, true);
    var target = doc.getElementById(id);
    if (target && target.tagName === 'DETAILS') target.open = true;
    if (target) target.scrollIntoView();
  }
  window.addEventListener('hashchange', openHash);

  // The filter: outcome boxes and a text that must appear in the row.
  var q = doc.getElementById('q');
  var boxes = Array.prototype.slice.call(doc.querySelectorAll('#filters input[type=checkbox]'));
  var shown = doc.getElementById('shown');
  var texts = null;
  var outcomes = rows.map(function (li) {
    var m = /\bo-(\w+)/.exec(li.className);
    return m ? m[1] : '';
  });
  function apply() {
    if (!texts) texts = rows.map(function (li) { return li.firstElementChild.textContent.toLowerCase(); });
    var want = {};
    boxes.forEach(function (b) { want[b.getAttribute('data-outcome')] = b.checked; });
    var needle = q.value.trim().toLowerCase();
    var n = 0;
    for (var i = 0; i < rows.length; i++) {
      var show = want[outcomes[i]] !== false && (!needle || texts[i].indexOf(needle) >= 0);
      if (rows[i].hidden === show) rows[i].hidden = !show;
      if (show) n++;
    }
    shown.textContent = 'showing ' + n + ' of ' + rows.length;
  }
  var timer = 0;
  q.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(apply, rows.length > 2000 ? 150 : 0);
  });
  boxes.forEach(function (b) { b.addEventListener('change', apply); });
  shown.textContent = 'showing ' + rows.length + ' of ' + rows.length;

  var opened = 0;
  for (var i = 0; i < rows.length && opened < OPEN_AT_LOAD; i++) {
    if (outcomes[i] === 'failed' || outcomes[i] === 'error') {
      setOpen(rows[i], true);
      opened++;
    }
  }
  openHash();
  doc.body.setAttribute('data-ready-ms', String(Math.round(performance.now())));
  doc.body.setAttribute('data-script-ms', String(Math.round(performance.now() - t0)));
})();
