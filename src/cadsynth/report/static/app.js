/* cadsynth report: overview, sample browser and context diff. Vanilla JS, no network, works from file://.
   Data arrive as <script> files calling CADS.put(name, value); sample details load one chunk at a time. */
(function () {
  'use strict';
  var BUILD = window.CADS_BUILD || '';
  var PAGE = 50;
  var STRATEGY_SHORT = {parameter_variation: 'param. variation', logic_reversion: 'logic reversion',
    auxiliary_extension: 'aux. extension', isomorphic_transfer: 'iso. transfer'};

  // -- data loading ---------------------------------------------------------------------------------------------
  var data = {}, waiting = {}, requested = {};
  var CADS = window.CADS = {
    put: function (name, value) {
      data[name] = value;
      var w = waiting[name];
      if (w) { delete waiting[name]; w.forEach(function (p) { p.resolve(value); }); }
    },
    chunk: function (n, rows) { CADS.put('chunk:' + n, rows); },
    data: data,
  };
  function need(name, file) {
    if (Object.prototype.hasOwnProperty.call(data, name)) return Promise.resolve(data[name]);
    return new Promise(function (resolve, reject) {
      (waiting[name] = waiting[name] || []).push({resolve: resolve, reject: reject});
      if (requested[name]) return;
      requested[name] = true;
      var script = document.createElement('script');
      script.src = 'data/' + file + '?v=' + BUILD;
      script.onload = function () {
        if (!Object.prototype.hasOwnProperty.call(data, name)) fail('did not define ' + name);
      };
      script.onerror = function () { fail('could not be loaded'); };
      function fail(why) {
        delete requested[name];
        var w = waiting[name] || [];
        delete waiting[name];
        w.forEach(function (p) { p.reject(new Error('data/' + file + ' ' + why)); });
      }
      document.head.appendChild(script);
    });
  }

  // -- small DOM helpers ----------------------------------------------------------------------------------------
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var key in attrs) {
        var v = attrs[key];
        if (v === null || v === undefined || v === false) continue;
        if (key === 'text') node.textContent = v;
        else if (key === 'cls') node.className = v;
        else if (key.slice(0, 2) === 'on') node.addEventListener(key.slice(2), v);
        else node.setAttribute(key, v === true ? '' : v);
      }
    }
    for (var i = 2; i < arguments.length; i++) add(node, arguments[i]);
    return node;
  }
  function add(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { add(node, c); }); return; }
    node.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
  function $(id) { return document.getElementById(id); }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function num(n) { return (n === null || n === undefined) ? '–' : Number(n).toLocaleString('en-US'); }
  function pct(x) { return (x === null || x === undefined) ? '–' : (100 * x).toFixed(1) + '%'; }
  function usd(x) { return '$' + Number(x || 0).toFixed(4); }
  function label(s) { return String(s).replace(/_/g, ' '); }
  function badge(text, cls, title) { return el('span', {cls: 'badge ' + (cls || ''), text: text, title: title}); }
  function table(node, head, rows, totalRow) {
    clear(node);
    node.appendChild(el('thead', null, el('tr', null, head.map(function (h) { return el('th', {text: h}); }))));
    var body = el('tbody');
    rows.forEach(function (r, i) {
      body.appendChild(el('tr', {cls: totalRow && i === rows.length - 1 ? 'total' : null},
        r.map(function (c) { return el('td', null, c); })));
    });
    node.appendChild(body);
  }

  // -- state and routing ----------------------------------------------------------------------------------------
  var FILTERS = ['p', 'c', 's', 'd', 'm', 'r', 'fl', 'q'];
  var state = {tab: 'overview', f: {}, page: 0, id: null, ctx: {key: '', a: '', b: ''}};
  FILTERS.forEach(function (k) { state.f[k] = ''; });

  function readHash() {
    var hash = location.hash.replace(/^#/, '');
    var parts = hash.split('?');
    if (parts[0]) state.tab = parts[0];
    var params = new URLSearchParams(parts[1] || '');
    FILTERS.forEach(function (k) { state.f[k] = params.get(k) || ''; });
    state.page = Math.max(0, parseInt(params.get('page') || '1', 10) - 1) || 0;
    state.id = params.get('id');
    state.ctx = {key: params.get('key') || '', a: params.get('a') || '', b: params.get('b') || ''};
  }
  function writeHash() {
    var params = new URLSearchParams();
    if (state.tab === 'samples') {
      FILTERS.forEach(function (k) { if (state.f[k]) params.set(k, state.f[k]); });
      if (state.page) params.set('page', state.page + 1);
      if (state.id) params.set('id', state.id);
    } else if (state.tab === 'contexts') {
      ['key', 'a', 'b'].forEach(function (k) { if (state.ctx[k] !== '') params.set(k, state.ctx[k]); });
    }
    var text = params.toString();
    history.replaceState(null, '', '#' + state.tab + (text ? '?' + text : ''));
  }
  function showTab(tab) {
    if (['overview', 'samples', 'contexts'].indexOf(tab) < 0) tab = 'overview';
    state.tab = tab;
    document.querySelectorAll('section.tab').forEach(function (s) { s.hidden = s.id !== 'tab-' + tab; });
    document.querySelectorAll('#tabs a').forEach(function (a) {
      a.classList.toggle('active', a.getAttribute('data-tab') === tab);
    });
    if (tab === 'contexts') renderContexts();
    writeHash();
  }

  // -- overview -------------------------------------------------------------------------------------------------
  function renderHeader(S) {
    $('run-name').textContent = S.name;
    var st = S.state || {};
    var running = !st.finished;
    $('run-state').textContent = (running ? 'in progress' : 'finished') + (st.stop_reason ? ' · ' + st.stop_reason : '') +
      ' · built ' + S.built_at;
    var live = S.live && /^https?:$/.test(location.protocol);  // built by the viewer and served by it
    if (live || running) {
      var banner = $('banner');
      banner.hidden = false;
      clear(banner);
      if (live) {
        var box = el('input', {type: 'checkbox', id: 'auto-refresh'});
        box.checked = sessionStorage.getItem('cads-auto') === '1';
        box.addEventListener('change', function () {
          sessionStorage.setItem('cads-auto', box.checked ? '1' : '0');
          scheduleRefresh();
        });
        add(banner, [running ? 'Live view of a run in progress: refresh the page for new samples. '
          : 'Live view: refresh the page for new samples. ', el('label', null, box, ' refresh every 10 s')]);
        scheduleRefresh();
      } else {
        add(banner, 'This run was still in progress when the report was built (' + S.built_at +
          '); rebuild it, or use `cadsynth view`, to see newer samples.');
      }
    }
  }
  var refreshTimer = null;
  function scheduleRefresh() {
    if (refreshTimer) clearTimeout(refreshTimer);
    if (sessionStorage.getItem('cads-auto') === '1') refreshTimer = setTimeout(function () { location.reload(); }, 10000);
  }

  function renderOverview(S) {
    var t = S.totals;
    var cards = [
      ['generated', num(t.generated)], ['kept (C ≥ 1)', num(t.kept)], ['adversarial (0 < C < K)', num(t.adversarial)],
      ['discarded', num(t.discarded)], ['adversarial share', pct(t.generated ? t.adversarial / t.generated : null)],
      ['rounds', num(S.rounds.length)], ['seeds (skipped)', num(t.seeds) + ' (' + num(t.seed_problems) + ')'],
      ['judge calls', num(t.judge_calls)], ['tokens', num(t.tokens)], ['cost', usd(t.cost_usd)],
    ];
    clear($('cards'));
    cards.forEach(function (c) { $('cards').appendChild(el('div', {cls: 'card'}, el('div', {cls: 'v', text: c[1]}), el('div', {cls: 'l', text: c[0]}))); });
    var c = S.config || {};
    $('config-line').textContent = 'generators: ' + (c.generators || []).join(', ') + ' · judges: ' + (c.judges || []).join(', ') +
      ' · seeds: ' + (c.seeds_source || '?') + ' · context scope: ' + (c.context_scope || '?') +
      ' · max rounds: ' + (c.max_rounds === null || c.max_rounds === undefined ? '–' : c.max_rounds) +
      ' · target kept: ' + (c.target_kept === null || c.target_kept === undefined ? '–' : c.target_kept);

    var reasons = S.reasons;
    var head = ['round', 'generated'].concat(reasons.map(function (r) { return 'discarded: ' + label(r); }))
      .concat(['kept (C ≥ 1)', 'adversarial', 'adversarial share', 'consensus C/K: n']);
    function ckSort(a, b) {
      var x = a.split('/'), y = b.split('/');
      return (+x[1] - +y[1]) || (+x[0] - +y[0]);
    }
    var rows = S.rounds.map(function (r) {
      return [String(r.round), num(r.generated)].concat(reasons.map(function (k) { return num(r.reasons[k] || 0); }))
        .concat([num(r.kept), num(r.adversarial), pct(r.adversarial_share),
          Object.keys(r.consensus).sort(ckSort).map(function (k) { return k + ': ' + r.consensus[k]; }).join('  ')]);
    });
    var totalReasons = {}, totalCk = {};
    S.rounds.forEach(function (r) {
      Object.keys(r.reasons).forEach(function (k) { totalReasons[k] = (totalReasons[k] || 0) + r.reasons[k]; });
      Object.keys(r.consensus).forEach(function (k) { totalCk[k] = (totalCk[k] || 0) + r.consensus[k]; });
    });
    rows.push(['all', num(t.generated)].concat(reasons.map(function (k) { return num(totalReasons[k] || 0); }))
      .concat([num(t.kept), num(t.adversarial), pct(t.generated ? t.adversarial / t.generated : null),
        Object.keys(totalCk).sort(ckSort).map(function (k) { return k + ': ' + totalCk[k]; }).join('  ')]));
    table($('funnel'), head, rows, true);
    $('funnel').querySelectorAll('tr > :last-child').forEach(function (c) { c.classList.add('ck'); });

    table($('generators'), ['generator', 'samples', 'kept', 'adversarial', 'generation calls', 'prompt tokens',
      'completion tokens', 'generation cost (USD)', 'judging cost of its samples (USD)'],
      S.members.map(function (m) {
        var g = m.generation;
        return [m.name, num(m.samples), num(m.kept), num(m.adversarial), num(g.calls), num(g.prompt_tokens),
          num(g.completion_tokens), usd(g.cost_usd), usd(m.judging.cost_usd)];
      }));
    table($('judges'), ['judge', 'samples seen', 'correct', 'wrong', 'abstain', 'error', 'accuracy', 'calls (not abstained)',
      'prompt tokens', 'completion tokens', 'cost (USD)'],
      S.judges.map(function (j) {
        var v = j.verdicts, u = j.usage;
        return [j.name, num(j.votes), num(v.correct), num(v.wrong), num(v.abstain), num(v.error), pct(j.accuracy),
          num(j.calls), num(u.prompt_tokens), num(u.completion_tokens), usd(u.cost_usd)];
      }));

    var plots = clear($('plots'));
    S.plots.forEach(function (p) {
      plots.appendChild(el('figure', {id: 'plot-' + p.name},
        el('img', {src: p.file + '?v=' + BUILD, alt: p.title + ': ' + p.caption, loading: 'lazy'}),
        el('figcaption', null, el('strong', {text: p.title + '. '}), p.caption)));
    });
    var ev = S.events;
    var evNode = clear($('events'));
    if (!ev.count) { evNode.appendChild(el('p', {cls: 'muted', text: 'No events recorded.'})); return; }
    evNode.appendChild(el('p', null, num(ev.count) + ' events: ' + Object.keys(ev.kinds).map(function (k) { return k + ' ' + ev.kinds[k]; }).join(', ')));
    evNode.appendChild(el('details', null, el('summary', {text: 'the last ' + ev.last.length}),
      el('pre', {text: ev.last.map(function (e) { return JSON.stringify(e); }).join('\n')})));
  }

  // -- sample browser -------------------------------------------------------------------------------------------
  var IX = null, haystack = null, filtered = [], positions = {};

  function options(select, entries, allLabel) {
    clear(select);
    select.appendChild(el('option', {value: '', text: allLabel}));
    entries.forEach(function (e) { select.appendChild(el('option', {value: e[0], text: e[1]})); });
  }
  function countBy(col, n) {
    var counts = {};
    for (var i = 0; i < n; i++) counts[col[i]] = (counts[col[i]] || 0) + 1;
    return counts;
  }
  function setupFilters() {
    var cols = IX.cols, dicts = IX.dicts, n = IX.n;
    function coded(name, key) {
      var counts = countBy(cols[key], n);
      return dicts[key].map(function (v, i) { return [v, label(v) + ' (' + num(counts[i] || 0) + ')', counts[i] || 0]; })
        .filter(function (e) { return e[2] > 0; });
    }
    options($('f-p'), coded('partition', 'p'), 'all');
    options($('f-s'), coded('strategy', 's'), 'all');
    options($('f-d'), coded('domain', 'd'), 'all');
    options($('f-m'), coded('member', 'm'), 'all');
    var cc = countBy(cols.c, n);
    options($('f-c'), Object.keys(cc).map(Number).sort(function (a, b) { return a - b; }).map(function (c) {
      return [String(c), (c < 0 ? 'not judged' : 'C = ' + c) + ' (' + num(cc[c]) + ')'];
    }), 'all');
    var rc = countBy(cols.r, n);
    options($('f-r'), Object.keys(rc).map(Number).sort(function (a, b) { return a - b; }).map(function (r) {
      return [String(r), 'round ' + r + ' (' + num(rc[r]) + ')'];
    }), 'all');
    var fc = {};
    for (var i = 0; i < n; i++) {
      var mask = cols.fl[i];
      for (var b = 0; mask; b++, mask >>>= 1) if (mask & 1) fc[b] = (fc[b] || 0) + 1;
    }
    options($('f-fl'), dicts.fl.map(function (name, b) { return [name, label(name) + ' (' + num(fc[b] || 0) + ')']; }), 'any');
    FILTERS.forEach(function (k) {
      var input = $('f-' + k);
      input.value = state.f[k];
      if (input.value !== state.f[k]) state.f[k] = '';  // a value not in this run
      if (k === 'q') {
        var timer = null;
        input.addEventListener('input', function () {
          clearTimeout(timer);
          timer = setTimeout(function () { state.f.q = input.value; state.page = 0; applyFilters(); }, 120);
        });
      } else {
        input.addEventListener('change', function () { state.f[k] = input.value; state.page = 0; applyFilters(); });
      }
    });
    $('f-reset').addEventListener('click', function () {
      FILTERS.forEach(function (k) { state.f[k] = ''; $('f-' + k).value = ''; });
      state.page = 0;
      applyFilters();
    });
  }

  function applyFilters() {
    var cols = IX.cols, dicts = IX.dicts, n = IX.n, f = state.f;
    var p = f.p ? dicts.p.indexOf(f.p) : -1, s = f.s ? dicts.s.indexOf(f.s) : -1, d = f.d ? dicts.d.indexOf(f.d) : -1;
    var m = f.m ? dicts.m.indexOf(f.m) : -1, c = f.c !== '' ? +f.c : null, r = f.r !== '' ? +f.r : null;
    var bit = f.fl ? dicts.fl.indexOf(f.fl) : -1;
    var flMask = bit >= 0 ? (1 << bit) >>> 0 : 0;
    var words = [], token, pattern = /"([^"]+)"|(\S+)/g, query = f.q.toLowerCase();  // "quoted phrase" or word
    while ((token = pattern.exec(query))) words.push(token[1] || token[2]);
    if (words.length && !haystack) {
      haystack = new Array(n);
      for (var h = 0; h < n; h++) {
        haystack[h] = (cols.q[h] + '\u0001' + cols.a[h] + '\u0001' + cols.id[h] + '\u0001' + cols.seed[h]).toLowerCase();
      }
    }
    var out = [];
    outer: for (var i = 0; i < n; i++) {
      if (f.p && cols.p[i] !== p) continue;
      if (f.s && cols.s[i] !== s) continue;
      if (f.d && cols.d[i] !== d) continue;
      if (f.m && cols.m[i] !== m) continue;
      if (c !== null && cols.c[i] !== c) continue;
      if (r !== null && cols.r[i] !== r) continue;
      if (f.fl && !(cols.fl[i] & flMask)) continue;
      for (var w = 0; w < words.length; w++) if (haystack[i].indexOf(words[w]) < 0) continue outer;
      out.push(i);
    }
    filtered = out;
    var pages = Math.max(1, Math.ceil(out.length / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    renderList();
  }

  function pager(node) {
    clear(node);
    var pages = Math.max(1, Math.ceil(filtered.length / PAGE));
    var first = filtered.length ? state.page * PAGE + 1 : 0;
    var last = Math.min(filtered.length, (state.page + 1) * PAGE);
    var go = function (page) { state.page = Math.max(0, Math.min(pages - 1, page)); renderList(); };
    var jump = el('input', {type: 'number', min: 1, max: pages, value: state.page + 1, 'aria-label': 'page'});
    jump.addEventListener('change', function () { go((parseInt(jump.value, 10) || 1) - 1); });
    add(node, [
      el('button', {type: 'button', cls: 'prev', text: '← previous', disabled: state.page === 0, onclick: function () { go(state.page - 1); }}),
      el('span', null, 'page ', jump, ' of ' + num(pages)),
      el('button', {type: 'button', cls: 'next', text: 'next →', disabled: state.page >= pages - 1, onclick: function () { go(state.page + 1); }}),
      el('span', {cls: 'muted count', text: num(first) + '–' + num(last) + ' of ' + num(filtered.length) + ' matching · ' + num(IX.n) + ' samples in the run'}),
    ]);
  }

  function imageSrc(rel) { return rel ? IX.base + rel : null; }

  function renderList() {
    var cols = IX.cols, dicts = IX.dicts;
    var list = clear($('sample-list'));
    var start = state.page * PAGE, end = Math.min(filtered.length, start + PAGE);
    if (!filtered.length) {
      list.appendChild(el('li', {cls: 'empty', text: IX.n ? 'No sample matches these filters.'
        : 'No samples committed yet' + (data.summary.live ? ': refresh the page later.' : '.')}));
    }
    for (var j = start; j < end; j++) {
      var i = filtered[j];
      var part = dicts.p[cols.p[i]];
      var flagsNode = [];
      for (var mask = cols.fl[i], b = 0; mask; b++, mask >>>= 1) if (mask & 1) flagsNode.push(badge(label(dicts.fl[b]), 'flag'));
      var img = cols.img[i];
      var strategy = dicts.s[cols.s[i]];
      list.appendChild(el('li', {cls: 'sample p-' + part + (cols.id[i] === state.id ? ' selected' : ''), 'data-i': i,
        'data-id': cols.id[i], 'data-partition': part, tabindex: 0},
        img ? el('img', {cls: 'thumb', src: imageSrc(img), alt: 'sample image', loading: 'lazy'})
          : el('div', {cls: 'thumb none', text: 'no image'}),
        el('div', {cls: 'body'},
          el('div', {cls: 'q', text: cols.q[i] || '(no question)'}),
          el('div', {cls: 'badges'},
            badge(part, part),
            cols.k[i] > 0 ? badge('C ' + cols.c[i] + '/' + cols.k[i], '', 'consensus C of K')
              : badge(cols.k[i] === 0 ? 'no votes' : 'not judged', '', cols.k[i] === 0 ? 'K = 0: every judge abstained or failed' : null),
            badge(STRATEGY_SHORT[strategy] || label(strategy), '', 'meta-strategy'),
            badge(dicts.m[cols.m[i]], '', 'member'), badge('round ' + cols.r[i]), badge(dicts.d[cols.d[i]], '', 'domain'),
            flagsNode))));
    }
    pager($('pager-top'));
    pager($('pager-bottom'));
    writeHash();
    if (!window.CADS_FIRST_RENDER) {
      window.CADS_FIRST_RENDER = performance.now();
      document.body.setAttribute('data-ready', '1');
    }
  }

  function onListClick(event) {
    var item = event.target.closest('li.sample');
    if (!item) return;
    select(+item.getAttribute('data-i'));
  }

  function select(i) {
    state.id = IX.cols.id[i];
    document.querySelectorAll('#sample-list li.sample.selected').forEach(function (x) { x.classList.remove('selected'); });
    var item = document.querySelector('#sample-list li.sample[data-i="' + i + '"]');
    if (item) item.classList.add('selected');
    writeHash();
    renderDetail(i);
  }

  function move(step) {
    if (!filtered.length) return;
    var at = state.id === null ? -1 : filtered.indexOf(positions[state.id]);
    var next = Math.max(0, Math.min(filtered.length - 1, at + step));
    var page = Math.floor(next / PAGE);
    if (page !== state.page) { state.page = page; renderList(); }
    select(filtered[next]);
    var item = document.querySelector('#sample-list li.sample[data-i="' + filtered[next] + '"]');
    if (item) item.scrollIntoView({block: 'nearest'});
  }

  // -- sample detail --------------------------------------------------------------------------------------------
  var detailToken = 0;
  function renderDetail(i) {
    var token = ++detailToken;
    var chunk = Math.floor(i / IX.chunk), offset = i % IX.chunk;
    var box = clear($('detail'));
    box.appendChild(el('p', {cls: 'muted', text: 'loading…'}));
    Promise.all([need('chunk:' + chunk, 'samples-' + ('000' + chunk).slice(-4) + '.js'),
      need('seeds', 'seeds.js').catch(function () { return {}; })]).then(function (loaded) {
      if (token !== detailToken) return;
      var rows = loaded[0];
      var rec = rows[offset];
      if (!rec || rec.id !== IX.cols.id[i]) {
        clear(box).appendChild(el('p', {text: 'The report changed since this page was loaded: refresh the page.'}));
        return;
      }
      clear(box);
      drawDetail(box, rec);
    }).catch(function (err) {
      if (token !== detailToken) return;
      clear(box).appendChild(el('p', {text: 'Could not load this sample: ' + err.message}));
    });
  }

  function kv(pairs) {
    var dl = el('dl');
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === '') return;
      dl.appendChild(el('dt', {text: p[0]}));
      dl.appendChild(el('dd', null, p[1]));
    });
    return dl;
  }

  function drawDetail(box, rec) {
    var prov = rec.provenance, j = rec.judgement;
    add(box, el('h2', null, 'Sample ', el('code', {text: rec.id}), ' ', badge(rec.partition, rec.partition),
      ' ', j ? badge('C ' + j.consensus + ' of K ' + j.k, '', 'consensus: judges reaching the reference / judges that voted') : badge('not judged')));
    if (rec.image) add(box, el('img', {cls: 'main-image', src: imageSrc(rec.image.path), alt: 'the sample image',
      width: rec.image.width, height: rec.image.height, style: 'width:auto;height:auto'}));
    else add(box, el('p', {cls: 'muted', text: 'This sample has no image.'}));
    add(box, el('div', {cls: 'question', text: rec.question || '(no question)'}));
    if (rec.choices) {
      var ul = el('ul', {cls: 'choices'});
      Object.keys(rec.choices).sort().forEach(function (letter) {
        ul.appendChild(el('li', {cls: letter === rec.answer ? 'ref' : null}, letter + '. ' + rec.choices[letter] +
          (letter === rec.answer ? '  ✓ reference' : '')));
      });
      add(box, ul);
    }
    add(box, kv([['reference answer', el('strong', {text: rec.answer})], ['answer type', rec.answer_type],
      ['solution', rec.solution]]));

    add(box, el('h3', {text: 'Judges'}));
    if (j && j.votes.length) {
      var votes = el('table', {cls: 'votes'}, el('thead', null, el('tr', null,
        ['judge', 'answer', 'verdict', 'reason', 'raw reply'].map(function (h) { return el('th', {text: h}); }))));
      var tb = el('tbody');
      j.votes.forEach(function (v) {
        tb.appendChild(el('tr', {cls: 'vote', 'data-judge': v.judge},
          el('td', {text: v.judge}),
          el('td', {text: v.extracted === null ? '–' : v.extracted + (rec.choices && rec.choices[v.extracted] !== undefined ? ' (' + rec.choices[v.extracted] + ')' : '')}),
          el('td', null, badge(v.verdict, v.verdict)), el('td', {text: v.reason || ''}),
          el('td', {cls: 'raw', text: v.raw || ''})));
      });
      votes.appendChild(tb);
      add(box, votes);
    } else add(box, el('p', {cls: 'muted', text: 'No judge saw this sample.'}));

    add(box, el('h3', {text: 'Outcome'}));
    var reasons = rec.discard_reasons.length ? el('ul', {cls: 'reasons'}, rec.discard_reasons.map(function (r) { return el('li', {text: r}); })) : null;
    add(box, kv([
      ['partition', badge(rec.partition, rec.partition)],
      ['consensus', j ? j.consensus + ' of ' + j.k + (j.votes.length > j.k ? ' (' + (j.votes.length - j.k) + ' did not vote)' : '') : 'not judged'],
      ['flags', rec.flags.length ? rec.flags.map(function (f) { return badge(label(f), 'flag'); }) : 'none'],
      ['discard reasons', reasons],
      ['checks', rec.checks.length ? rec.checks.map(function (c) { return badge(c.name + (c.passed ? ' ✓' : ' ✗') + (c.detail ? ': ' + c.detail : ''), c.passed ? 'correct' : 'wrong'); }) : null],
    ]));

    add(box, el('h3', {text: 'Provenance'}));
    var ctxNode = el('div', {cls: 'context'});
    add(box, kv([['member', prov.member], ['meta-strategy', label(prov.strategy)], ['round', String(prov.round)],
      ['context', rec.context_key ? rec.context_key + ' v' + prov.context_version : 'v' + prov.context_version + ' (no stored context)'],
      ['family', rec.family], ['domain', rec.domain], ['difficulty', rec.difficulty === null ? null : String(rec.difficulty)],
      ['question kind', rec.question_kind], ['candidate index', String(prov.index)],
      ['knobs', Object.keys(rec.knobs || {}).length ? JSON.stringify(rec.knobs) : null],
      ['usage', rec.usage.calls || rec.usage.cost_usd ? num(rec.usage.prompt_tokens + rec.usage.completion_tokens) + ' tokens, ' + usd(rec.usage.cost_usd) : null]]));
    add(box, ctxNode);
    if (rec.context_key) drawSampleContext(ctxNode, rec.context_key, prov.context_version);

    add(box, el('h3', {text: 'Seed'}));
    var seed = (data.seeds || {})[prov.seed_id];
    if (seed) {
      add(box, el('div', {cls: 'seed', 'data-seed': seed.id},
        seed.image ? el('img', {src: seed.image, alt: 'the seed image'}) : el('div', {cls: 'thumb none', text: seed.had_image ? 'image missing' : 'text only'}),
        el('div', null, kv([['seed', el('code', {text: seed.id})], ['source', seed.source], ['question', seed.question],
          ['choices', seed.choices ? Object.keys(seed.choices).map(function (k) { return k + '. ' + seed.choices[k]; }).join('   ') : null],
          ['answer', seed.answer], ['domain', seed.domain]]))));
    } else add(box, el('p', {cls: 'muted', text: 'Seed ' + prov.seed_id + ' is not in the seed pool file.'}));
    if (prov.parent_id && prov.parent_id !== prov.seed_id) add(box, kv([['parent', prov.parent_id]]));

    var src = prov.image_source;
    if (src) {
      var body = [];
      if (src.code) body.push(el('pre', {text: src.code}));
      if (src.prompt) body.push(el('pre', {text: src.prompt}));
      if (src.params) body.push(el('pre', {text: JSON.stringify(src.params, null, 1)}));
      add(box, el('details', null, el('summary', {text: 'How the image was made: ' + src.kind + (src.program ? ' ' + src.program : '') + (src.language ? ' (' + src.language + ')' : '')}), body));
    }
    add(box, el('details', null, el('summary', {text: 'The whole record (JSON)'}), el('pre', {text: JSON.stringify(rec, null, 1)})));
  }

  function contextFile(key) {
    var list = (data.summary.contexts || []);
    for (var i = 0; i < list.length; i++) if (list[i].key === key) return list[i];
    return null;
  }
  function loadContext(key) {
    var meta = contextFile(key);
    if (!meta) return Promise.reject(new Error('no context ' + key));
    return need('ctx:' + key, meta.file);
  }
  function findVersion(versions, v) {
    for (var i = 0; i < versions.length; i++) if ((versions[i].version === undefined ? i : versions[i].version) === v) return versions[i];
    return null;
  }
  function drawSampleContext(node, key, version) {
    loadContext(key).then(function (versions) {
      var ctx = findVersion(versions, version);
      if (!ctx) { node.appendChild(el('p', {cls: 'muted', text: 'Context ' + key + ' v' + version + ' is not stored.'})); return; }
      var open = el('a', {href: '#contexts', text: version > 0 ? 'diff with v' + (version - 1) : 'open in the context view'});
      open.addEventListener('click', function (e) {
        e.preventDefault();
        state.ctx = {key: key, a: String(Math.max(0, version - 1)), b: String(version)};
        showTab('contexts');
      });
      node.appendChild(el('details', {open: isText(ctx)}, el('summary', {text: 'The context that produced it: ' + key + ' v' + version}),
        contextView(ctx), el('p', null, open)));
    }).catch(function (err) { node.appendChild(el('p', {cls: 'muted', text: err.message})); });
  }
  function isText(ctx) {
    for (var k in ctx) if (typeof ctx[k] === 'string' && (ctx[k].indexOf('\n') >= 0 || ctx[k].length > 120)) return true;
    return false;
  }
  function contextView(ctx) {
    var out = [];
    Object.keys(ctx).sort().forEach(function (k) {
      var v = ctx[k];
      if (k === 'version') return;
      if (typeof v === 'string' && (v.indexOf('\n') >= 0 || v.length > 120)) out.push(el('div', null, el('strong', {text: k}), el('pre', {cls: 'context-text', text: v})));
      else if (v && typeof v === 'object') out.push(el('div', {cls: 'kv'}, el('strong', {text: k + ': '}), flatNumbers(v)));
      else out.push(el('div', {cls: 'kv'}, el('strong', {text: k + ': '}), String(v)));
    });
    return out;
  }
  function flatNumbers(obj) {
    var flat = flatten(obj, '');
    return Object.keys(flat).map(function (k) {
      var v = flat[k];
      return el('span', {text: k + ' ' + (typeof v === 'number' ? v.toFixed(3) : String(v))});
    });
  }

  // -- context diff ---------------------------------------------------------------------------------------------
  function flatten(value, prefix, out) {
    out = out || {};
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      var keys = Object.keys(value);
      if (!keys.length && prefix) out[prefix] = '{}';
      keys.sort().forEach(function (k) { flatten(value[k], prefix ? prefix + '.' + k : k, out); });
    } else if (Array.isArray(value) && value.some(function (x) { return x && typeof x === 'object'; })) {
      value.forEach(function (x, i) { flatten(x, prefix + '[' + i + ']', out); });
    } else out[prefix] = Array.isArray(value) ? JSON.stringify(value) : value;
    return out;
  }
  function lineDiff(a, b) {
    var x = a.split('\n'), y = b.split('\n'), n = x.length, m = y.length;
    if (n * m > 4e6) return [['del', a], ['add', b]];
    var L = [];
    for (var i = 0; i <= n; i++) L.push(new Int32Array(m + 1));
    for (i = n - 1; i >= 0; i--) for (var j = m - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
    var ops = [];
    i = 0; j = 0;
    while (i < n && j < m) {
      if (x[i] === y[j]) { ops.push(['same', x[i]]); i++; j++; }
      else if (L[i + 1][j] >= L[i][j + 1]) ops.push(['del', x[i++]]);
      else ops.push(['add', y[j++]]);
    }
    while (i < n) ops.push(['del', x[i++]]);
    while (j < m) ops.push(['add', y[j++]]);
    return ops;
  }

  var ctxReady = false;
  function renderContexts() {
    var list = data.summary.contexts || [];
    var out = $('ctx-diff');
    if (!list.length) { clear(out).appendChild(el('p', {cls: 'muted', text: 'This run has no stored generation context.'})); return; }
    var keySel = $('ctx-key'), aSel = $('ctx-a'), bSel = $('ctx-b');
    if (!ctxReady) {
      ctxReady = true;
      options(keySel, list.map(function (c) { return [c.key, c.key + ' (' + c.versions.length + ' versions)']; }), '(choose)');
      keySel.removeChild(keySel.firstChild);
      keySel.addEventListener('change', function () { state.ctx = {key: keySel.value, a: '', b: ''}; renderContexts(); });
      aSel.addEventListener('change', function () { state.ctx.a = aSel.value; renderContexts(); });
      bSel.addEventListener('change', function () { state.ctx.b = bSel.value; renderContexts(); });
      $('ctx-all').addEventListener('change', renderContexts);
    }
    var meta = contextFile(state.ctx.key) || list[0];
    state.ctx.key = meta.key;
    keySel.value = meta.key;
    var versions = meta.versions;
    var last = versions[versions.length - 1];
    if (state.ctx.b === '' || versions.indexOf(+state.ctx.b) < 0) state.ctx.b = String(last);
    if (state.ctx.a === '' || versions.indexOf(+state.ctx.a) < 0) state.ctx.a = String(versions[Math.max(0, versions.indexOf(+state.ctx.b) - 1)]);
    var entries = versions.map(function (v) { return [String(v), 'v' + v + (v === 0 ? ' (start)' : ' (after round ' + v + ')')]; });
    options(aSel, entries, '');
    aSel.removeChild(aSel.firstChild);
    options(bSel, entries, '');
    bSel.removeChild(bSel.firstChild);
    aSel.value = state.ctx.a;
    bSel.value = state.ctx.b;
    writeHash();
    var key = meta.key, va = +state.ctx.a, vb = +state.ctx.b;
    clear(out).appendChild(el('p', {cls: 'muted', text: 'loading…'}));
    loadContext(key).then(function (all) {
      if (state.ctx.key !== key || +state.ctx.a !== va || +state.ctx.b !== vb) return;
      drawDiff(clear(out), findVersion(all, va) || {}, findVersion(all, vb) || {}, va, vb, $('ctx-all').checked);
    }).catch(function (err) { clear(out).appendChild(el('p', {text: err.message})); });
  }

  function drawDiff(out, a, b, va, vb, showAll) {
    var fa = flatten(a, ''), fb = flatten(b, '');
    delete fa.version; delete fb.version;
    var paths = Object.keys(Object.assign({}, fa, fb)).sort();
    var rows = [], texts = [], changed = 0;
    paths.forEach(function (p) {
      var x = fa[p], y = fb[p];
      var same = x === y;
      if (!same) changed++;
      if (typeof x === 'string' && typeof y === 'string' && (x.indexOf('\n') >= 0 || y.indexOf('\n') >= 0 || x.length > 120 || y.length > 120)) {
        if (!same || showAll) texts.push([p, x, y]);
        return;
      }
      if (same && !showAll) return;
      var delta = null, cls = null;
      if (typeof x === 'number' && typeof y === 'number') {
        delta = y - x;
        cls = delta > 1e-12 ? 'up' : (delta < -1e-12 ? 'down' : null);
      }
      function cell(v) {
        if (v === undefined) return el('td', {cls: 'muted', text: '(absent)'});
        if (typeof v === 'number') return el('td', null, v.toFixed(4), v >= 0 && v <= 1 ? el('span', {cls: 'bar', style: 'width:' + Math.round(60 * v) + 'px'}) : null);
        return el('td', {text: String(v)});
      }
      rows.push(el('tr', {cls: same ? 'same' : 'changed'}, el('td', {cls: 'path', text: p}), cell(x), cell(y),
        el('td', {cls: cls, text: delta === null ? (same ? '' : 'changed') : (delta >= 0 ? '+' : '') + delta.toFixed(4)})));
    });
    out.appendChild(el('p', null, changed + ' of ' + paths.length + ' fields changed from v' + va + ' to v' + vb + '.'));
    if (a.note !== undefined || b.note !== undefined) out.appendChild(el('p', {cls: 'muted', text: 'note of v' + vb + ': ' + (b.note || '–')}));
    if (rows.length) {
      out.appendChild(el('table', {cls: 'diff'}, el('thead', null, el('tr', null,
        ['field', 'v' + va, 'v' + vb, 'change'].map(function (h) { return el('th', {text: h}); }))), el('tbody', null, rows)));
    }
    texts.forEach(function (t) {
      var ops = lineDiff(t[1], t[2]);
      out.appendChild(el('h3', {text: t[0] + ' (text, line by line)'}));
      out.appendChild(el('div', {cls: 'textdiff'}, ops.map(function (op) {
        return el('div', {cls: op[0]}, (op[0] === 'add' ? '+ ' : op[0] === 'del' ? '− ' : '  ') + op[1]);
      })));
    });
    if (!changed) out.appendChild(el('p', {cls: 'muted', text: 'The two versions are the same.'}));
    out.appendChild(el('details', {open: !changed}, el('summary', {text: 'v' + vb + ' in full'}), contextView(b)));
  }

  function openFromHash() {
    if (!state.id || positions[state.id] === undefined) return;
    var at = filtered.indexOf(positions[state.id]);
    if (at >= 0 && Math.floor(at / PAGE) !== state.page) { state.page = Math.floor(at / PAGE); renderList(); }
    select(positions[state.id]);
  }

  // -- start ----------------------------------------------------------------------------------------------------
  function start() {
    readHash();
    document.querySelectorAll('#tabs a').forEach(function (a) {
      a.addEventListener('click', function (e) { e.preventDefault(); showTab(a.getAttribute('data-tab')); });
    });
    $('sample-list').addEventListener('click', onListClick);
    $('sample-list').addEventListener('keydown', function (e) { if (e.key === 'Enter') onListClick(e); });
    document.addEventListener('keydown', function (e) {
      if (state.tab !== 'samples' || !IX || /INPUT|SELECT|TEXTAREA/.test(e.target.tagName)) return;
      if (e.key === 'j') move(1);
      else if (e.key === 'k') move(-1);
    });
    window.addEventListener('hashchange', function () {
      readHash();
      showTab(state.tab);
      if (!IX) return;
      FILTERS.forEach(function (k) { $('f-' + k).value = state.f[k]; });
      applyFilters();
      openFromHash();
    });
    var summary = need('summary', 'summary.js').then(function (S) {
      renderHeader(S);
      showTab(state.tab);
      renderOverview(S);
    });
    var index = need('index', 'index.js');
    need('seeds', 'seeds.js').catch(function (err) { console.warn(err.message); });
    Promise.all([summary, index]).then(function (values) {
      IX = values[1];
      for (var i = 0; i < IX.n; i++) positions[IX.cols.id[i]] = i;
      setupFilters();
      applyFilters();
      openFromHash();
    }).catch(function (err) {
      document.body.setAttribute('data-ready', 'error');
      var banner = $('banner');
      banner.hidden = false;
      banner.textContent = 'The report data could not be loaded (' + err.message + '). Build it with `cadsynth report RUN`.';
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
